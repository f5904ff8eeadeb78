"""The adapter of the 2018-shaped network (:class:`~foldlens.models.seed2018.Seed2018Net`).

Input: the 41 per-residue features of :mod:`foldlens.models.residue_input` (the network turns
them into 21 states per residue). Its three convolutions reach 7 cells in every direction, so a
pair cell (i, j), or a unit of a 2D layer, is computed exactly on the 15 × 15 window around it.
"""

from __future__ import annotations

from torch import nn

from ...protein.alphabet import AMINO_ACIDS
from .. import residue_input
from ..adapter import ModelAdapter
from ..seed2018 import SEED_DISTANCE_MAPS, Seed2018Net
from ..spec import distance_heads
from ..views import Cropped, OutputTarget, Readout, UnitTarget, head_readout, window
from .packaged import packaged_weights

RADIUS = 7
"""Cells each way that an output of the three convolutions (5 × 5, 5 × 5, 7 × 7) reads."""


class Seed2018Adapter(residue_input.ResidueInput, ModelAdapter):
    name = "seed2018"
    description = (
        "The 2018 network's shape: the 21 × 21 outer product of two residues' profile "
        "columns → three 2D convolutions (ReLU, dropout; 15 × 15 receptive field) → four "
        "distance maps. Attribute with wrt='conv1' for the 2018 Jacobian-window view."
    )
    version = "2"
    max_length = 500
    heads = distance_heads(SEED_DISTANCE_MAPS, "B×L×L", "identity")
    channel_grids = {"conv1": [*AMINO_ACIDS, "-"]}  # noqa: RUF012 (read only)

    def build(self) -> nn.Module:
        return Seed2018Net()

    def weights(self) -> bytes:
        return packaged_weights("seed2018.pt")

    def receptive_field(self, model: nn.Module) -> dict[str, int | None]:
        return {"pair": RADIUS}

    def output_view(
        self, model: nn.Module, target: OutputTarget, length: int
    ) -> tuple[nn.Module, Readout]:
        assert target.j is not None, "seed2018 has pair heads only"
        rows, cols = window(target.i, RADIUS, length), window(target.j, RADIUS, length)
        shifted = OutputTarget(target.head, target.i - int(rows[0]), target.j - int(cols[0]))
        return Cropped(model, rows[None], cols[None]), head_readout(self.spec, shifted, cell=False)

    def unit_view(
        self, model: nn.Module, target: UnitTarget, length: int
    ) -> tuple[nn.Module, str, tuple[int, ...]]:
        if target.j is None:
            return super().unit_view(model, target, length)
        rows, cols = window(target.i, RADIUS, length), window(target.j, RADIUS, length)
        index = (0, target.channel, target.i - int(rows[0]), target.j - int(cols[0]))
        return Cropped(model, rows[None], cols[None]), f"net.{target.layer}", index
