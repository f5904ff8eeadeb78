"""The network's four distance distributions of one protein, as probabilities over the bins.

``Distograms.probabilities[m]`` is ``(L, L, 37)`` for map ``m`` of
:data:`~foldlens.protein.labels.DISTANCE_MAPS` (bins of :mod:`foldlens.protein.labels`: centres
2.25, 2.75, …, 20.25 Å; the last bin holds every distance ≥ 20 Å).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..models import ModelAdapter
from ..protein.labels import DISTANCE_BINS, DISTANCE_MAPS
from ..protein.record import Protein


@dataclass(frozen=True)
class Distograms:
    sequence: str
    probabilities: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.sequence)


def has_distograms(model_adapter: ModelAdapter) -> bool:
    """Whether the model predicts the four distance maps as distributions over the bins."""
    heads = {head.name: head for head in model_adapter.heads}
    return all(
        name in heads and heads[name].transform == "expected distance" for name in DISTANCE_MAPS
    )


def distograms_from_logits(sequence: str, logits: dict[str, torch.Tensor]) -> Distograms:
    """Softmax of each map's logits ``(1, 37, L, L)`` → ``(L, L, 37)`` probabilities."""
    probabilities = {
        name: logits[name][0].float().softmax(0).permute(1, 2, 0).contiguous()
        for name in DISTANCE_MAPS
    }
    length = len(sequence)
    for name, p in probabilities.items():
        if tuple(p.shape) != (length, length, DISTANCE_BINS):
            raise ValueError(
                f"{name}: expected ({length}, {length}, {DISTANCE_BINS}), got {p.shape}"
            )
    return Distograms(sequence, probabilities)


@torch.no_grad()
def predict_distograms(
    model: nn.Module, model_adapter: ModelAdapter, protein: Protein
) -> Distograms:
    """The distograms of ``protein`` (a ``ValueError`` for a model without them)."""
    if not has_distograms(model_adapter):
        raise ValueError(
            f"model {model_adapter.name!r} predicts no distance distributions "
            f"({', '.join(DISTANCE_MAPS)}), so it cannot be folded into a 3D model"
        )
    out = model_adapter.outputs(model, model_adapter.encoded(protein).x)
    return distograms_from_logits(protein.sequence, out)
