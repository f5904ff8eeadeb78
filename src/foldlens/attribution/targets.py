"""What to explain: an output element, an internal unit, or any scalar function of the output.

A target is one of

- a tuple index into the model output, batch dimension included, e.g. ``(0, 12, 2)``; when the
  model returns a tuple, list or dict, the first entry picks the output (position or key), e.g.
  ``("ss8", 0, 12, 2)``;
- :class:`Neuron` ``("module.path", index)``: an element of that module's output;
- a callable ``output -> scalar tensor`` (softmax probabilities, a sigmoid, an expected distance:
  transforms applied here stay outside the rules);

or a list of these, computed together.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import torch


@dataclass(frozen=True)
class Neuron:
    """One element of an internal module's output (batch dimension included).

    ``call`` picks the k-th call (from 0) of a module that runs several times in one forward pass.

    Example
    -------
    >>> Neuron("trunk.3.conv", (0, 17, 40))
    Neuron(module='trunk.3.conv', index=(0, 17, 40), call=None)
    """

    module: str
    index: tuple[int | str, ...]
    call: int | None = None

    def __init__(self, module: str, index: int | Sequence[int | str], call: int | None = None):
        if isinstance(call, bool):
            raise TypeError(f"Neuron call must be a non-negative int, got {call!r}")
        if not isinstance(module, str):
            raise TypeError(f"Neuron module must be a dotted path string, got {module!r}")
        if call is not None and (not isinstance(call, int) or call < 0):
            raise ValueError(f"Neuron call must be a non-negative int, got {call!r}")
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "index", _as_index(index))
        object.__setattr__(self, "call", call)


@dataclass(frozen=True)
class PerRow:
    """One target per batch row (Captum's list of targets): row ``b`` of the map is the
    attribution of ``indices[b]`` in row ``b`` of the output, and the result has the input's shape.

    Each index leaves out the batch dimension (``3`` or ``(3,)`` for ``output[b, 3]``; ``()`` for
    an output of shape ``(batch,)``); ``output`` picks the output of a model returning a tuple,
    list or dict. ``indices`` may also be an integer tensor or array (a label per row). Each row's
    map comes from its own backward seed, so rows never mix, also in a model whose rows interact.

    Example
    -------
    >>> PerRow([3, 1]).targets()
    [(0, 3), (1, 1)]
    """

    indices: tuple[tuple[int | str, ...], ...]
    output: int | str | None = None

    def __init__(self, indices: Any, output: int | str | None = None) -> None:
        if isinstance(indices, torch.Tensor | np.ndarray):
            indices = indices.tolist()
        if not isinstance(indices, Sequence) or isinstance(indices, str) or not indices:
            raise TypeError(
                f"PerRow takes a non-empty list of indices, one per row, got {indices!r}"
            )
        if output is not None and _entry(output) is None:
            raise TypeError(f"PerRow output must be a position or a key, got {output!r}")
        rows = tuple(() if i in ((), []) else _as_index(i) for i in indices)
        object.__setattr__(self, "indices", rows)
        object.__setattr__(self, "output", None if output is None else _entry(output))

    def targets(self) -> list[tuple[int | str, ...]]:
        """The full index of each row's target, batch position included."""
        prefix = () if self.output is None else (self.output,)
        return [(*prefix, row, *index) for row, index in enumerate(self.indices)]


Target: TypeAlias = tuple[int | str, ...] | Neuron | Callable[[Any], torch.Tensor]


def _entry(value: Any) -> int | str | None:
    """An index entry: an integer of any kind (``numpy.int64`` too) or a key; ``None`` for
    anything else, booleans included (``True`` would silently mean 1)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, torch.Tensor) and value.dim() == 0 and not value.is_floating_point():
        return None if value.dtype == torch.bool else int(value)
    return value if isinstance(value, str) else None


def _as_index(index: Any) -> tuple[int | str, ...]:
    entries = [_entry(index)] if not isinstance(index, tuple | list) else [_entry(i) for i in index]
    if entries and all(e is not None for e in entries):
        return tuple(e for e in entries if e is not None)
    raise TypeError(
        f"an index must be an int or a tuple of ints (and keys); booleans are refused; "
        f"got {index!r}"
    )


def normalize_targets(target: Any) -> tuple[list[Target], bool]:
    """Return the targets as a list, and whether a single target (not a list) was given."""
    if isinstance(target, PerRow):
        return list(target.targets()), False
    if isinstance(target, list):
        if not target:
            raise ValueError("the target list is empty")
        return [_one_target(t) for t in target], False
    return [_one_target(target)], True


def _one_target(target: Any) -> Target:
    if isinstance(target, Neuron) or callable(target):
        return target  # type: ignore[no-any-return]
    if isinstance(target, tuple) or isinstance(_entry(target), int):
        return _as_index(target)
    raise TypeError(
        f"a target must be a tuple index into the output, foldlens.Neuron(path, index), "
        f"a callable output -> scalar, or a list of these; got {target!r}"
    )


def select(
    value: Any, index: tuple[int | str, ...], what: str
) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Resolve ``index`` into ``value`` (a tensor, or a tuple/list/dict of tensors).

    Returns the tensor and the element index within it, with negative indices made positive.
    Raises a ``ValueError`` naming the valid range when the index does not fit.
    """
    if isinstance(value, Mapping):
        if not index or index[0] not in value:
            raise ValueError(
                f"{what} is a dict; the index must start with one of {list(value)}, got {index}"
            )
        return select(value[index[0]], index[1:], f"{what}[{index[0]!r}]")
    if isinstance(value, tuple | list):
        if not index or not isinstance(index[0], int) or not -len(value) <= index[0] < len(value):
            raise ValueError(
                f"{what} is a sequence of {len(value)} outputs; the index must start with its "
                f"position, got {index}"
            )
        return select(value[index[0]], index[1:], f"{what}[{index[0]}]")
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{what} is a {type(value).__name__}, not a tensor")
    if len(index) != value.dim() or not all(isinstance(i, int) for i in index):
        raise ValueError(
            f"index {index} must address one element of {what}, which has shape "
            f"{tuple(value.shape)}; give one int per dimension (batch included), or a callable "
            "to reduce it"
        )
    element = []
    for axis, (i, size) in enumerate(zip(index, value.shape, strict=True)):
        assert isinstance(i, int)
        if not -size <= i < size:
            raise ValueError(
                f"index {index} is out of range for {what} of shape {tuple(value.shape)} "
                f"(axis {axis} has {size} entries)"
            )
        element.append(i % size)
    return value, tuple(element)
