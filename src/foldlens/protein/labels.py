"""Structure labels: secondary structure states, relative accessibility, distance bins.

- 8-state DSSP in the order ``HGIEBTSC``; 3 states ``HEC`` with H, G, I → H; E, B → E; T, S, C → C.
- Relative accessibility ``rsa = min(accessibility / max_accessibility(aa), 1)`` with the
  Rost–Sander maxima (Å²).
- Distances in 37 bins: ``< 2.5 Å``, 35 bins of 0.5 Å up to 20 Å, ``≥ 20 Å``. The expected
  distance of a distogram ``p`` is ``Σ_k p_k c_k`` with the bin centres ``c_k`` (2.25 Å for the
  first bin, 20.25 Å for the last).
- A contact is a pair with Cβ–Cβ distance below 8 Å.
"""

from __future__ import annotations

import numpy as np
import torch

from .alphabet import AMINO_ACIDS

DSSP8 = "HGIEBTSC"
SS3 = "HEC"
SS8_TO_SS3 = np.array([0, 0, 0, 1, 1, 2, 2, 2], dtype=np.int64)

MAX_ACCESSIBILITY = dict(
    zip(AMINO_ACIDS, [106, 248, 157, 163, 135, 198, 194, 84, 184, 169,
                      164, 205, 188, 197, 136, 130, 142, 227, 222, 142], strict=True)
)  # fmt: skip
_MAX_BY_INDEX = np.array([MAX_ACCESSIBILITY[aa] for aa in AMINO_ACIDS], dtype=np.float32)

DISTANCE_MAPS = ("dist_ca_ca", "dist_ca_cb", "dist_cb_ca", "dist_cb_cb")
"""The four inter-residue distance maps: ``dist_<a>_<b>`` from atom a of residue i to atom b of
residue j (Cα or Cβ), in Å."""
DISTANCE_EDGES = np.arange(2.5, 20.0 + 1e-6, 0.5, dtype=np.float32)  # 36 edges → 37 bins
DISTANCE_BINS = len(DISTANCE_EDGES) + 1
DISTANCE_CENTRES = np.concatenate(
    [[2.25], (DISTANCE_EDGES[:-1] + DISTANCE_EDGES[1:]) / 2, [20.25]]
).astype(np.float32)
CONTACT_CUTOFF = 8.0


def relative_accessibility(accessibility: np.ndarray, residues: np.ndarray) -> np.ndarray:
    """``min(accessibility / max_accessibility, 1)`` for residue indices into ``AMINO_ACIDS``."""
    rsa: np.ndarray = np.minimum(accessibility / _MAX_BY_INDEX[residues], 1.0).astype(np.float32)
    return rsa


def distance_bins(distances: torch.Tensor) -> torch.Tensor:
    """The bin index (0..36) of each distance."""
    return torch.bucketize(distances, torch.from_numpy(DISTANCE_EDGES), right=True)


def expected_distance(logits: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """``Σ_k softmax(logits)_k c_k`` along ``dim`` (Å)."""
    centres = torch.from_numpy(DISTANCE_CENTRES).to(logits.dtype)
    shape = [1] * logits.dim()
    shape[dim] = -1
    return (logits.softmax(dim) * centres.view(shape)).sum(dim)


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``|a_i - b_j|`` for coordinates ``a`` (…, L, 3) and ``b`` (…, M, 3)."""
    return torch.cdist(a.float(), b.float())
