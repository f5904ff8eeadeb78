"""A protein's predicted 3D model with its confidence, and how it compares with a known structure.

>>> from foldlens.models import adapter, load
>>> from foldlens.protein.record import Protein
>>> from foldlens.folding.fold import FoldSettings
>>> quick = FoldSettings(starts=2, keep=1, ca_steps=20, backbone_steps=20)
>>> protein = Protein("MKTAYIAKQRQISFVKSHFSRQLEERLG")
>>> model = predict_structure(load("default"), adapter("default"), protein, quick)
>>> model.to_pdb().splitlines()[0][:30]
'ATOM      1  N   MET A   1    '
>>> model.confidence.plddt.shape, model.confidence.pae.shape
((28,), (28, 28))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gemmi
import numpy as np
from torch import nn

from ..models import ModelAdapter
from ..protein.record import Protein
from ..protein.structure import Backbone
from .comparison import lddt, tm_score
from .confidence import Confidence, confidence
from .distograms import predict_distograms
from .fold import FoldedModel, FoldSettings, Progress, fold


@dataclass(frozen=True)
class PredictedStructure:
    folded: FoldedModel
    confidence: Confidence
    settings: FoldSettings

    @property
    def backbone(self) -> Backbone:
        return self.folded.backbone()

    def to_pdb(self) -> str:
        """PDB text, residues 1..L, pLDDT in the B-factor column."""
        return self.backbone.to_pdb(self.confidence.plddt)

    def to_mmcif(self) -> str:
        """The same model as mmCIF (pLDDT as ``B_iso_or_equiv``)."""
        return pdb_to_mmcif(self.to_pdb())

    def summary(self) -> dict[str, Any]:
        """What a person reads next to the model: how it was chosen and how confident it is."""
        plddt = self.confidence.plddt
        return {
            "residues": len(self.folded.sequence),
            "mean_plddt": round(float(plddt.mean()), 2),
            "plddt_calibrated": self.confidence.calibrated,
            "negative_log_likelihood": round(self.folded.likelihood, 2),
            "other_hand_negative_log_likelihood": round(self.folded.other_hand_likelihood, 2),
            "settings": vars(self.settings),
        }


def pdb_to_mmcif(pdb: str) -> str:
    """A PDB text as mmCIF (gemmi), B-factors as ``B_iso_or_equiv``."""
    structure = gemmi.read_pdb_string(pdb)
    structure.setup_entities()
    return str(structure.make_mmcif_document().as_string())


def predict_structure(
    model: nn.Module,
    model_adapter: ModelAdapter,
    protein: Protein,
    settings: FoldSettings | None = None,
    progress: Progress | None = None,
) -> PredictedStructure:
    """Fold ``protein``'s distograms and read the confidence (a ``ValueError`` for a model
    without distograms)."""
    settings = settings or FoldSettings()
    distograms = predict_distograms(model, model_adapter, protein)
    folded = fold(distograms, settings, progress)
    return PredictedStructure(
        folded,
        confidence(distograms.probabilities, model_adapter.confidence_calibration()),
        settings,
    )


def compare_with(predicted: Backbone, known: Backbone) -> dict[str, Any]:
    """TM-score and lDDT (Cα) of a predicted model against the known structure of the same
    sequence, the per-residue lDDT (NaN → null: no neighbour within 15 Å), and
    ``superposed_pdb``, the known structure moved onto the model by the TM-score's superposition
    (``x ↦ Rᵀ(x − t)`` for the superposition ``x ↦ R x + t`` of model onto known)."""
    if predicted.sequence != known.sequence:
        raise ValueError("the model and the known structure have different sequences")
    tm = tm_score(predicted.ca, known.ca)
    per_residue, overall = lddt(predicted.ca, known.ca)
    rotation, translation = tm.superposition.rotation, tm.superposition.translation

    def onto_model(xyz: np.ndarray) -> np.ndarray:
        moved: np.ndarray = ((xyz - translation) @ rotation).astype(np.float32)
        return moved

    atoms = (onto_model(getattr(known, atom)) for atom in ("n", "ca", "c", "o", "cb"))
    moved = Backbone(known.chain, known.sequence, *atoms)
    return {
        "tm_score": round(tm.score, 4),
        "lddt": round(overall, 4),
        "residue_lddt": [None if np.isnan(v) else round(float(v), 4) for v in per_residue],
        "superposed_pdb": moved.to_pdb(),
    }
