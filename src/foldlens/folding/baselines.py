"""Cα traces a folded model must beat, and the starting points of the folding.

- :func:`classical_mds`: multidimensional scaling (Torgerson) of a distance matrix D: with
  ``B = −½ J D² J`` (``J = I − 11ᵀ/L``), the coordinates are the top three eigenvectors of B scaled
  by the square roots of their eigenvalues;
- :func:`ideal_helix`: an α-helix, Cα at radius 2.3 Å, rise 1.5 Å and 100° per residue;
- :func:`random_coil`: a random walk of 3.8 Å steps whose bond angles are drawn
  between 80° and 150° (a seeded generator, so a baseline is reproducible).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..protein.labels import DISTANCE_CENTRES
from .distograms import Distograms
from .geometry import CA_CA


def classical_mds(distances: torch.Tensor) -> torch.Tensor:
    """``(L, 3)`` coordinates whose pairwise distances best match ``distances`` ``(L, L)``."""
    length = distances.shape[0]
    centring = torch.eye(length, dtype=torch.float64) - 1.0 / length
    gram = -0.5 * centring @ distances.double() ** 2 @ centring
    values, vectors = torch.linalg.eigh(gram)
    top = values[-3:].flip(0).clamp(min=0)
    coordinates: torch.Tensor = (vectors[:, -3:].flip(1) * top.sqrt()).float()
    return coordinates


def expected_ca_distances(distograms: Distograms) -> torch.Tensor:
    """``(L, L)``: the expected Cα–Cα distance of each pair (Å), zero on the diagonal."""
    centres = torch.from_numpy(DISTANCE_CENTRES)
    d = (distograms.probabilities["dist_ca_ca"] * centres).sum(-1)
    return d.fill_diagonal_(0.0)


def mds_trace(distograms: Distograms) -> torch.Tensor:
    """The MDS baseline: classical MDS of the expected Cα–Cα distances."""
    return classical_mds(expected_ca_distances(distograms))


def ideal_helix(length: int) -> torch.Tensor:
    """``(L, 3)``: an ideal α-helix."""
    turn = torch.arange(length, dtype=torch.float32) * math.radians(100.0)
    return torch.stack([2.3 * turn.cos(), 2.3 * turn.sin(), 1.5 * torch.arange(length)], -1)


def random_coil(length: int, seed: int = 0) -> torch.Tensor:
    """``(L, 3)``: a random chain of 3.8 Å steps with bond angles in [80°, 150°]."""
    rng = np.random.default_rng(seed)
    trace = np.zeros((length, 3))
    direction = np.array([1.0, 0.0, 0.0])
    for i in range(1, length):
        if i > 1:
            angle = math.radians(rng.uniform(80.0, 150.0))
            other = rng.normal(size=3)
            other -= other @ direction * direction
            other /= np.linalg.norm(other)
            bend = math.pi - angle
            direction = math.cos(bend) * direction + math.sin(bend) * other
        trace[i] = trace[i - 1] + CA_CA * direction
    return torch.from_numpy(trace).float()


GEODESIC_EDGE = 12.0
"""Expected Cα–Cα distances (Å) short enough to be taken as edges of the geodesic graph."""


def geodesic_distances(distances: torch.Tensor, edge: float = GEODESIC_EDGE) -> torch.Tensor:
    """Shortest paths (Floyd–Warshall) through pairs closer than ``edge`` Å: distances the
    distograms cannot express (the last bin holds all ≥ 20 Å) become sums of ones they can."""
    paths = torch.where(distances < edge, distances, torch.full_like(distances, float("inf")))
    for k in range(len(paths)):
        paths = torch.minimum(paths, paths[:, k : k + 1] + paths[k : k + 1, :])
    return torch.where(torch.isinf(paths), distances, paths)


def geodesic_trace(distograms: Distograms) -> torch.Tensor:
    """Classical MDS of the geodesic expected Cα–Cα distances (Isomap, Tenenbaum et al. 2000)."""
    return classical_mds(geodesic_distances(expected_ca_distances(distograms)))
