"""Views of a registered model that compute one explanation target exactly and cheaply.

An explanation needs one output element, not the whole L × L map. :func:`target_view` returns a
small module wrapping the network (its submodules keep their paths under ``net.``) and a function
reading the target's value, one per batch sample, from the view's output:

- a per-residue head: the 1D part of the network only;
- a cell (i, j) of a pair head: :meth:`DefaultNet.pair_cell` (the 2D trunk on the shrinking window
  the cell depends on), or, for ``seed2018``, the 15 × 15 window around the cell;
- an internal unit: the forward pass cropped to the window the unit depends on, with the unit's
  index translated into the crop.

Every view gives the same value as the full forward pass (the tests compare them), so an
attribution through a view is the attribution of the full model. Every module of a view runs once
per pass, so the input of any layer can be attributed too (``wrt="net.<layer>"``);
:func:`layer_windows` says which cells of the L × L map a 2D layer's input holds in the view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..protein.labels import expected_distance
from .default import DefaultNet
from .seed2018 import Seed2018Net
from .spec import ModelSpec

Readout = Callable[[dict[str, torch.Tensor]], torch.Tensor]
"""The target's value for every sample of a batch, ``(B,)``, from the view's output."""


@dataclass(frozen=True)
class OutputTarget:
    """Head ``head`` at residue ``i`` (and ``j`` for pair heads); ``index`` picks a softmax class.

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


class _ResidueHeads(nn.Module):
    def __init__(self, net: DefaultNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = self.net(x, pairs=False)
        return out


class _PairCell(nn.Module):
    def __init__(self, net: DefaultNet, i: int, j: int) -> None:
        super().__init__()
        self.net, self.i, self.j = net, i, j

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net.pair_cell(x, self.i, self.j)


class _Cropped(nn.Module):
    """The network's own crop forward: pair rows ``rows`` × columns ``cols`` only."""

    def __init__(self, net: nn.Module, rows: torch.Tensor, cols: torch.Tensor) -> None:
        super().__init__()
        self.net, self.rows, self.cols = net, rows, cols

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        batch = x.shape[0]
        return self.net(x, self.rows.expand(batch, -1), self.cols.expand(batch, -1))  # type: ignore[no-any-return]


class _Whole(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.net(x)  # type: ignore[no-any-return]


def _window(center: int, radius: int, length: int) -> torch.Tensor:
    """Positions ``center ± radius`` inside ``[0, length)``: at a chain end the crop's zero padding
    is the full map's, and elsewhere the crop edge lies beyond the reach of the centre."""
    return torch.arange(max(0, center - radius), min(length, center + radius + 1))


def _head_readout(model_spec: ModelSpec, target: OutputTarget, cell: bool) -> Readout:
    head = model_spec.head(target.head)
    where: tuple[int, ...] = ()
    if not cell:
        where = (target.i,) if target.j is None else (target.i, target.j)
    every = slice(None)

    def readout(out: dict[str, torch.Tensor]) -> torch.Tensor:
        values = out[target.head]
        lead: tuple[slice | int, ...] = (every, target.index)  # batch, class or channel
        if head.transform == "expected distance":
            lead = (every, every)
        elif head.transform == "identity" and values.dim() == len(where) + 1:
            lead = (every,)
        picked = values[lead + where]
        return expected_distance(picked, dim=1) if head.transform == "expected distance" else picked

    return readout


def output_view(
    model: nn.Module, model_spec: ModelSpec, target: OutputTarget, length: int
) -> tuple[nn.Module, Readout]:
    """The view and readout for an output element (see the module docstring)."""
    head = model_spec.head(target.head)
    if isinstance(model, DefaultNet) and head.kind == "per-residue":
        return _ResidueHeads(model), _head_readout(model_spec, target, cell=False)
    if isinstance(model, DefaultNet) and target.j is not None:
        return _PairCell(model, target.i, target.j), _head_readout(model_spec, target, cell=True)
    if isinstance(model, Seed2018Net) and target.j is not None:
        radius = model_spec.receptive_field["pair"] or length
        rows, cols = _window(target.i, radius, length), _window(target.j, radius, length)
        shifted = OutputTarget(target.head, target.i - int(rows[0]), target.j - int(cols[0]))
        return _Cropped(model, rows[None], cols[None]), _head_readout(
            model_spec, shifted, cell=False
        )
    return _Whole(model), _head_readout(model_spec, target, cell=False)


def unit_view(
    model: nn.Module, target: UnitTarget, length: int
) -> tuple[nn.Module, str, tuple[int, ...]]:
    """The view, the unit's module path in it and its index (batch 0) in that module's output."""
    path = f"net.{target.layer}"
    if target.j is None:
        index: tuple[int, ...] = (0, target.channel, target.i)
        if isinstance(model, DefaultNet):
            one = torch.tensor([[target.i]])
            return _Cropped(model, one, one), path, index  # 1D layers run whole; one pair cell
        return _Whole(model), path, index
    if isinstance(model, DefaultNet | Seed2018Net):
        radius = model.trunk2d_radius() if isinstance(model, DefaultNet) else 7
        rows, cols = _window(target.i, radius, length), _window(target.j, radius, length)
        index = (0, target.channel, target.i - int(rows[0]), target.j - int(cols[0]))
        return _Cropped(model, rows[None], cols[None]), path, index
    return _Whole(model), path, (0, target.channel, target.i, target.j)


def layer_windows(view: nn.Module, layer: str, length: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The map rows and columns of the cells that the input of the 2D layer ``layer`` holds in
    ``view`` (a view of this module, batch 1): one ``(rows, cols)`` per sample of the layer's
    input, positions outside the chain included (their cells are padding)."""
    if isinstance(view, _PairCell):
        i, j = view.i, view.j
        if layer in ("distogram", "contact"):  # the heads read the cells (i, j) and (j, i)
            return [(np.array([i]), np.array([j])), (np.array([j]), np.array([i]))]
        drop = view.net.trunk2d_shrink(layer)
        return [
            (rows[drop : len(rows) - drop], cols[drop : len(cols) - drop])
            for rows, cols in view.net.pair_cell_windows(i, j)
        ]
    if isinstance(view, _Cropped):
        return [(view.rows[0].numpy(), view.cols[0].numpy())]
    everything = np.arange(length)
    return [(everything, everything)]
