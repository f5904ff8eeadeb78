"""The target sensitivity check: does the map change when the explained output changes?

A map of *why the model produced this output* must differ between outputs that depend on different
things. When the maps of unrelated targets (another class, another residue pair) are nearly the
same, the method shows the input, not the model's reasoning about the chosen output. Adebayo et al.
2018 and Nie et al. 2018 ("A Theoretical Explanation for Perplexing Behaviors of
Backpropagation-based Visualizations") show that guided backprop and deconvnet largely reconstruct
the input this way, whichever output they start from; plain gradients do not.

Which targets are unrelated is the caller's choice (for a class output: other classes; for a
residue pair: distant pairs). High similarity to all of them fails the check; low similarity is
what a target-specific explanation gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ..attribution import attribute
from .maps import as_map
from .metrics import MapSimilarity, default_k, similarity


@dataclass(frozen=True)
class RandomTargetResult:
    """Per other target, in the given order, its map's similarity to the map of ``target``."""

    method: str
    similarities: list[MapSimilarity]

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "similarities": [s.to_json() for s in self.similarities]}


def random_target_test(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: Any,
    other_targets: Sequence[Any],
    method: str,
    options: Mapping[str, Any] | None = None,
    k: int | None = None,
) -> RandomTargetResult:
    """Compare the ``method`` map of ``target`` with the map of each of ``other_targets``.

    Targets are as for :func:`foldlens.attribute` (single targets, not lists); all maps come from
    one call. Maps are compared as 2D arrays (:func:`.maps.as_map`) by :func:`.metrics.similarity`
    with ``k`` (default :func:`.metrics.default_k` of the map size).
    """
    if not other_targets:
        raise ValueError("give at least one other target")
    maps = attribute(model, x, [target, *other_targets], method, **(options or {}))
    reference = as_map(maps[0])
    top = default_k(reference.size) if k is None else k
    return RandomTargetResult(
        method=method,
        similarities=[similarity(reference, as_map(other), top) for other in maps[1:]],
    )
