"""Deletion and insertion curves (Petsiuk et al. 2018, RISE): does the map rank what matters?

Rank the positions of the input by the map's scores. *Deletion* replaces the positions by a
baseline, most important first, and records the target after each step: a good ranking makes it
fall fast (a low area under the curve). *Insertion* starts from the baseline and puts the positions
back in the same order: a good ranking makes it rise fast (a high area). Random rankings give the
reference a map must beat.

A position is one index along ``position_axis`` of ``x``; all features at that index (all other
axes) are replaced together, so the input keeps its length. ``position_axis`` counts the batch
axis like torch does: for ``x`` of shape ``(1, C, L)`` the default ``-1`` and ``2`` are the same,
and ``0`` (the batch) is refused.

The target is per sample (see :mod:`.target_values`): a tuple index whose batch entry is replaced
by each perturbed copy, or a callable ``output -> (B,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from .errors import AnalysisCancelledError
from .metrics import Array
from .target_values import DEFAULT_BATCH_SIZE, BatchTarget, chunks, target_values

Ranking = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Curve:
    """The target's value after ``fractions`` of the positions were deleted (or inserted)."""

    fractions: Array
    values: Array

    @property
    def auc(self) -> float:
        """Area under the curve by the trapezoid rule over the fraction in [0, 1]."""
        widths = np.diff(self.fractions)
        return float(((self.values[1:] + self.values[:-1]) / 2 * widths).sum())

    def to_json(self) -> dict[str, Any]:
        return {
            "fractions": self.fractions.tolist(),
            "values": self.values.tolist(),
            "auc": self.auc,
        }


def position_ranking(scores: ArrayLike, generator: np.random.Generator | None = None) -> Ranking:
    """Positions sorted by ``scores`` (one per position) descending.

    Ties keep position order, or a random order drawn from ``generator`` when one is given (so
    that the zeros of a sparse map are not deleted left to right).
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or not np.isfinite(values).all():
        raise ValueError(f"scores must be a finite 1D array, one per position; got {values.shape}")
    shuffled = np.arange(values.size) if generator is None else generator.permutation(values.size)
    return shuffled[np.argsort(-values[shuffled], kind="stable")].astype(np.int64)


def random_ranking(n: int, generator: np.random.Generator) -> Ranking:
    """A uniformly random order of ``n`` positions."""
    return generator.permutation(n).astype(np.int64)


def deletion_curve(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: BatchTarget,
    order: ArrayLike,
    baseline: float | torch.Tensor,
    steps: int | None = None,
    position_axis: int = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Curve:
    """The target as the positions of ``order`` are replaced by ``baseline``, first ones first.

    Parameters
    ----------
    model
        Takes a batch of inputs shaped like ``x``.
    x
        The input, batch dimension of 1.
    target
        Per sample (see the module docstring).
    order
        A permutation of the ``n`` positions, most important first (:func:`position_ranking`).
    baseline
        A number, or a tensor shaped like ``x``.
    steps
        Points on the curve: ``None`` for every count ``0..n`` of deleted positions, otherwise
        that many counts evenly spaced from 0 to ``n`` (rounded; ``2 <= steps <= n + 1``).
    position_axis
        The axis of ``x`` (batch axis counted) along which positions lie.
    batch_size
        Perturbed copies per forward pass (under ``torch.no_grad``).
    """
    return _curve(model, x, target, order, baseline, steps, position_axis, batch_size, True)


def insertion_curve(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: BatchTarget,
    order: ArrayLike,
    baseline: float | torch.Tensor,
    steps: int | None = None,
    position_axis: int = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Curve:
    """The target as the positions of ``order`` are restored into ``baseline``, first ones first.

    The parameters are those of :func:`deletion_curve`; at fraction 0 the input is all baseline.
    """
    return _curve(model, x, target, order, baseline, steps, position_axis, batch_size, False)


def _curve(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: BatchTarget,
    order: ArrayLike,
    baseline: float | torch.Tensor,
    steps: int | None,
    position_axis: int,
    batch_size: int,
    deletion: bool,
) -> Curve:
    axis = _position_axis(x, position_axis)
    n = x.shape[axis]
    ranks = _ranks(order, n)
    counts = _counts(n, steps)
    base = _baseline(baseline, x)
    # changed[s, p]: position p is replaced (deletion) or restored (insertion) at point s.
    changed = torch.as_tensor(ranks[None, :] < counts[:, None], device=x.device)
    shape = [-1] + [n if dim == axis else 1 for dim in range(1, x.dim())]
    start, end = (x, base) if deletion else (base, x)
    batches = (
        torch.where(changed[rows].reshape(shape), end, start)
        for rows in chunks(len(counts), batch_size)
    )
    return Curve(fractions=counts / n, values=target_values(model, batches, target))


def _position_axis(x: torch.Tensor, axis: int) -> int:
    if x.dim() < 2 or x.shape[0] != 1:
        raise ValueError(f"x must have a batch dimension of 1 and more, got {tuple(x.shape)}")
    if not -x.dim() <= axis < x.dim() or axis % x.dim() == 0:
        raise ValueError(
            f"position_axis must be an axis of x other than the batch (0), from 1 to "
            f"{x.dim() - 1} or negative; got {axis}"
        )
    return axis % x.dim()


def _ranks(order: ArrayLike, n: int) -> NDArray[np.int64]:
    positions = np.asarray(order)
    if positions.shape != (n,) or not np.array_equal(np.sort(positions), np.arange(n)):
        raise ValueError(f"order must be a permutation of the {n} positions")
    ranks = np.empty(n, dtype=np.int64)
    ranks[positions] = np.arange(n)
    return ranks


def _counts(n: int, steps: int | None) -> NDArray[np.int64]:
    if steps is None:
        return np.arange(n + 1)
    if not isinstance(steps, int) or not 2 <= steps <= n + 1:
        raise ValueError(f"steps must be an int from 2 to {n + 1}, got {steps!r}")
    # Spacing n / (steps - 1) >= 1, so rounding half up keeps the counts distinct.
    return np.floor(np.linspace(0, n, steps) + 0.5).astype(np.int64)


def _baseline(baseline: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    if isinstance(baseline, torch.Tensor):
        if baseline.shape != x.shape:
            raise ValueError(
                f"a baseline tensor must be shaped like x {tuple(x.shape)}, got "
                f"{tuple(baseline.shape)}"
            )
        return baseline.to(x)
    return torch.full_like(x, float(baseline))


@dataclass(frozen=True)
class PerturbationResult:
    """Deletion and insertion curves for the map's ranking and, averaged, for random rankings."""

    deletion: Curve
    insertion: Curve
    random_deletion: Curve
    random_insertion: Curve

    def to_json(self) -> dict[str, Any]:
        return {
            "deletion": self.deletion.to_json(),
            "insertion": self.insertion.to_json(),
            "random_deletion": self.random_deletion.to_json(),
            "random_insertion": self.random_insertion.to_json(),
        }


