"""The per-residue input of foldlens' own networks (``default``, ``seed2018``).

41 channels per residue: 20 one-hot amino-acid channels, 20 profile frequencies (zero when no
profile is known) and 1 flag that is 1 when a profile is present. Channels follow ``AMINO_ACIDS``.
Only the adapters of these networks and their training batches read this layout; everything else
reads the feature groups of a model's spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..protein.alphabet import AMINO_ACIDS, one_hot
from ..protein.record import Protein
from .spec import FeatureGroup

if TYPE_CHECKING:
    from .adapter import Encoded

LETTERS = len(AMINO_ACIDS)
GROUPS = [
    FeatureGroup("one-hot", list(AMINO_ACIDS)),
    FeatureGroup("profile", list(AMINO_ACIDS), needs="profile"),
    FeatureGroup("has profile", [""], needs="profile"),
]
FEATURES = sum(len(group.labels) for group in GROUPS)
ONE_HOT = slice(0, LETTERS)
PROFILE = slice(LETTERS, 2 * LETTERS)
HAS_PROFILE = 2 * LETTERS


def encode(protein: Protein) -> torch.Tensor:
    """``(1, 41, L)`` features of ``protein`` (its profile, or none: single-sequence mode)."""
    encoded = one_hot(protein.sequence)
    length = encoded.shape[1]
    features = torch.zeros(FEATURES, length)
    features[ONE_HOT] = encoded
    if protein.profile is not None:
        values = torch.as_tensor(np.asarray(protein.profile, dtype=np.float32))
        if values.shape != (length, LETTERS):
            raise ValueError(
                f"the profile has shape {tuple(values.shape)}, expected ({length}, {LETTERS})"
            )
        features[PROFILE] = values.T
        features[HAS_PROFILE] = 1.0
    return features[None]


def mutants(x: torch.Tensor, changes: Sequence[tuple[int, int]]) -> torch.Tensor:
    """``(N, 41, L)``: ``x`` ``(1, 41, L)`` with, in row n, residue ``changes[n][0]`` set to
    amino acid ``changes[n][1]`` (an index of ``AMINO_ACIDS``); the profile is kept."""
    xs = x.repeat(len(changes), 1, 1)
    for row, (position, letter) in enumerate(changes):
        xs[row, ONE_HOT, position] = 0
        xs[row, letter, position] = 1
    return xs


def fill(features: torch.Tensor, residues: torch.Tensor, profile: np.ndarray | None = None) -> None:
    """Write one chain's features into ``features`` ``(41, W)`` in place: ``residues`` ``(n,)``
    amino-acid indices, ``profile`` ``(n, 20)`` or ``None`` (positions beyond ``n`` stay zero)."""
    n = len(residues)
    features[residues, torch.arange(n)] = 1.0
    if profile is not None:
        features[PROFILE, :n] = torch.from_numpy(profile.astype(np.float32)).T
        features[HAS_PROFILE, :n] = 1.0


class ResidueInput:
    """Mixin of the adapter of a network that reads these 41 features: its feature groups, its
    input and its mutants (one-hot rows edited, profile kept)."""

    groups = GROUPS

    def encode(self, protein: Protein) -> torch.Tensor:
        return encode(protein)

    def mutants(self, inputs: Encoded, changes: Sequence[tuple[int, int]]) -> torch.Tensor:
        return mutants(inputs.x, changes)
