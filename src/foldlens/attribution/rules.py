"""Backward rules for ReLU, applied per operation.

Springenberg et al. 2014, "Striving for Simplicity: The All Convolutional Net", define three ways
to pass a signal ``R`` (the gradient arriving from above) backward through ``y = max(f, 0)``:

=================  ====================================
rule               backward
=================  ====================================
``gradient``       ``R_in = [f > 0] · R``
``deconvnet``      ``R_in = [R > 0] · R``
``guided_backprop``  ``R_in = [f > 0] · [R > 0] · R``
=================  ====================================

``[f > 0]`` is the subgradient that the call's own autograd uses: at ``f = 0`` exactly,
``clamp(min=0)`` passes the whole gradient and ``maximum(f, 0)`` half of it (a tie), so that
``gradient`` equals plain autograd for every spelling, also at the kink (exact zeros are common with
one-hot inputs).

Every rule needs only the forward sign mask, read off the ReLU's output (or kept as a mask), so one
forward pass serves them all: the :class:`RuleSwitch` is read when the backward pass runs, not when
the forward pass ran.

Example
-------
>>> import torch
>>> switch = RuleSwitch("guided_backprop")
>>> f = torch.tensor([-1.0, 2.0, 3.0], requires_grad=True)
>>> y = RuleReLU.apply(f, switch)
>>> torch.autograd.grad(y, f, torch.tensor([5.0, -1.0, 4.0]))[0]
tensor([0., 0., 4.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

BackwardRule = Callable[[Callable[[torch.Tensor], torch.Tensor], torch.Tensor], torch.Tensor]
"""``rule(active, R)``, where ``active(g)`` is ``[f > 0] · g`` for the ReLU call at hand."""
Active = Callable[[torch.Tensor], torch.Tensor]


def gradient_rule(active: Active, grad: torch.Tensor) -> torch.Tensor:
    """Vanilla backpropagation: ``R_in = [f > 0] · R``."""
    return active(grad)


def deconvnet_rule(active: Active, grad: torch.Tensor) -> torch.Tensor:
    """Deconvnet (Zeiler & Fergus 2014): ``R_in = [R > 0] · R``; the forward pass is ignored."""
    return grad.clamp(min=0)


def guided_backprop_rule(active: Active, grad: torch.Tensor) -> torch.Tensor:
    """Guided backpropagation (Springenberg et al. 2014): ``R_in = [f > 0] · [R > 0] · R``."""
    return active(grad.clamp(min=0))


def rescale_rule(active: Active, grad: torch.Tensor) -> torch.Tensor:
    """DeepLIFT's Rescale rule, ``R_in = Δmax(f, 0)/Δf · R``, needs the reference pass and is
    applied by :mod:`foldlens.attribution.reference`; with no difference to the reference it is
    the gradient's, its limit."""
    return active(grad)


def lrp_rule(active: Active, grad: torch.Tensor) -> torch.Tensor:
    """LRP passes relevance through a ReLU unchanged; as ``s = R/z`` (:mod:`.lrp_rules`) that
    is the gradient's ``[f > 0] · s``. Its layers' rules are applied by :mod:`.lrp_mode`."""
    return active(grad)


RULES: dict[str, BackwardRule] = {
    "gradient": gradient_rule,
    "deconvnet": deconvnet_rule,
    "guided_backprop": guided_backprop_rule,
    "rescale": rescale_rule,
    "lrp": lrp_rule,
}


class RuleSwitch:
    """The rule that the ReLUs of one forward pass apply when a backward pass runs through them."""

    def __init__(self, rule: str) -> None:
        self.rule = rule

    @property
    def rule(self) -> str:
        return self._rule

    @rule.setter
    def rule(self, rule: str) -> None:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of {sorted(RULES)}")
        self._rule = rule
        self.backward = RULES[rule]


def _gate(f: torch.Tensor, at_zero: float) -> torch.Tensor:
    """The share of the gradient the call passes at each element: 1 where ``f > 0``,
    ``at_zero`` where ``f = 0``, 0 elsewhere."""
    return f.gt(0).to(f.dtype) + at_zero * f.eq(0).to(f.dtype)


def _active(ctx: Any) -> Active:
    """``g ↦ [f > 0] · g`` from what the forward pass saved: the output, positive exactly where
    ``f > 0``; or, for a call whose autograd passes gradient at ``f = 0`` too, the gate taken
    before the call (:func:`_gate`)."""
    (saved,) = ctx.saved_tensors
    if ctx.at_zero:
        return lambda grad: grad * saved
    return lambda grad: torch.ops.aten.threshold_backward(grad, saved, 0)


class RuleReLU(torch.autograd.Function):
    """``max(f, 0)`` whose backward pass applies ``switch``'s rule.

    ``at_zero`` is the share of the gradient that the call's own autograd passes at ``f = 0``:
    none for ``relu`` and ``threshold``, all for ``clamp(min=0)``, half for ``maximum(f, 0)`` (a
    tie). So the ``gradient`` rule is exactly autograd's for every spelling, and the other rules
    read the same forward gate.
    """

    @staticmethod
    def forward(
        ctx: Any, f: torch.Tensor, switch: RuleSwitch, at_zero: float = 0.0
    ) -> torch.Tensor:
        output = torch.relu(f)
        ctx.at_zero = at_zero
        ctx.save_for_backward(_gate(f, at_zero) if at_zero else output)
        ctx.switch = switch
        return output

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return ctx.switch.backward(_active(ctx), grad), None, None


class RuleReLUInplace(torch.autograd.Function):
    """In-place ``f.relu_()`` whose backward pass applies ``switch``'s rule (``at_zero`` as in
    :class:`RuleReLU`).

    Like PyTorch's own ``relu_``, it keeps the output for the backward pass, so a later in-place
    change of that tensor is an error in both.
    """

    @staticmethod
    def forward(
        ctx: Any, f: torch.Tensor, switch: RuleSwitch, at_zero: float = 0.0
    ) -> torch.Tensor:
        gate = _gate(f, at_zero) if at_zero else None
        f.relu_()
        ctx.mark_dirty(f)
        ctx.at_zero = at_zero
        ctx.save_for_backward(gate if gate is not None else f)
        ctx.switch = switch
        return f

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return ctx.switch.backward(_active(ctx), grad), None, None
