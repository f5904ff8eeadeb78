"""DeepLIFT's rules (Shrikumar et al. 2017), which compare every operation with its value on a
reference input: the reference pass records what they need, in call order, and the input's pass
reads it back.

For an input ``z``, a reference ``z0`` and a target ``y``, DeepLIFT backpropagates *multipliers*
``m = Δout / Δin`` instead of derivatives, and attributes ``(z - z0) ⊙ m``. Linear operations keep
their derivative (``Δ(Wx) = W Δx`` exactly). The rules here cover the rest of a ReLU network:

- **Rescale** for ``y = max(f, 0)``: ``m = (max(f, 0) - max(f0, 0)) / (f - f0)``, and the
  derivative ``[f > 0]`` where ``f = f0`` (its limit);
- **products** of two tensors computed from the input, ``c = B(a, b)`` with ``B`` bilinear
  (``mul``, ``matmul``, ``einsum`` of two operands, ...):
  ``B(a, b) - B(a0, b0) = B(Δa, (b + b0)/2) + B((a + a0)/2, Δb)`` exactly, so ``a`` passes back
  through ``B(·, (b + b0)/2)`` and ``b`` through ``B((a + a0)/2, ·)``.

Each step's multipliers reproduce its output difference exactly, so the attribution sums to the
difference of the target (summation-to-delta): ``Σ (z - z0) ⊙ m = y(z) - y(z0)``, up to the
rounding of floating point, on any network made of linear operations, ReLUs and products of two.

Example
-------
>>> import torch
>>> f = torch.tensor([-1.0, 2.0, 3.0], requires_grad=True)
>>> y = RescaleReLU.apply(f, torch.tensor([1.0, 2.0, -1.0]), False)
>>> torch.autograd.grad(y, f, torch.ones(3))[0]  # (0-1)/(-1-1), [2 > 0], (3-0)/(3+1)
tensor([0.5000, 1.0000, 0.7500])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch


def rescale_multiplier(f: torch.Tensor, f0: torch.Tensor) -> torch.Tensor:
    """``(relu(f) - relu(f0)) / (f - f0)``, and ``[f > 0]`` where ``f = f0``. Always in
    ``[0, 1]``: ``|relu(f) - relu(f0)| ≤ |f - f0|``, so no small ``f - f0`` blows it up."""
    delta = f - f0
    same = delta == 0
    ratio = (torch.relu(f) - torch.relu(f0)) / torch.where(same, torch.ones_like(delta), delta)
    return torch.where(same, f.gt(0).to(f.dtype), ratio)


class RescaleReLU(torch.autograd.Function):
    """``max(f, 0)`` (in place when ``inplace``) whose backward pass multiplies by the Rescale
    multiplier against the reference pre-activation ``f0``."""

    @staticmethod
    def forward(ctx: Any, f: torch.Tensor, f0: torch.Tensor, inplace: bool) -> torch.Tensor:
        ctx.save_for_backward(rescale_multiplier(f.detach(), f0))
        if not inplace:
            return torch.relu(f)
        f.relu_()
        ctx.mark_dirty(f)
        return f

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (multiplier,) = ctx.saved_tensors
        return grad * multiplier, None, None


class ReferenceMismatchError(ValueError):
    """The input's pass did not make the calls the reference pass made."""


class ReferenceTape:
    """What DeepLIFT's rules need from the reference pass, in call order.

    While ``recording``, :meth:`relu` and :meth:`product` compute as usual and keep the reference
    values (ReLU inputs, product operands); afterwards (:meth:`replay`) the same calls, in the
    same order, read them back and attach the rules.
    """

    def __init__(self) -> None:
        self.recording = True
        self._values: list[tuple[torch.Tensor, ...]] = []
        self._position = 0

    def replay(self) -> None:
        """Switch from recording the reference pass to the input's pass."""
        self.recording = False
        self._position = 0

    def finish(self) -> None:
        """Check that the input's pass read every recorded call."""
        if self._position != len(self._values):
            raise ReferenceMismatchError(
                f"the reference input made {len(self._values)} ReLU and product calls, the input "
                f"{self._position}: DeepLIFT needs one path through the model for both"
            )

    def _next(self, now: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if self._position >= len(self._values):
            raise ReferenceMismatchError(
                "the input made more ReLU and product calls than the reference input: DeepLIFT "
                "needs one path through the model for both"
            )
        recorded = self._values[self._position]
        self._position += 1
        shapes = [tuple(t.shape) for t in now]
        if [tuple(t.shape) for t in recorded] != shapes:
            raise ReferenceMismatchError(
                f"call {self._position} sees shapes {shapes} on the input and "
                f"{[tuple(t.shape) for t in recorded]} on the reference"
            )
        return recorded

    def relu(self, f: torch.Tensor, inplace: bool, compute: Callable[[], Any]) -> Any:
        """A ReLU call: on the reference, ``compute()`` with ``f`` kept; on the input, Rescale."""
        if self.recording:
            self._values.append((f.detach().clone(),))
            return compute()
        (f0,) = self._next([f])
        return RescaleReLU.apply(f, f0, inplace)  # type: ignore[no-untyped-call]

    def product(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        operands: Sequence[int],
    ) -> Any:
        """A call bilinear in its two arguments at positions ``operands`` (into ``args`` then
        ``kwargs``' values): on the reference, computed with them kept; on the input, the value
        ``B(a, b)`` whose backward pass sends ``a`` through ``B(·, (b+b0)/2)`` and ``b``
        through ``B((a+a0)/2, ·)``."""
        keys = list(kwargs)
        flat = [*args, *kwargs.values()]
        now = [flat[k] for k in operands]
        if self.recording:
            self._values.append(tuple(t.detach().clone() for t in now))
            return func(*args, **kwargs)
        before = self._next(now)
        means = [((t.detach() + t0) / 2) for t, t0 in zip(now, before, strict=True)]

        def call(values: list[Any]) -> Any:
            return func(*values[: len(args)], **dict(zip(keys, values[len(args) :], strict=True)))

        def with_live(k: int) -> Any:
            values = list(flat)
            for j, position in enumerate(operands):
                values[position] = now[j] if j == k else means[j]
            return call(values)

        value = call(flat).detach()
        # The value itself, carrying the two terms' gradients: term - term.detach() is 0.
        return sum((term - term.detach() for term in map(with_live, range(2))), value)
