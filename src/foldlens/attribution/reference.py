"""DeepLIFT's rules (Shrikumar et al. 2017), which compare every operation with its value on a
reference input: the reference pass records what they need, in call order, and the input's pass
reads it back.

For an input ``z``, a reference ``z0`` and a target ``y``, DeepLIFT backpropagates *multipliers*
``m = Δout / Δin`` instead of derivatives, and attributes ``(z - z0) ⊙ m``. Linear operations keep
their derivative (``Δ(Wx) = W Δx`` exactly). The rules here cover the rest of a ReLU network:

- **Rescale** for ``y = max(f, 0)``: ``m = (max(f, 0) - max(f0, 0)) / (f - f0)``, and the
  derivative ``[f > 0]`` where ``f = f0`` (its limit); the same secant ``Δg/Δf`` for any other
  elementwise function ``g`` (sigmoid, tanh, GELU, leaky ReLU, ...), where the derivative at the
  midpoint stands in for a smooth ``g`` over differences too small for floating point to divide
  (``|Δf| ≤ ε^⅓ (1 + |f|)``, ε the dtype's precision: there its error, ``g'''·Δf³/24``, is
  below the secant's rounding);
- **quotients** ``a / b`` of computed tensors: the product rule for ``a · (1/b)`` with
  ``Δ(1/b) = -Δb / (b b0)``;
- **softmax** ``s = E / D`` with ``E = exp(z - c)``, ``D = Σ E`` (``c`` one shift for both
  passes): Rescale for ``exp``, the product rule below for ``E · (1/D)`` and
  ``Δ(1/D) = -ΔD / (D D0)``, so ``Δs_b = r_b Δz_b (1/D + 1/D0)/2 - (E_b + E0_b)/2 · Σ_k r_k Δz_k
  / (D D0)`` with ``r = ΔE/Δz``; log-softmax ``z - c - log D`` the same way, with Rescale for
  ``log``;
- **products** of two tensors computed from the input, ``c = B(a, b)`` with ``B`` bilinear
  (``mul``, ``matmul``, ``einsum`` of two operands, ...):
  ``B(a, b) - B(a0, b0) = B(Δa, (b + b0)/2) + B((a + a0)/2, Δb)`` exactly, so ``a`` passes back
  through ``B(·, (b + b0)/2)`` and ``b`` through ``B((a + a0)/2, ·)``.

Each step's multipliers reproduce its output difference exactly, so the attribution sums to the
difference of the target (summation-to-delta): ``Σ (z - z0) ⊙ m = y(z) - y(z0)``, up to the
rounding of floating point, on any network made of linear operations, elementwise functions,
softmax and products of two.

Example
-------
>>> import torch
>>> f, f0 = torch.tensor([-1.0, 2.0, 3.0], requires_grad=True), torch.tensor([1.0, 2.0, -1.0])
>>> y = Multiplied.apply(f, rescale_multiplier(f.detach(), f0), lambda: torch.relu(f), False)
>>> torch.autograd.grad(y, f, torch.ones(3))[0]  # (0-1)/(-1-1), [2 > 0], (3-0)/(3+1)
tensor([0.5000, 1.0000, 0.7500])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .activations import ElementwiseCall, flat_call


def rescale_multiplier(f: torch.Tensor, f0: torch.Tensor) -> torch.Tensor:
    """``(relu(f) - relu(f0)) / (f - f0)``, and ``[f > 0]`` where ``f = f0``. Always in
    ``[0, 1]``: ``|relu(f) - relu(f0)| ≤ |f - f0|``, so no small ``f - f0`` blows it up."""
    delta = f - f0
    same = delta == 0
    ratio = (torch.relu(f) - torch.relu(f0)) / torch.where(same, torch.ones_like(delta), delta)
    return torch.where(same, f.gt(0).to(f.dtype), ratio)


def secant_multiplier(
    g: Callable[[torch.Tensor], torch.Tensor], f: torch.Tensor, f0: torch.Tensor, kinked: bool
) -> torch.Tensor:
    """``(g(f) - g(f0)) / (f - f0)`` for an elementwise ``g``; where ``f = f0``, or for a smooth
    ``g`` where ``|f - f0| ≤ ε^⅓ (1 + |f|)``, the derivative of ``g`` at ``(f + f0)/2``."""
    delta = f - f0
    if kinked:
        close = delta == 0
    else:
        eps = torch.finfo(f.dtype).eps if f.is_floating_point() else 0.0
        close = delta.abs() <= eps ** (1 / 3) * (1 + f.abs())
    ratio = (g(f.clone()) - g(f0.clone())) / torch.where(close, torch.ones_like(delta), delta)
    if not bool(close.any()):
        return ratio
    with torch.enable_grad():
        middle = ((f + f0) / 2).requires_grad_(True)
        (slope,) = torch.autograd.grad(g(middle.clone()).sum(), middle)
    return torch.where(close, slope, ratio)


class Multiplied(torch.autograd.Function):
    """``compute()``, an elementwise function of ``f`` (in place when ``inplace``), whose
    backward pass multiplies by ``multiplier``."""

    @staticmethod
    def forward(
        ctx: Any,
        f: torch.Tensor,
        multiplier: torch.Tensor,
        compute: Callable[[], torch.Tensor],
        inplace: bool,
    ) -> torch.Tensor:
        ctx.save_for_backward(multiplier)
        out = compute()
        if inplace:
            ctx.mark_dirty(f)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (multiplier,) = ctx.saved_tensors
        return grad * multiplier, None, None, None


class SoftmaxDifference(torch.autograd.Function):
    """``compute()``, the softmax (``log``: log-softmax) of ``z`` along ``dim``, whose backward
    pass applies the exact DeepLIFT multipliers against the reference ``z0`` (module docstring),
    computed in float64 with one shift ``c = max(z, z0)`` along ``dim`` for both."""

    @staticmethod
    def forward(
        ctx: Any,
        z: torch.Tensor,
        z0: torch.Tensor,
        dim: int,
        log: bool,
        compute: Callable[[], torch.Tensor],
    ) -> torch.Tensor:
        a, a0 = z.detach().double(), z0.double()
        shift = torch.maximum(a.amax(dim, keepdim=True), a0.amax(dim, keepdim=True))
        e, e0 = (a - shift).exp(), (a0 - shift).exp()
        d, d0 = e.sum(dim, keepdim=True), e0.sum(dim, keepdim=True)
        delta = a - a0
        same = delta == 0
        # r = ΔE/Δz = E0 (exp(Δz) - 1)/Δz, without cancellation; E0 where Δz = 0
        r = e0 * torch.where(same, 1.0, delta.expm1() / torch.where(same, 1.0, delta))
        if log:
            dd = d - d0
            flat = dd == 0
            q = torch.where(flat, 1 / d, (d.log() - d0.log()) / torch.where(flat, 1.0, dd))
            ctx.save_for_backward(r * q)
        else:
            ctx.save_for_backward(r, (1 / d + 1 / d0) / 2, (e + e0) / 2 / (d * d0))
        ctx.dim, ctx.log = dim, log
        return compute()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        g = grad.double()
        if ctx.log:
            (rq,) = ctx.saved_tensors
            out = g - rq * g.sum(ctx.dim, keepdim=True)
        else:
            r, inverse, mean_share = ctx.saved_tensors
            out = r * (g * inverse - (g * mean_share).sum(ctx.dim, keepdim=True))
        return out.to(grad.dtype), None, None, None, None


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
        f0 = self._reference_of(f, compute)
        if f0 is None:
            return compute()
        return Multiplied.apply(f, rescale_multiplier(f.detach(), f0), compute, inplace)  # type: ignore[no-untyped-call]

    def elementwise(
        self,
        f: torch.Tensor,
        g: Callable[[torch.Tensor], torch.Tensor],
        call: ElementwiseCall,
        compute: Callable[[], Any],
    ) -> Any:
        """An elementwise function ``g`` of ``f`` (``compute()`` applies it to ``f`` itself):
        on the reference, computed with ``f`` kept; on the input, the secant rule."""
        f0 = self._reference_of(f, compute)
        if f0 is None:
            return compute()
        multiplier = secant_multiplier(g, f.detach(), f0, call.kinked)
        return Multiplied.apply(f, multiplier, compute, call.inplace)  # type: ignore[no-untyped-call]

    def softmax(self, z: torch.Tensor, dim: int, log: bool, compute: Callable[[], Any]) -> Any:
        """A softmax (``log``: log-softmax) of ``z`` along ``dim``: on the reference, computed
        with ``z`` kept; on the input, the exact softmax rule."""
        z0 = self._reference_of(z, compute)
        if z0 is None:
            return compute()
        return SoftmaxDifference.apply(z, z0, dim, log, compute)  # type: ignore[no-untyped-call]

    def quotient(self, a: torch.Tensor | float, b: torch.Tensor, compute: Callable[[], Any]) -> Any:
        """``a / b`` for a divisor ``b`` computed from the input (``compute()`` divides): on the
        reference, computed with both kept; on the input, ``a`` passes back through
        ``(1/b + 1/b0)/2`` and ``b`` through ``-(a + a0)/2 / (b b0)``."""
        a_now = a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=b.dtype)
        if self.recording:
            self._values.append((a_now.detach().clone(), b.detach().clone()))
            return compute()
        a0, b0 = self._next([a_now, b])
        value = compute().detach()
        a_mean, b_now = (a_now.detach() + a0) / 2, b.detach()
        terms = [b * (-a_mean / (b_now * b0))]
        if a_now.requires_grad:
            terms.append(a_now * ((1 / b_now + 1 / b0) / 2))
        # The value itself, carrying the terms' gradients: term - term.detach() is 0.
        return sum((term - term.detach() for term in terms), value)

    def _reference_of(self, f: torch.Tensor, compute: Callable[[], Any]) -> torch.Tensor | None:
        """On the reference pass, keep ``f`` (before ``compute`` may change it in place) and
        return ``None``; on the input's pass, the value kept at this call."""
        if self.recording:
            self._values.append((f.detach().clone(),))
            return None
        (f0,) = self._next([f])
        return f0

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
        flat, call = flat_call(func, args, kwargs)
        now = [flat[k] for k in operands]
        if self.recording:
            self._values.append(tuple(t.detach().clone() for t in now))
            return func(*args, **kwargs)
        before = self._next(now)
        means = [((t.detach() + t0) / 2) for t, t0 in zip(now, before, strict=True)]

        def with_live(k: int) -> Any:
            values = list(flat)
            for j, position in enumerate(operands):
                values[position] = now[j] if j == k else means[j]
            return call(values)

        value = call(flat).detach()
        # The value itself, carrying the two terms' gradients: term - term.detach() is 0.
        return sum((term - term.detach() for term in map(with_live, range(2))), value)
