"""The 3D model of a job, computed on demand as a task of the explanation service and cached.

A plain prediction stays fast: the model is folded from the job's distograms only when the page's
3D view is opened or the API asks (``POST /api/jobs/{id}/model3d``). The answer, stored whole like
an explanation, holds the PDB text (pLDDT in the B-factor column), the per-residue pLDDT, how the
model was chosen, and — when the job has a known structure — the TM-score and lDDT against it with
the model's Cα superposed onto it. It goes when the job goes.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from torch import nn

from ..folding.distograms import has_distograms
from ..folding.fold import FoldSettings
from ..folding.fold import Progress as FoldProgress
from ..folding.predicted_structure import compare_with, predict_structure
from ..models.adapter import ModelAdapter
from ..models.views import OutputTarget
from ..protein.record import Protein
from .errors import InvalidInputError

ENTRY = "model3d"
VERSION = 1
"""Part of the cache key: bump it when the folding changes, so stored models are rebuilt."""
SETTINGS = FoldSettings()
STAND_IN_HEAD = "dist_ca_ca"
"""The task's target: the model has none, so the Cα–Cα distogram it is folded from stands in
(its residues unused), as a head stands for an overview."""


def cache_key(job_id: str) -> str:
    """Where the job's 3D model is stored (with the explanations): SHA-256 of the job, the
    folding's version and its settings."""
    request = {"job": job_id, "structure model": VERSION, "settings": vars(SETTINGS)}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def check_foldable(model_adapter: ModelAdapter) -> None:
    """An :class:`InvalidInputError` saying why a model's jobs get no 3D model."""
    if not has_distograms(model_adapter):
        raise InvalidInputError(
            f"model {model_adapter.name!r} predicts no distance distributions, so its jobs "
            "have no 3D model"
        )


def stand_in_target() -> OutputTarget:
    return OutputTarget(STAND_IN_HEAD, 0, 0)


def structure_model(
    model: nn.Module, model_adapter: ModelAdapter, protein: Protein, progress: FoldProgress
) -> dict[str, Any]:
    """The stored answer for ``protein`` (see the module docstring)."""
    start = time.perf_counter()
    folded = predict_structure(model, model_adapter, protein, SETTINGS, progress)
    known = protein.structure
    return {
        "pdb": folded.to_pdb(),
        "plddt": [round(float(v), 2) for v in folded.confidence.plddt],
        "summary": folded.summary(),
        "comparison": None if known is None else compare_with(folded.backbone, known),
        "seconds": round(time.perf_counter() - start, 3),
    }
