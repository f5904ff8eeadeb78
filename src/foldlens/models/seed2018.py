"""The 2018 network's shape, rebuilt: three 2D convolutions on 21 × 21 pair channels.

The 2018 system fed a 3-layer CNN (ReLU, dropout, 15 × 15 receptive field) with an L × L × 21 × 21
coevolution tensor and regressed four distance maps. Here the 441 channels of pair (i, j) are the
outer product ``c_i ⊗ c_j`` of the two residues' columns over 21 states (20 amino acids, the
query's letter averaged with the profile when there is one, and a gap/unknown state
``1 − Σ_a c_a``), so the network's input is per residue, ``(B, 21, L)``, and the 441-channel pair
tensor is the input of ``conv1`` (attribute with ``wrt="conv1"`` to get the 2018 view: for output
(i, j), a 21 × 21 grid of 15 × 15 windows).

Layers: ``conv1`` 441 → 64 (5 × 5), ReLU, dropout; ``conv2`` 64 → 64 (5 × 5), ReLU, dropout;
``conv3`` 64 → 4 (7 × 7): distances in Å for Cα–Cα, Cα–Cβ, Cβ–Cα, Cβ–Cβ. Receptive field 15 × 15.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..protein.labels import DISTANCE_MAPS
from .residue_input import FEATURES

STATES = 21
SEED_DISTANCE_MAPS = DISTANCE_MAPS


def profile_states(features: torch.Tensor) -> torch.Tensor:
    """``(B, 21, L)`` states from the default features: the one-hot sequence, averaged with the
    profile when there is one, ``c = (onehot + profile) / 2``; state 21 is the remaining mass
    (gap/unknown).

    Keeping half of the query's letter in every column keeps the diagonal of the pair map
    recognisable (``c_i ⊗ c_i`` has a peak of at least ¼ at the query's letter pair): with the
    profile alone, a network without positional input cannot tell near-diagonal cells from far
    ones and loses the short-range distances.
    """
    has_profile = features[:, 40:41]
    onehot = features[:, :20]
    columns = onehot + has_profile * (features[:, 20:40] - onehot) / 2
    rest = (1 - columns.sum(dim=1, keepdim=True)).clamp(min=0)
    return torch.cat([columns, rest], dim=1)


class Seed2018Net(nn.Module):
    input_features = FEATURES

    def __init__(self, channels: int = 64, dropout: float = 0.3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(STATES * STATES, channels, 5, padding=2)
        self.conv2 = nn.Conv2d(channels, channels, 5, padding=2)
        self.conv3 = nn.Conv2d(channels, len(SEED_DISTANCE_MAPS), 7, padding=3)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        rows: torch.Tensor | None = None,
        cols: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Distances (Å) for features ``x`` (B, 41, L); ``rows``/``cols`` crop in training."""
        states = profile_states(x)
        if rows is None or cols is None:
            positions = torch.arange(x.shape[-1], device=x.device).expand(x.shape[0], -1)
            rows = cols = positions
        left = torch.gather(states, 2, rows[:, None].expand(-1, STATES, -1))
        right = torch.gather(states, 2, cols[:, None].expand(-1, STATES, -1))
        pair = torch.einsum("bai,bcj->bacij", left, right).flatten(1, 2)
        h = self.dropout(F.relu(self.conv1(pair)))
        h = self.dropout(F.relu(self.conv2(h)))
        distances = self.conv3(h)
        return {name: distances[:, k] for k, name in enumerate(SEED_DISTANCE_MAPS)}
