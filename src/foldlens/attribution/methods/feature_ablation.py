"""Feature ablation: the output's drop when a group of input elements is set to a baseline.

A ``mask`` of integers, broadcastable to the input (batch dimension included), splits each batch
row into groups: the elements of row ``b`` with mask value ``v`` form one group ``G``, and each of
its elements gets ``Δ_G = y(z) - y(z with G set to baseline)``. The default mask puts every
element in a group of its own. Each row is ablated on its own, so the map is exact for any model
(also one whose batch rows interact). Occlusion is the special case of groups that are sliding
windows; feature ablation is occlusion with a feature mask.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option
from .occlusion import Placement, one_slot, replacement_drops


class FeatureAblation(Method):
    name = "feature_ablation"
    summary = "output drop when each group of input elements is set to a baseline"
    needs_gradients = False
    options: ClassVar[dict[str, Option]] = {
        "mask": Option(
            None, "integer tensor broadcastable to the input; equal values are ablated together"
        ),
        "baseline": Option(0.0, "value written into a group: a number or a tensor like the input"),
        "batch_size": Option(
            None, "ablated copies per forward pass (default: fit the memory budget)"
        ),
    }

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        zi, fill = one_slot(session, options["baseline"], self.name)
        mask = _groups(options["mask"], zi)
        placements: list[Placement] = [
            (row, mask[row] == value)
            for row in range(zi.shape[0])
            for value in torch.unique(mask[row])
        ]
        return (replacement_drops(session, targets, zi, fill, placements, options["batch_size"]),)


def _groups(mask: Any, zi: torch.Tensor) -> torch.Tensor:
    """The mask expanded to the input's shape (default: one group per element of a row)."""
    if zi.dim() < 1:
        raise ValueError("feature ablation needs an input with a batch dimension")
    if mask is None:
        per_row = torch.arange(zi[0].numel(), device=zi.device).reshape(zi.shape[1:])
        return per_row.expand_as(zi)
    if not isinstance(mask, torch.Tensor) or mask.is_floating_point() or mask.is_complex():
        raise ValueError("mask must be a tensor of integers (group labels)")
    labels: torch.Tensor = mask.long() if mask.dtype == torch.bool else mask
    try:
        return labels.to(zi.device).expand_as(zi)
    except RuntimeError as error:
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the input's shape "
            f"{tuple(zi.shape)}"
        ) from error
