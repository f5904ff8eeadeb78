"""How alike two attribution maps are: rank correlation, structural similarity, top-k overlap.

Every function takes two arrays of the same shape and returns a float; the arrays are read as
float64. :func:`similarity` bundles the four numbers the sanity checks report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

SSIM_WINDOW = 7
"""Side of the SSIM window (Wang et al. 2004 use 11 with Gaussian weights; scikit-image's default
uniform window is 7)."""
SSIM_K1, SSIM_K2 = 0.01, 0.03
"""The stabilising constants of Wang et al. 2004: ``C1 = (K1 R)^2``, ``C2 = (K2 R)^2``."""
TOP_K_FRACTION = 0.1
"""Default ``k`` of :func:`default_k`: this fraction of the map's elements."""

Array = NDArray[np.float64]


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[Array, Array]:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"the maps must have the same shape, got {x.shape} and {y.shape}")
    if x.size == 0:
        raise ValueError("the maps are empty")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("the maps must be finite (no nan or inf)")
    return x, y


def pearson(a: ArrayLike, b: ArrayLike) -> float:
    """Pearson correlation over all elements, ``0.0`` when either map is constant.

    .. math:: r = \\frac{\\sum_i (a_i - \\bar a)(b_i - \\bar b)}
                       {\\sqrt{\\sum_i (a_i - \\bar a)^2 \\sum_i (b_i - \\bar b)^2}}

    ``r`` is undefined (0/0) for a constant map; ``0.0`` says "no linear relation".
    """
    x, y = _pair(a, b)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    x, y = x - x.mean(), y - y.mean()
    return float(np.clip((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()), -1.0, 1.0))


def average_ranks(values: ArrayLike) -> Array:
    """Ranks from 1 of the flattened ``values``; tied values share the mean of their ranks."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(flat.size)
    ordered = flat[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts_group)[inverse]
    bounds = np.r_[np.flatnonzero(starts_group), flat.size]
    # A group covering sorted positions s..e-1 has ranks s+1..e, whose mean is (s + 1 + e) / 2.
    return np.asarray(0.5 * (bounds[group - 1] + 1 + bounds[group]), dtype=np.float64)


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman rank correlation over all elements: the Pearson correlation of average ranks.

    Equals ``scipy.stats.spearmanr(a.ravel(), b.ravel()).statistic``, except that a constant map
    (where that is nan) gives ``0.0``.
    """
    x, y = _pair(a, b)
    return pearson(average_ranks(x), average_ranks(y))


def ssim(a: ArrayLike, b: ArrayLike) -> float:
    """Mean structural similarity (Wang et al. 2004) of two 2D maps.

    In each ``w × w`` window fully inside the maps, with window means ``μ``, sample variances
    ``σ²`` and sample covariance ``σ_ab`` (normalised by ``w² - 1``),

    .. math:: S = \\frac{(2 μ_a μ_b + C_1)(2 σ_{ab} + C_2)}
                       {(μ_a^2 + μ_b^2 + C_1)(σ_a^2 + σ_b^2 + C_2)},
              \\quad C_1 = (K_1 R)^2,\\; C_2 = (K_2 R)^2,

    with ``R = max(a.max(), b.max()) - min(a.min(), b.min())``, ``K1 = 0.01``, ``K2 = 0.03``;
    the result is the mean of ``S`` over the windows. ``w`` is 7, or the smaller side when that is
    smaller (made odd). This is ``skimage.metrics.structural_similarity(a, b, win_size=w,
    data_range=R)``, which filters with a uniform window and averages after cropping
    ``(w - 1) // 2`` from every border, i.e. over the same fully-inside windows.

    A map with a side shorter than 3 (a 1D map reshaped to ``(1, n)``) gets a window of 1 along
    that side and ``w`` along the other; 1D maps must be reshaped so by the caller. Two maps that
    are the same constant (``R = 0``) are identical: 1.0.
    """
    x, y = _pair(a, b)
    if x.ndim != 2:
        raise ValueError(f"ssim needs 2D maps, got shape {x.shape}; reshape a 1D map to (1, n)")
    long_sides = [side for side in x.shape if side >= 3]
    if not long_sides:
        raise ValueError(f"ssim needs a map with a side of at least 3, got shape {x.shape}")
    w = min(SSIM_WINDOW, *long_sides)
    if w % 2 == 0:
        w -= 1
    window = tuple(w if side >= 3 else 1 for side in x.shape)
    data_range = max(x.max(), y.max()) - min(x.min(), y.min())
    if data_range == 0:
        return 1.0
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2

    def mean(image: Array) -> Array:
        view = np.lib.stride_tricks.sliding_window_view(image, window)
        return np.asarray(view.mean(axis=(-2, -1)), dtype=np.float64)

    count = window[0] * window[1]
    sample = count / (count - 1)
    mu_x, mu_y = mean(x), mean(y)
    var_x = sample * (mean(x * x) - mu_x**2)
    var_y = sample * (mean(y * y) - mu_y**2)
    cov = sample * (mean(x * y) - mu_x * mu_y)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    structure = (2 * cov + c2) / (var_x + var_y + c2)
    return float((luminance * structure).mean())


def top_k_overlap(a: ArrayLike, b: ArrayLike, k: int) -> float:
    """``|top_k(a) ∩ top_k(b)| / k``: the share of the ``k`` largest elements both maps have.

    By value (pass absolute values to compare magnitudes); ties are broken by flat position.
    """
    x, y = _pair(a, b)
    if not isinstance(k, int) or not 1 <= k <= x.size:
        raise ValueError(f"k must be an int from 1 to the map size {x.size}, got {k!r}")
    top_x = np.argsort(-x.ravel(), kind="stable")[:k]
    top_y = np.argsort(-y.ravel(), kind="stable")[:k]
    return len(np.intersect1d(top_x, top_y)) / k


def default_k(size: int) -> int:
    """``k`` for :func:`top_k_overlap` on a map of ``size`` elements: 10 %, at least 1."""
    return max(1, round(TOP_K_FRACTION * size))


@dataclass(frozen=True)
class MapSimilarity:
    """How alike an attribution map is to a reference map.

    ``spearman_signed`` and ``spearman_absolute``: rank correlation of the values and of their
    magnitudes; ``ssim``: structural similarity of the values; ``top_k``: overlap of the ``k``
    largest magnitudes. Each is 1 for identical maps.
    """

    spearman_signed: float
    spearman_absolute: float
    ssim: float
    top_k: float

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def similarity(original: ArrayLike, other: ArrayLike, k: int) -> MapSimilarity:
    """All four numbers of :class:`MapSimilarity` for two 2D maps (``top_k`` with this ``k``)."""
    a, b = _pair(original, other)
    return MapSimilarity(
        spearman_signed=spearman(a, b),
        spearman_absolute=spearman(np.abs(a), np.abs(b)),
        ssim=ssim(a, b),
        top_k=top_k_overlap(np.abs(a), np.abs(b), k),
    )
