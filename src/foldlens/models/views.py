"""Targets and views: small modules that compute one explanation target exactly and cheaply.

An explanation needs one output element, not the whole L × L map. A model's adapter
(:meth:`~foldlens.models.adapter.ModelAdapter.output_view`) returns a *view* — a module wrapping
the network, whose submodules keep their paths under ``net.`` — and a :data:`Readout` of the
target's value, one per batch sample, from the view's output. Every view gives the same value as
the full forward pass (the tests compare them for every adapter), so an attribution through a view
is the attribution of the full model. This module holds the target types and the views any model
can use: the whole model, and the network's own crop forward on a window of the pair map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..folding.confidence import Calibration, expected_error, raw_lddt
from ..protein.labels import expected_distance
from .spec import HeadSpec, ModelSpec

Readout = Callable[[dict[str, torch.Tensor]], torch.Tensor]
"""The target's value for every sample of a batch, ``(B,)``, from the view's output."""


@dataclass(frozen=True)
class OutputTarget:
    """Head ``head`` at residue ``i`` (and ``j`` for pair heads); ``index`` picks a class.

    The value explained is the logit, except for distance heads read as an expected distance (Å).
    """

    head: str
    i: int
    j: int | None = None
    index: int = 0


@dataclass(frozen=True)
class UnitTarget:
    """Output channel ``channel`` of layer ``layer`` at residue ``i`` (1D) or cell (i, j) (2D)."""

    layer: str
    channel: int
    i: int
    j: int | None = None


def heads_by_name(out: Any, heads: Sequence[HeadSpec]) -> dict[str, Any]:
    """A network's output as ``{head: values}``: a dict is kept, a lone tensor names the only
    head."""
    if isinstance(out, dict):
        return out
    if isinstance(out, torch.Tensor) and len(heads) == 1:
        return {heads[0].name: out}
    raise TypeError(
        f"the network returned {type(out).__name__}; expected a dict of its heads "
        f"{[head.name for head in heads]} (or one tensor for a one-head model)"
    )


class Whole(nn.Module):
    """The whole network, its output by head name."""

    def __init__(self, net: nn.Module, heads: Sequence[HeadSpec]) -> None:
        super().__init__()
        self.net, self.heads = net, list(heads)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return heads_by_name(self.net(x), self.heads)


class Cropped(nn.Module):
    """The network's own crop forward ``net(x, rows, cols)``: pair rows ``rows`` × columns
    ``cols`` only (``(1, n)`` each, expanded over the batch)."""

    def __init__(self, net: nn.Module, rows: torch.Tensor, cols: torch.Tensor) -> None:
        super().__init__()
        self.net, self.rows, self.cols = net, rows, cols

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = x.shape[0]
        return self.net(x, self.rows.expand(batch, -1), self.cols.expand(batch, -1))  # type: ignore[no-any-return]


def window(center: int, radius: int, length: int) -> torch.Tensor:
    """Positions ``center ± radius`` inside ``[0, length)``: at a chain end the crop's zero padding
    is the full map's, and elsewhere the crop edge lies beyond the reach of the centre."""
    return torch.arange(max(0, center - radius), min(length, center + radius + 1))


def head_readout(
    model_spec: ModelSpec, target: OutputTarget, cell: bool, calibration: Calibration | None = None
) -> Readout:
    """The readout of ``target``: the head's value at the target's residue(s), or, when ``cell``,
    of a view whose output is that one cell (``(B, C)`` per head). A head read out of another
    (``source``) reads that head's logits: a pair cell's distogram for ``expected error``, the
    residue's whole row of the map (the view must give the whole map) for ``predicted lddt``,
    mapped by ``calibration``."""
    head = model_spec.head(target.head)
    if head.transform == "predicted lddt":
        return _predicted_lddt(head.source, target.i, calibration or Calibration())
    where: tuple[int, ...] = ()
    if not cell:
        where = (target.i,) if target.j is None else (target.i, target.j)
    every = slice(None)

    def readout(out: dict[str, torch.Tensor]) -> torch.Tensor:
        if head.transform == "expected error":
            cell: tuple[slice | int, ...] = (every, every, *where)
            logits = out[head.source][cell]
            return expected_error(logits.softmax(1))
        values = out[target.head]
        lead: tuple[slice | int, ...] = (every, target.index)  # batch, class or channel
        if head.transform == "expected distance":
            lead = (every, every)
        elif head.transform == "identity" and values.dim() == len(where) + 1:
            lead = (every,)
        picked = values[lead + where]
        return expected_distance(picked, dim=1) if head.transform == "expected distance" else picked

    return readout


def _predicted_lddt(source: str, i: int, calibration: Calibration) -> Readout:
    """The calibrated predicted lDDT of residue ``i`` from row i of the ``source`` distogram."""

    def readout(out: dict[str, torch.Tensor]) -> torch.Tensor:
        row = out[source][:, :, i, :].softmax(1).transpose(1, 2)  # (B, L, bins)
        rows = torch.full((row.shape[0],), i, dtype=torch.long)
        return calibration(raw_lddt(row, rows))

    return readout
