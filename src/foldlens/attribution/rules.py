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

A fourth rule, ``pass`` (``R_in = R``), lets every signal through; it is used to probe which
elements a target can reach at all, whatever rule is applied later.

Every rule needs only the forward sign mask ``[f > 0]``, read off the ReLU's output, so one
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

BackwardRule = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _where_active(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``[f > 0] · grad``, read off the ReLU's output (``max(f, 0) > 0`` exactly when ``f > 0``)."""
    active: torch.Tensor = torch.ops.aten.threshold_backward(grad, output, 0)
    return active


def gradient_rule(output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Vanilla backpropagation: ``R_in = [f > 0] · R``."""
    return _where_active(grad, output)


def deconvnet_rule(output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Deconvnet (Zeiler & Fergus 2014): ``R_in = [R > 0] · R``; the forward pass is ignored."""
    return grad.clamp(min=0)


def guided_backprop_rule(output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Guided backpropagation (Springenberg et al. 2014): ``R_in = [f > 0] · [R > 0] · R``."""
    return _where_active(grad.clamp(min=0), output)


def pass_rule(output: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Pass everything: ``R_in = R``; its support contains the support of every other rule."""
    return grad


RULES: dict[str, BackwardRule] = {
    "gradient": gradient_rule,
    "deconvnet": deconvnet_rule,
    "guided_backprop": guided_backprop_rule,
    "pass": pass_rule,
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


class RuleReLU(torch.autograd.Function):
    """``max(f, 0)`` whose backward pass applies ``switch``'s rule."""

    @staticmethod
    def forward(ctx: Any, f: torch.Tensor, switch: RuleSwitch) -> torch.Tensor:
        output = torch.relu(f)
        ctx.save_for_backward(output)
        ctx.switch = switch
        return output

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (output,) = ctx.saved_tensors
        return ctx.switch.backward(output, grad), None


class RuleReLUInplace(torch.autograd.Function):
    """In-place ``f.relu_()`` whose backward pass applies ``switch``'s rule.

    Like PyTorch's own ``relu_``, it keeps the output for the backward pass, so a later in-place
    change of that tensor is an error in both.
    """

    @staticmethod
    def forward(ctx: Any, f: torch.Tensor, switch: RuleSwitch) -> torch.Tensor:
        f.relu_()
        ctx.mark_dirty(f)
        ctx.save_for_backward(f)
        ctx.switch = switch
        return f

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (output,) = ctx.saved_tensors
        return ctx.switch.backward(output, grad), None
