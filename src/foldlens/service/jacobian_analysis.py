"""The network's own coupling map (its categorical Jacobian) against coevolution and the structure.

The map (:mod:`foldlens.analysis.categorical_jacobian`) reads every per-residue head of the model
over every single substitution of the job's protein: 19 · L forward passes of the per-residue part
of the network, batched. It belongs to the job, not to the target the analysis was asked for (a
pair target's own categorical Jacobian — the change of that output under every substitution — is
the ``mutagenesis`` method). Compared, over pairs ``|i − j| ≥ 6``:

- with the true contacts (a job with a structure): the precision of the top ``L/5`` pairs of the
  Jacobian map and of the DCA map, at separations ≥ 6 and ≥ 24;
- with the couplings of the job's MSA (a job that fitted them): Spearman correlation and the
  overlap of the two top ``L/5`` lists.

The per-residue heads see only the residues within their receptive radius (reported), so pairs
farther apart than twice that radius have coupling zero by construction: long-range precision is
bounded by the architecture, and the result says so.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch

from ..analysis.categorical_jacobian import JacobianCancelledError, jacobian_couplings
from ..analysis.metrics import spearman
from ..predict import true_maps
from ..protein.alphabet import AMINO_ACIDS
from .analysis_subject import Progress, Subject
from .errors import InvalidInputError
from .explain import ExplanationCancelledError

MIN_SEPARATION = 6
LONG_RANGE = 24
TOP_PAIRS = 20


def categorical_jacobian(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    """The comparison of the module docstring, as JSON."""
    adapter, model = subject.adapter, subject.model
    heads = [h.name for h in adapter.spec.heads if h.kind == "per-residue" and not h.source]
    if not heads:
        raise InvalidInputError(f"model {adapter.spec.name!r} has no per-residue head")
    sequence = subject.sequence
    if len(sequence) < 3:
        raise InvalidInputError("the categorical Jacobian needs at least three residues")

    def outputs(x: torch.Tensor) -> torch.Tensor:
        out = adapter.outputs(model, x, pairs=False)
        return torch.cat([out[name].float() for name in heads], dim=1)

    try:
        _, apc = jacobian_couplings(
            outputs,
            lambda changes: adapter.mutants(subject.inputs, changes),
            subject.x,
            [AMINO_ACIDS.index(letter) for letter in sequence],
            batch=options["batch"],
            progress=lambda done, total: progress(done / total),
            cancelled=cancel.is_set,
        )
    except JacobianCancelledError as error:
        raise ExplanationCancelledError from error
    jacobian = apc.numpy()
    length = len(sequence)
    count = max(1, length // 5)
    rows, cols = np.triu_indices(length, MIN_SEPARATION)
    top = _top(jacobian, rows, cols, count)
    result: dict[str, Any] = {
        "heads": heads,
        "mutants": 19 * length,
        "receptive_radius": adapter.receptive_field(model).get("per-residue"),
        "coupling": np.round(jacobian, 5).tolist(),
        "top": count,
        "top_pairs": [
            {"i": int(rows[k]), "j": int(cols[k]), "coupling": float(jacobian[rows[k], cols[k]])}
            for k in _top(jacobian, rows, cols, TOP_PAIRS)
        ],
    }
    structure = subject.inputs.protein.structure
    contacts = None if structure is None else true_maps(structure)["contact"] > 0.5
    stored = subject.couplings() if subject.couplings is not None else None
    dca = None if stored is None else stored.apc
    if contacts is not None:
        result["precision"] = {
            name: _precision(values, contacts)
            for name, values in (("jacobian", jacobian), ("dca", dca))
            if values is not None
        }
    if dca is not None:
        dca_top = set(_top(dca, rows, cols, count).tolist())
        result["dca"] = {
            "neff": stored.neff if stored is not None else None,
            "spearman": spearman(jacobian[rows, cols], dca[rows, cols]),
            "top_overlap": len(dca_top & set(top.tolist())) / count,
        }
    return result


def _top(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, count: int) -> np.ndarray:
    """Indices into (rows, cols) of the ``count`` largest values, largest first."""
    return np.argsort(-values[rows, cols], kind="stable")[:count]


def _precision(values: np.ndarray, contacts: np.ndarray) -> dict[str, float | None]:
    """Precision of the top ``L/5`` pairs at separation ≥ 6 and ≥ 24 (``None`` without pairs)."""
    length = len(values)
    found: dict[str, float | None] = {}
    for label, separation in ((">=6", MIN_SEPARATION), (">=24", LONG_RANGE)):
        rows, cols = np.triu_indices(length, separation)
        if len(rows) == 0:
            found[label] = None
            continue
        chosen = _top(values, rows, cols, max(1, length // 5))
        found[label] = float(contacts[rows[chosen], cols[chosen]].mean())
    return found
