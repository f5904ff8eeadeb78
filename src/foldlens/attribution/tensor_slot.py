"""Find the torch call that produced a tensor, and substitute its result in later passes.

``wrt_tensor="module.path"`` attributes to the tensor that enters a module, with the *total*
derivative: every consumer of that tensor (a skip path too) must see the attributed leaf. A
forward hook can only change what the module itself receives, so :class:`CallCounter` numbers the
torch calls of a forward pass instead. One locating pass records which call returned each tensor;
the module's pre-hook looks up the call that returned its input. Later passes replace that call's
result with the leaf, so everything downstream of it reads the leaf. The module's pre-hook then
checks that it received exactly the substituted tensor: a model whose calls change from pass to
pass, or whose tensor was rewritten in place after the call, is refused, never mis-attributed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.overrides import TorchFunctionMode


@dataclass(frozen=True)
class CallSite:
    """The ``call``-th torch call of a forward pass (from 1); ``position`` picks the tensor in a
    tuple or list result (``None`` for a tensor result)."""

    call: int
    position: int | None


class CallCounter(TorchFunctionMode):
    """Number the torch calls of one forward pass.

    With ``substitute_at`` and ``substitute``, the tensor that call returns is replaced by
    ``substitute(tensor)``. With ``record=True``, every tensor a call returns is remembered
    (weakly) with its call site, for :meth:`site_of`.
    """

    def __init__(
        self,
        substitute_at: CallSite | None = None,
        substitute: Callable[[torch.Tensor], torch.Tensor] | None = None,
        record: bool = False,
    ) -> None:
        super().__init__()
        self.calls = 0
        self._at = substitute_at
        self._substitute = substitute
        self._record = record
        self._sites: dict[int, tuple[CallSite, weakref.ref[torch.Tensor]]] = {}

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Sequence[type],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        result = func(*args, **(kwargs or {}))
        self.calls += 1
        if self._record:
            for site, tensor in _tensors(result, self.calls):
                self._sites[id(tensor)] = (site, weakref.ref(tensor))
        if self._at is not None and self._at.call == self.calls:
            assert self._substitute is not None
            result = _replaced(result, self._at.position, self._substitute)
        return result

    def site_of(self, tensor: torch.Tensor) -> CallSite | None:
        """The call that returned ``tensor`` in this pass (``None`` if no recorded call did)."""
        found = self._sites.get(id(tensor))
        if found is None or found[1]() is not tensor:
            return None
        return found[0]


def _tensors(result: Any, call: int) -> list[tuple[CallSite, torch.Tensor]]:
    if isinstance(result, torch.Tensor):
        return [(CallSite(call, None), result)]
    if isinstance(result, tuple | list):
        return [
            (CallSite(call, k), item)
            for k, item in enumerate(result)
            if isinstance(item, torch.Tensor)
        ]
    return []


def _replaced(
    result: Any, position: int | None, substitute: Callable[[torch.Tensor], torch.Tensor]
) -> Any:
    if position is None:
        if not isinstance(result, torch.Tensor):
            raise ValueError("wrt_tensor: the model's operations changed between passes")
        return substitute(result)
    if not isinstance(result, tuple | list) or position >= len(result):
        raise ValueError("wrt_tensor: the model's operations changed between passes")
    items = list(result)
    items[position] = substitute(items[position])
    return type(result)(items) if not hasattr(result, "_fields") else type(result)(*items)
