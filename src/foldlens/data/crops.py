"""Training batches: random windows of chains, with a random block of their pair map.

Each of ``batch`` chains gives a window of at most ``window`` residues (the whole chain when it is
shorter) and a ``crop`` × ``crop`` block of its pair map whose row and column offsets are drawn
independently, so that the block covers short and long sequence separations alike. With
probability ``profile_drop`` a chain's profile is withheld (single-sequence mode), so that one
network serves both modes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models import residue_input
from ..protein.labels import CONTACT_CUTOFF, SS8_TO_SS3, distance_bins
from .chains import ChainSet


@dataclass
class Batch:
    features: torch.Tensor  # (B, 41, W): models.residue_input
    mask: torch.Tensor  # (B, W) bool
    ss8: torch.Tensor  # (B, W) long, -1 where padded
    ss3: torch.Tensor  # (B, W) long, -1 where padded
    rsa: torch.Tensor  # (B, W) float
    rows: torch.Tensor  # (B, P) long indices into the window
    cols: torch.Tensor  # (B, P)
    pair_mask: torch.Tensor  # (B, P, P) bool
    distances: torch.Tensor  # (B, 4, P, P) Å: Cα–Cα, Cα–Cβ, Cβ–Cα, Cβ–Cβ
    distance_bins: torch.Tensor  # (B, 4, P, P) long, the bins of ``distances``
    contact: torch.Tensor  # (B, P, P) float

    def to(self, device: torch.device) -> Batch:
        return Batch(**{name: value.to(device) for name, value in vars(self).items()})


def sample_batch(
    chains: ChainSet,
    rng: np.random.Generator,
    batch: int = 8,
    window: int = 256,
    crop: int = 64,
    profile_drop: float = 0.5,
) -> Batch:
    lengths = chains.lengths()
    picks = rng.integers(len(chains), size=batch)
    width = int(min(window, lengths[picks].max()))
    pairs = min(crop, width)
    out = Batch(
        features=torch.zeros(batch, residue_input.FEATURES, width),
        mask=torch.zeros(batch, width, dtype=torch.bool),
        ss8=torch.full((batch, width), -1, dtype=torch.long),
        ss3=torch.full((batch, width), -1, dtype=torch.long),
        rsa=torch.zeros(batch, width),
        rows=torch.zeros(batch, pairs, dtype=torch.long),
        cols=torch.zeros(batch, pairs, dtype=torch.long),
        pair_mask=torch.zeros(batch, pairs, pairs, dtype=torch.bool),
        distances=torch.zeros(batch, 4, pairs, pairs),
        distance_bins=torch.zeros(batch, 4, pairs, pairs, dtype=torch.long),
        contact=torch.zeros(batch, pairs, pairs),
    )
    for b, i in enumerate(picks):
        length = int(lengths[i])
        start = int(rng.integers(0, length - width + 1)) if length > width else 0
        n = min(width, length)
        rows_slice = slice(int(chains.offsets[i]) + start, int(chains.offsets[i]) + start + n)
        residues = torch.from_numpy(chains.residues[rows_slice].astype(np.int64))
        profile = chains.profile[rows_slice] if rng.random() >= profile_drop else None
        residue_input.fill(out.features[b], residues, profile)
        out.mask[b, :n] = True
        ss8 = chains.ss8[rows_slice].astype(np.int64)
        out.ss8[b, :n] = torch.from_numpy(ss8)
        out.ss3[b, :n] = torch.from_numpy(SS8_TO_SS3[ss8])
        out.rsa[b, :n] = torch.from_numpy(chains.rsa[rows_slice].astype(np.float32))

        p = min(pairs, n)
        r0 = int(rng.integers(0, n - p + 1))
        c0 = int(rng.integers(0, n - p + 1))
        out.rows[b, :p] = torch.arange(r0, r0 + p)
        out.cols[b, :p] = torch.arange(c0, c0 + p)
        out.pair_mask[b, :p, :p] = True
        ca = torch.from_numpy(chains.ca[rows_slice].astype(np.float32))
        cb = torch.from_numpy(chains.cb[rows_slice].astype(np.float32))
        atoms = {"ca": ca, "cb": cb}
        for k, (first, second) in enumerate(
            (("ca", "ca"), ("ca", "cb"), ("cb", "ca"), ("cb", "cb"))
        ):
            d = torch.cdist(atoms[first][r0 : r0 + p], atoms[second][c0 : c0 + p])
            out.distances[b, k, :p, :p] = d
            out.distance_bins[b, k, :p, :p] = distance_bins(d)
            if k == 3:
                out.contact[b, :p, :p] = (d < CONTACT_CUTOFF).float()
    return out
