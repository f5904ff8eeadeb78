"""The adapter of the default network (:class:`~foldlens.models.default.DefaultNet`).

Input: the 41 per-residue features of :mod:`foldlens.models.residue_input`. Views:

- a per-residue head: the 1D part of the network only (``pairs=False``); the pLDDT (read out of
  a residue's whole row of the Cα–Cα distogram): the whole network;
- a cell (i, j) of a pair head: :meth:`DefaultNet.pair_cell`, the 2D trunk on the shrinking
  window the cell depends on;
- an internal unit: the forward pass cropped to the window the unit depends on (a 1D unit: the
  1D layers run whole and one pair cell), the unit's index translated into the crop.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from torch import nn

from ...folding.confidence import Calibration
from ...protein.labels import DISTANCE_MAPS, DSSP8, SS3
from .. import residue_input
from ..adapter import ModelAdapter
from ..default import DefaultNet
from ..spec import HeadSpec, distance_heads
from ..views import Cropped, OutputTarget, Readout, UnitTarget, Whole, head_readout, window
from .packaged import packaged_weights


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


class DefaultAdapter(residue_input.ResidueInput, ModelAdapter):
    name = "default"
    description = (
        "ReLU residual network trained on ProMod3's PDB chains: 1D trunk (8 dilated blocks, "
        "128 channels) → per-residue heads; pair features → 2D trunk (8 dilated blocks, 64 "
        "channels) → four distograms and contacts. Profile optional."
    )
    heads = [  # noqa: RUF012 (read only)
        HeadSpec("ss8", "per-residue", "B×8×L", "DSSP 8-state secondary structure", "softmax",
                 classes=list(DSSP8)),
        HeadSpec("ss3", "per-residue", "B×3×L", "3-state secondary structure", "softmax",
                 classes=list(SS3)),
        HeadSpec("rsa", "per-residue", "B×1×L", "relative solvent accessibility", "sigmoid",
                 units="fraction of the maximum"),
        *distance_heads(DISTANCE_MAPS, "B×37×L×L", "expected distance"),
        HeadSpec("contact", "pair", "B×1×L×L", "Cβ_i–Cβ_j < 8 Å", "sigmoid", units="probability"),
        HeadSpec("plddt", "per-residue", "B×L", "predicted lDDT, read from the Cα–Cα distogram",
                 "predicted lddt", units="0–100", source="dist_ca_ca"),
        HeadSpec("pae", "pair", "B×L×L", "expected error of the Cβ_i–Cβ_j distance, read from "
                 "its distogram", "expected error", units="Å", source="dist_cb_cb"),
    ]  # fmt: skip

    def build(self) -> nn.Module:
        """A fresh network of the shipped weights' shape (their widths and block counts)."""
        return self.build_for(
            torch.load(io.BytesIO(self.weights()), map_location="cpu", weights_only=True)
        )

    def build_for(self, state: dict[str, torch.Tensor]) -> nn.Module:
        return DefaultNet.shaped_like(state)

    def weights(self) -> bytes:
        return packaged_weights("default.pt")

    def confidence_calibration(self) -> Calibration:
        """The calibration fitted for these weights on the validation split (it names their
        digest; stale or missing: the identity map, said so)."""
        try:
            calibration = Calibration.from_json(
                packaged_weights("default.confidence.json").decode()
            )
        except FileNotFoundError:
            return Calibration()
        return (
            calibration if calibration.fitted_on.get("weights") == self.digest() else Calibration()
        )

    def outputs(
        self, model: nn.Module, x: torch.Tensor, pairs: bool = True
    ) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = model(x, pairs=pairs)
        return out

    def receptive_field(self, model: nn.Module) -> dict[str, int | None]:
        """The 1D and the 2D trunk's reach; a residue's pLDDT reads its whole row of the map, so
        every residue can matter to it."""
        assert isinstance(model, DefaultNet)
        return {"per-residue": model.residue_radius(), "pair": model.pair_radius(), "plddt": None}

    def output_view(
        self, model: nn.Module, target: OutputTarget, length: int
    ) -> tuple[nn.Module, Readout]:
        assert isinstance(model, DefaultNet)
        if target.head == "plddt":  # the residue's whole row of the Cα–Cα map
            calibration = self.confidence_calibration()
            return Whole(model, self.heads), head_readout(self.spec, target, False, calibration)
        if target.j is None:
            return _ResidueHeads(model), head_readout(self.spec, target, cell=False)
        return _PairCell(model, target.i, target.j), head_readout(self.spec, target, cell=True)

    def unit_view(
        self, model: nn.Module, target: UnitTarget, length: int
    ) -> tuple[nn.Module, str, tuple[int, ...]]:
        assert isinstance(model, DefaultNet)
        path = f"net.{target.layer}"
        if target.j is None:
            one = torch.tensor([[target.i]])
            return Cropped(model, one, one), path, (0, target.channel, target.i)
        radius = model.trunk2d_radius()
        rows, cols = window(target.i, radius, length), window(target.j, radius, length)
        index = (0, target.channel, target.i - int(rows[0]), target.j - int(cols[0]))
        return Cropped(model, rows[None], cols[None]), path, index

    def layer_windows(
        self, view: nn.Module, layer: str, length: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        if isinstance(view, _PairCell):
            drop = view.net.window_shrink(layer)
            return [
                (rows[drop : len(rows) - drop], cols[drop : len(cols) - drop])
                for rows, cols in view.net.pair_cell_windows(view.i, view.j)
            ]
        return super().layer_windows(view, layer, length)