def perturbation_test(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: BatchTarget,
    scores: ArrayLike,
    baseline: float | torch.Tensor,
    random_orders: int = 8,
    seed: int = 0,
    steps: int | None = None,
    position_axis: int = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PerturbationResult:
    """Deletion and insertion for the ranking by ``scores`` and for ``random_orders`` random ones.

    ``scores`` has one value per position (e.g. the map's magnitude summed over features); ties are
    broken at random. The random curves are the mean of the random rankings' values, so their
    area is the mean area. A map beats chance when its deletion area is below the random one and
    its insertion area above. One generator seeded with ``seed`` draws the tie-breaking and the
    random rankings. ``progress`` is called with the fraction done after each curve;
    ``cancelled`` is polled before each curve and, when it returns True, stops the test with
    :class:`AnalysisCancelledError`. The other parameters are those of :func:`deletion_curve`.
    """
    if not isinstance(random_orders, int) or random_orders < 1:
        raise ValueError(f"random_orders must be a positive int, got {random_orders!r}")
    generator = np.random.default_rng(seed)
    order = position_ranking(scores, generator)
    randoms = [random_ranking(order.size, generator) for _ in range(random_orders)]

    total, done = 2 * (1 + random_orders), 0

    def run(ranking: Ranking, deletion: bool) -> Curve:
        nonlocal done
        if cancelled is not None and cancelled():
            raise AnalysisCancelledError("the deletion and insertion test was cancelled")
        curve = _curve(
            model, x, target, ranking, baseline, steps, position_axis, batch_size, deletion
        )
        done += 1
        if progress is not None:
            progress(done / total)
        return curve

    return PerturbationResult(
        deletion=run(order, True),
        insertion=run(order, False),
        random_deletion=_mean([run(ranking, True) for ranking in randoms]),
        random_insertion=_mean([run(ranking, False) for ranking in randoms]),
    )


def _mean(curves: list[Curve]) -> Curve:
    values = np.mean([curve.values for curve in curves], axis=0)
    return Curve(fractions=curves[0].fractions, values=values)
