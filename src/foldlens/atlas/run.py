"""Explain every protein of an atlas: its prediction, the targets the specification picks and each
method's per-residue attribution, one file per protein, resumable.

A protein's file is ``proteins/<name>-<key>.npz`` where ``key`` is the SHA-256 of what made it —
the model input (sequence, profile, every encoded feature), the model's version (weights digest),
the target specification and the methods — so a rerun skips what is done and redoes what changed.
Files are written to a temporary name and renamed, so an interrupted run never leaves half a file.
A protein that cannot be read or explained is recorded in ``atlas.json`` and the run goes on.

File contents (``numpy.load``): ``sequence`` (str), ``model`` (version), ``targets`` ``(T, 4)``
int — head (0 contact, 1 ss3), i, j (−1 for a residue), class —, ``values`` ``(T,)`` the
explained scalars (logits), ``ss3`` ``(L, 3)`` and ``contact`` ``(L, L)`` the predicted
probabilities, and per method ``<method>/sum`` and ``<method>/magnitude`` ``(T, L)``: the
attribution to each input residue, ``s_k = Σ_f A_fk`` and ``m_k = Σ_f |A_fk|``
(:mod:`foldlens.service.explain`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from ..attribution.api import SHARED_FORWARD
from ..file_names import safe_file_name
from ..models import adapter as model_adapter
from ..models import load, version
from ..models.adapter import Encoded, ModelAdapter
from ..predict import predict
from ..service.explain import Explanation, explain, explain_together
from ..service.method_options import INPUT_ONLY, check_options, method_catalogue
from .inputs import AtlasProtein, atlas_proteins
from .targets import TargetRule, check_heads, parse_targets, targets_for

ATLAS_FORMAT = 1
"""Changes when the files' contents change (part of every key)."""
HEADS = ("contact", "ss3")


@dataclass
class AtlasRun:
    """What a run did: files written, skipped (already there), and failures by protein."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "written": len(self.written),
            "skipped": len(self.skipped),
            "failed": len(self.failures),
            "failures": self.failures,
        }


def check_methods(methods: Sequence[str], model_name: str) -> list[str]:
    """``methods`` if the model offers them all for an atlas (perturbation of residues aside)."""
    offered = [m.name for m in method_catalogue(model_adapter(model_name).spec)]
    allowed = [m for m in offered if m not in INPUT_ONLY]
    wrong = [m for m in methods if m not in allowed]
    if wrong or not methods:
        raise ValueError(f"atlas methods are {allowed}, not {wrong or 'none'}")
    return list(dict.fromkeys(methods))


def run_atlas(
    source: str,
    out: Path,
    model_name: str = "default",
    specification: str = "contacts:top=L/5:sep=24,ss3",
    methods: Sequence[str] = ("gradient", "guided_backprop"),
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AtlasRun:
    """Explain the proteins of ``source`` (:func:`.inputs.atlas_proteins`) into ``out``;
    ``progress(done, total)`` after each protein."""
    rules = parse_targets(specification)
    chosen = check_methods(methods, model_name)
    found = model_adapter(model_name)
    check_heads(rules, found.spec)
    model = load(model_name)
    proteins = list(atlas_proteins(source, found.max_length, limit))
    folder = out / "proteins"
    folder.mkdir(parents=True, exist_ok=True)
    run = AtlasRun()
    for done, item in enumerate(proteins, start=1):
        _one(item, found, model, rules, specification, chosen, folder, run)
        if progress is not None:
            progress(done, len(proteins))
    summary = {
        "format": ATLAS_FORMAT,
        "source": source,
        "model": version(model_name),
        "targets": specification,
        "methods": chosen,
        **run.to_json(),
    }
    (out / "atlas.json").write_text(json.dumps(summary, indent=1))
    return run


def _one(
    item: AtlasProtein,
    found: ModelAdapter,
    model: nn.Module,
    rules: list[TargetRule],
    specification: str,
    methods: list[str],
    folder: Path,
    run: AtlasRun,
) -> None:
    if item.protein is None:
        run.failures[item.name] = item.problem
        return
    inputs = found.encoded(item.protein)
    key = protein_key(inputs, found, specification, methods)
    path = folder / f"{safe_file_name(item.name)}-{key[:16]}.npz"
    if path.exists():
        run.skipped.append(path)
        return
    try:
        arrays = explain_protein(model, found, inputs, rules, methods)
    except (ValueError, RuntimeError) as error:  # bad input, or torch failing on this one
        run.failures[item.name] = f"{type(error).__name__}: {error}"
        return
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]
    partial.replace(path)
    run.written.append(path)


def model_id(found: ModelAdapter) -> str:
    """The model's name and version (its weights' digest, hashed once per process)."""
    return f"{found.name} {version(found.name)}"


def protein_key(
    inputs: Encoded, found: ModelAdapter, specification: str, methods: Sequence[str]
) -> str:
    """SHA-256 of the model input, the model's version, the targets and the methods."""
    x = inputs.x.detach().float().contiguous().numpy()
    digest = hashlib.sha256()
    digest.update(x.tobytes())
    recipe = {
        "format": ATLAS_FORMAT,
        "shape": list(x.shape),
        "model": model_id(found),
        "targets": specification,
        "methods": list(methods),
    }
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    return digest.hexdigest()


def explain_protein(
    model: nn.Module,
    found: ModelAdapter,
    inputs: Encoded,
    rules: list[TargetRule],
    methods: Sequence[str],
) -> dict[str, np.ndarray]:
    """The arrays of one protein's file (module docstring), from its encoded input."""
    protein = inputs.protein
    prediction = predict(model, protein, found)
    targets = targets_for(rules, prediction, found.spec)
    length = len(protein.sequence)
    sums = {m: np.zeros((len(targets), length), np.float32) for m in methods}
    magnitudes = {m: np.zeros((len(targets), length), np.float32) for m in methods}
    values = np.zeros(len(targets), np.float32)
    shared = [m for m in methods if m in SHARED_FORWARD]
    for k, target in enumerate(targets):
        answers: dict[str, Explanation] = (
            explain_together(model, found, inputs, target, shared) if shared else {}
        )
        for method in methods:
            if method not in answers:
                options = check_options(method, {})
                answers[method] = explain(model, found, inputs, target, method, options)
            sums[method][k], magnitudes[method][k] = answers[method].residue_scores()
        values[k] = answers[methods[0]].value
    rows = [(HEADS.index(t.head), t.i, -1 if t.j is None else t.j, t.index) for t in targets]
    arrays: dict[str, np.ndarray] = {
        "sequence": np.array(protein.sequence),
        "model": np.array(model_id(found)),
        "targets": np.array(rows, dtype=np.int32).reshape(-1, 4),
        "values": values,
        "ss3": np.asarray(prediction["ss3"], np.float32),
        "contact": np.asarray(prediction["contact"], np.float16),
    }
    for method in methods:
        arrays[f"{method}/sum"] = sums[method]
        arrays[f"{method}/magnitude"] = magnitudes[method]
    return arrays
