"""The 2018 study's question, asked properly: does the network's attribution follow coevolution?

For a pair target (i, j) of a job with an MSA, two maps over residue pairs (k, l):

- the **couplings** of the MSA: the APC map of its pseudo-likelihood Potts model
  (:mod:`foldlens.coevolution`), ``C_kl``;
- the **attribution** of the target to the input of the model's first 2D layer — its pair
  features: for ``seed2018`` the 21 × 21 outer product of the two residues' columns, for the
  default network ``left_k + right_l + relpos`` —, in magnitude summed over channels,
  ``P_kl = Σ_c |A_ckl|``, averaged over the two triangles, ``P̄_kl = (P_kl + P_lk) / 2``.

They are compared over the cells the target can reach (P̄ > 0) with k < l and ``l − k ≥ 6``: the
Spearman and Pearson correlations, and the overlap of the top ``n`` cells of each (``n`` a tenth of
the cells, at least 1). A correlation near 0 says the map does not follow coevolution; the top
cells list where the attribution concentrates and what the couplings say there.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..analysis.metrics import default_k, pearson, spearman, top_k_overlap
from ..coevolution.couplings import MIN_SEPARATION, PROGRESS_EVALUATIONS, couplings
from ..coevolution.potts import FitCancelledError
from ..models.views import OutputTarget
from .analysis_subject import Progress, Subject
from .errors import InvalidInputError
from .explain import ExplanationCancelledError, explain
from .method_options import check_options

TOP_CELLS = 10
FIT_SHARE = 0.8
"""Of the analysis' progress bar, the part the Potts fit takes."""


def coevolution(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    """The comparison of the module docstring, as JSON."""
    target = subject.target
    if not isinstance(target, OutputTarget) or target.j is None:
        raise InvalidInputError("the coevolution analysis explains a pair output (i, j)")
    alignment = subject.inputs.protein.alignment
    if alignment is None:
        raise InvalidInputError(
            "this job has no MSA to compute couplings from: submit the protein with an alignment "
            "(A3M, aligned FASTA or Stockholm; `foldlens search` finds one)"
        )
    pair_layers = [layer for layer in subject.model_spec.layers if layer.kind == "2d"]
    if not pair_layers:
        raise InvalidInputError(f"model {subject.model_spec.name!r} has no pair-input layer")
    layer = pair_layers[0]
    found = subject.couplings() if subject.couplings is not None else None
    if found is None:
        try:
            found = couplings(
                alignment,
                progress=lambda evaluations: progress(
                    FIT_SHARE * min(1.0, evaluations / PROGRESS_EVALUATIONS)
                ),
                cancelled=cancel.is_set,
            )
        except FitCancelledError as error:
            raise ExplanationCancelledError from error
    method = options["method"]
    answer = explain(
        subject.model,
        subject.adapter,
        subject.inputs,
        target,
        method,
        check_options(method, {}),
        cancel,
        lambda fraction: progress(FIT_SHARE + (1 - FIT_SHARE) * fraction),
        layer.path,
    )
    assert answer.layer is not None and answer.layer.pair_magnitude is not None
    magnitude = answer.layer.pair_magnitude
    symmetric = (magnitude + magnitude.T) / 2
    rows, cols = np.triu_indices(len(symmetric), MIN_SEPARATION)
    reached = symmetric[rows, cols] > 0
    rows, cols = rows[reached], cols[reached]
    attribution, coupling = symmetric[rows, cols], found.apc[rows, cols]
    result: dict[str, Any] = {
        "layer": layer.path,
        "method": method,
        "value": answer.value,
        "neff": found.neff,
        "sequences": found.sequences,
        "couplings_converged": found.converged,
        "cells": len(rows),
    }
    if len(rows) < 3:
        return result | {"spearman": None, "pearson": None, "top": 0, "top_overlap": None}
    top = default_k(len(rows))
    strongest = np.argsort(-attribution, kind="stable")[:TOP_CELLS]
    return result | {
        "attribution": _significant(attribution),
        "coupling": _significant(coupling),
        "spearman": spearman(attribution, coupling),
        "pearson": pearson(attribution, coupling),
        "top": top,
        "top_overlap": top_k_overlap(attribution, coupling, top),
        "top_cells": [
            {
                "k": int(rows[n]),
                "l": int(cols[n]),
                "attribution": float(attribution[n]),
                "coupling": float(coupling[n]),
            }
            for n in strongest
        ],
    }


def _significant(values: np.ndarray) -> list[float]:
    """Rounded to 4 significant digits of the largest magnitude (JSON stays small)."""
    scale = float(np.abs(values).max()) or 1.0
    decimals = max(4, 4 - int(np.floor(np.log10(scale))))
    return [round(float(v), decimals) for v in values]
