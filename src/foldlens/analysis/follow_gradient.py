"""Follow the attribution: the target along the line ``x + ε·d`` through the input.

For a map ``d`` (e.g. the gradient), ``f(x + ε d)`` shows whether moving the input along the map
does what the map claims: its slope at ``ε = 0`` is the directional derivative ``∇f(x)·d``
(``‖∇f‖²`` for the gradient itself, always ≥ 0), and its shape shows how far that local picture
holds before the ReLUs switch.

The target is per sample (see :mod:`.target_values`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

from .metrics import Array
from .target_values import DEFAULT_BATCH_SIZE, BatchTarget, chunks, target_values

REACH = 0.5
"""The largest step of :func:`default_epsilons` has this fraction of the input's norm."""


@dataclass(frozen=True, eq=False)
class DirectionCurve:
    """The target's value at ``x + ε d`` for each of ``epsilons``."""

    epsilons: Array
    values: Array

    def to_json(self) -> dict[str, Any]:
        return {"epsilons": self.epsilons.tolist(), "values": self.values.tolist()}


def follow_the_attribution(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: BatchTarget,
    direction: torch.Tensor,
    epsilons: ArrayLike,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> DirectionCurve:
    """``target`` of ``model(x + ε direction)`` for every ε, batched, without gradients.

    ``x`` has a batch dimension of 1 and ``direction`` its shape.
    """
    if x.dim() < 1 or x.shape[0] != 1:
        raise ValueError(f"x must have a batch dimension of 1, got shape {tuple(x.shape)}")
    if direction.shape != x.shape:
        raise ValueError(
            f"direction must be shaped like x {tuple(x.shape)}, got {tuple(direction.shape)}"
        )
    steps = np.asarray(epsilons, dtype=np.float64)
    if steps.ndim != 1 or steps.size == 0 or not np.isfinite(steps).all():
        raise ValueError("epsilons must be a non-empty 1D array of finite numbers")
    scale = torch.as_tensor(steps, dtype=x.dtype, device=x.device)
    d = direction.to(x)
    shape = [-1] + [1] * (x.dim() - 1)
    batches = (x + scale[rows].reshape(shape) * d for rows in chunks(steps.size, batch_size))
    return DirectionCurve(epsilons=steps, values=target_values(model, batches, target))


def default_epsilons(direction: torch.Tensor, x: torch.Tensor, count: int = 21) -> Array:
    """``count`` evenly spaced ε from ``-E`` to ``E``, 0 included, sorted.

    ``E = REACH · ‖x‖ / ‖direction‖`` (Frobenius norms), so the farthest points move the input by
    half its own norm; when ``x`` is all zeros ``‖x‖`` is taken as 1. ``count`` must be odd.
    """
    if not isinstance(count, int) or count < 3 or count % 2 == 0:
        raise ValueError(f"count must be an odd int of at least 3, got {count!r}")
    length = float(torch.linalg.vector_norm(direction.double()))
    if length == 0:
        raise ValueError("the direction is zero everywhere")
    reach = REACH * (float(torch.linalg.vector_norm(x.double())) or 1.0) / length
    half = count // 2
    return np.asarray(reach * np.arange(-half, half + 1) / half, dtype=np.float64)
