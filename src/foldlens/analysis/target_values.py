"""The value of a target for every sample of a batch of inputs, without gradients.

The perturbation analyses evaluate the model on many modified copies of one input. Their ``target``
is per sample:

- a tuple index into the output whose first entry (the batch position; after the output key for
  a model returning a tuple, list or dict, as in the engine's targets) is replaced by every sample
  of the batch: ``(0, 2, 10)`` reads ``output[:, 2, 10]``, ``("ss8", 0, 12, 2)`` reads
  ``output["ss8"][:, 12, 2]``;
- or a callable ``output -> tensor of shape (B,)`` giving one value per sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias

import numpy as np
import torch

from .metrics import Array

BatchTarget: TypeAlias = tuple[int | str, ...] | Callable[[Any], torch.Tensor]
DEFAULT_BATCH_SIZE = 32
"""Inputs per forward pass when the caller does not say."""


def chunks(count: int, batch_size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``batch_size`` covering ``range(count)``."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    for start in range(0, count, batch_size):
        yield slice(start, min(start + batch_size, count))


def target_values(
    model: torch.nn.Module, batches: Iterable[torch.Tensor], target: BatchTarget
) -> Array:
    """``target`` evaluated (under ``torch.no_grad``) on every sample of every batch, in order."""
    values = []
    with torch.no_grad():
        for batch in batches:
            values.append(per_sample(model(batch), target, len(batch)))
    return np.asarray(torch.cat(values).to("cpu", torch.float64).numpy(), dtype=np.float64)


def per_sample(output: Any, target: BatchTarget, batch: int) -> torch.Tensor:
    """One value per sample of ``output``, a model's output for ``batch`` samples."""
    if callable(target):
        values = target(output)
    elif isinstance(target, tuple):
        values = _select(output, target, "the output")
    else:
        raise TypeError(
            f"a target must be a tuple index or a callable output -> (B,), got {target!r}"
        )
    if not isinstance(values, torch.Tensor) or tuple(values.shape) != (batch,):
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"the target must give one value per sample, ({batch},); got {shape}")
    return values


def _select(value: Any, index: tuple[int | str, ...], what: str) -> torch.Tensor:
    head = index[0] if index else None
    if isinstance(value, Mapping):
        if head not in value:
            raise ValueError(f"{what} is a dict; the index must start with one of {list(value)}")
        return _select(value[head], index[1:], f"{what}[{head!r}]")
    if isinstance(value, tuple | list):
        if not isinstance(head, int):
            raise ValueError(f"{what} holds {len(value)} outputs; the index must start with one")
        return _select(value[head], index[1:], f"{what}[{head}]")
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{what} is a {type(value).__name__}, not a tensor")
    element = [i for i in index[1:] if isinstance(i, int)]
    if len(index) != value.dim() or len(element) != value.dim() - 1:
        raise ValueError(
            f"index {index} must address one element per sample of {what}, which has shape "
            f"{tuple(value.shape)}: one int per dimension, batch included"
        )
    every_sample: tuple[slice | int, ...] = (slice(None), *element)
    return value[every_sample]
