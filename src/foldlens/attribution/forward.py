"""What a forward pass produced, and the targets read from it.

A :class:`Forward` holds the slot leaves ``z``, the model output and the outputs captured from
modules named by :class:`~foldlens.attribution.targets.Neuron` targets. :func:`seeds` turns each
target into the gradient it seeds the backward pass with (summed over stacked copies of the input);
:func:`values` reads each target's value in each copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .targets import Neuron, Target, select

if TYPE_CHECKING:
    from .supports import SupportMode


@dataclass
class Forward:
    """One forward pass: the slot leaves ``z``, the output and the captured module outputs."""

    z: tuple[torch.Tensor, ...]
    output: Any
    captured: dict[str, list[Any]]
    copies: int
    batch: int
    saved_bytes: int
    supports: SupportMode | None = None
    """The input positions each tensor depends on, when the pass derived them (for packing)."""


@dataclass
class Seed:
    """The gradient of one target with respect to the tensors it reads.

    ``points`` are elements with gradient 1 (index targets); ``dense`` pairs a tensor with the
    full gradient of a callable target with respect to it.
    """

    points: list[tuple[torch.Tensor, tuple[int, ...]]] = field(default_factory=list)
    dense: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)

    def tensors(self) -> list[torch.Tensor]:
        return [t for t, _ in self.points] + [t for t, _ in self.dense]


def _source(
    fwd: Forward, target: Neuron | tuple[int | str, ...]
) -> tuple[Any, tuple[int | str, ...], str]:
    if not isinstance(target, Neuron):
        return fwd.output, target, "the model output"
    calls = fwd.captured.get(target.module, [])
    if not calls:
        raise ValueError(f"module {target.module!r} did not run in the forward pass")
    if target.call is None and len(calls) > 1:
        raise ValueError(
            f"module {target.module!r} ran {len(calls)} times in one forward pass; "
            f"pick one with Neuron(..., call=k), k in 0..{len(calls) - 1}"
        )
    k = target.call or 0
    if k >= len(calls):
        raise ValueError(
            f"module {target.module!r} ran {len(calls)} times; call={k} does not exist"
        )
    return calls[k], target.index, f"the output of {target.module!r}"


def element(
    fwd: Forward, target: Neuron | tuple[int | str, ...]
) -> tuple[torch.Tensor, list[tuple[int, ...]]]:
    """The tensor an index target reads, and its element in each stacked copy."""
    value, index, what = _source(fwd, target)
    tensor, element = select(value, index, what)
    if fwd.copies == 1:
        return tensor, [element]
    if tensor.shape[0] != fwd.copies * fwd.batch:
        raise ValueError(
            f"{what} has {tensor.shape[0]} rows for {fwd.copies} stacked copies of a batch of "
            f"{fwd.batch}; this method needs outputs whose first dimension is the batch"
        )
    if element[0] >= fwd.batch:
        raise ValueError(f"batch index {index[0]} is out of range for a batch of {fwd.batch}")
    return tensor, [(c * fwd.batch + element[0], *element[1:]) for c in range(fwd.copies)]


def _callable_values(fwd: Forward, target: Callable[[Any], torch.Tensor]) -> list[torch.Tensor]:
    outputs = [fwd.output] if fwd.copies == 1 else _split_batch(fwd.output, fwd.copies)
    values = []
    for output in outputs:
        value = target(output)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise ValueError("a callable target must return a tensor with exactly one element")
        if not (value.is_floating_point() or value.is_complex()):
            raise ValueError(
                f"a callable target returned a {value.dtype} value, which has no gradient (an "
                "argmax or a comparison?); return a floating-point function of the output"
            )
        values.append(value.reshape(()))
    return values


def seeds(fwd: Forward, targets: list[Target]) -> list[Seed]:
    """The backward seed of each target (summed over stacked copies)."""
    result = []
    for target in targets:
        if isinstance(target, Neuron | tuple):
            tensor, elements = element(fwd, target)
            result.append(Seed(points=[(tensor, e) for e in elements]))
            continue
        total = torch.stack(_callable_values(fwd, target)).sum()
        if total.grad_fn is None:
            raise ValueError(
                "a callable target returned a value computed without the model output (or "
                "detached from it): it does not depend on the input"
            )
        tensors = tensors_in(fwd.output)
        grads = torch.autograd.grad(total, tensors, retain_graph=True, allow_unused=True)
        result.append(
            Seed(dense=[(t, g) for t, g in zip(tensors, grads, strict=True) if g is not None])
        )
    return result


def values(fwd: Forward, targets: list[Target]) -> torch.Tensor:
    """The value of each target in each stacked copy, shape ``(len(targets), copies)``."""
    rows = []
    for target in targets:
        if isinstance(target, Neuron | tuple):
            tensor, elements = element(fwd, target)
            rows.append(torch.stack([tensor[e] for e in elements]).detach())
        else:
            rows.append(torch.stack(_callable_values(fwd, target)).detach())
    return torch.stack(rows)


def tensors_in(value: Any) -> list[torch.Tensor]:
    """The tensors in ``value``: a tensor, or nested dicts, tuples and lists of them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in tensors_in(v)]
    if isinstance(value, tuple | list):
        return [t for v in value for t in tensors_in(v)]
    return []


def _split_batch(value: Any, copies: int) -> list[Any]:
    """Split every tensor in ``value`` into ``copies`` equal parts along dimension 0."""
    if isinstance(value, torch.Tensor):
        if value.dim() == 0 or value.shape[0] % copies:
            raise ValueError(
                "this method stacks copies of the input along the batch dimension, but an output "
                f"of shape {tuple(value.shape)} cannot be split into {copies} copies"
            )
        return list(value.chunk(copies))
    if isinstance(value, Mapping):
        parts = {k: _split_batch(v, copies) for k, v in value.items()}
        return [type(value)({k: p[c] for k, p in parts.items()}) for c in range(copies)]  # type: ignore[call-arg]
    if isinstance(value, tuple | list):
        columns = [_split_batch(v, copies) for v in value]
        return [type(value)(col[c] for col in columns) for c in range(copies)]
    return [value] * copies
