"""Array summaries of one attribution map, which the protein layer reads per residue and feature.

- :func:`distance_profile`: how the map's magnitude falls off with the distance (in positions)
  from the explained positions;
- :func:`feature_correlation`: how far each feature's attribution just follows the input's values,
  as ``input × gradient`` does by construction and guided backprop tends to (Nie et al. 2018).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .metrics import Array, pearson


def distance_profile(magnitude: ArrayLike, centres: Sequence[int]) -> tuple[Array, Array]:
    """Mean ``magnitude`` by distance from the nearest centre.

    For positions ``k`` of ``magnitude`` (shape ``(n,)``), ``d(k) = min_c |k - c|`` over
    ``centres``; returns ``distances = 0, 1, ..., max_k d(k)`` (every one occurs, since ``d``
    changes by at most 1 between neighbours and is 0 at a centre) and the mean of
    ``magnitude[k]`` over the positions at each distance.
    """
    values = np.asarray(magnitude, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"magnitude must be a non-empty 1D array, got shape {values.shape}")
    n = values.size
    where = np.asarray(centres, dtype=np.int64)
    if where.ndim != 1 or where.size == 0 or where.min() < 0 or where.max() >= n:
        raise ValueError(f"centres must be one or more positions from 0 to {n - 1}, got {centres}")
    distance = np.abs(np.arange(n)[:, None] - where[None, :]).min(axis=1)
    totals = np.bincount(distance, weights=values)
    counts = np.bincount(distance)
    return np.arange(counts.size, dtype=np.float64), totals / counts


def feature_correlation(attribution: ArrayLike, x: ArrayLike) -> tuple[Array, float]:
    """Per-feature and overall Pearson correlation between a map and the input it explains.

    For maps and inputs of shape ``(C, n)`` (features × positions), row ``c`` gives
    ``r_c = pearson(attribution[c], x[c])`` across positions; a constant row (either array) has no
    defined correlation and gets 0. The overall ``r`` is over all elements (0 if either is
    constant).
    """
    a = np.asarray(attribution, dtype=np.float64)
    b = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"need two (C, n) arrays of one shape, got {a.shape} and {b.shape}")
    per_feature = np.array([pearson(row_a, row_b) for row_a, row_b in zip(a, b, strict=True)])
    return per_feature, pearson(a, b)
