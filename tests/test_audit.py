"""The allow-list audit: every op on the input's path is a ReLU (rule applied), linear, a product
of two input-dependent tensors (plain gradient by definition), or nonlinear (named; strict
raises). References are twins written here with a hand-written autograd Function."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl
import zoo

RULE_BASED = ["deconvnet", "guided_backprop"]


class Spelled(nn.Module):
    """Linear → ``activation`` → Linear → ``activation`` → Linear."""

    def __init__(self, activation: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.fc1, self.fc2, self.fc3 = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.activation(self.fc1(x))
        return self.fc3(self.activation(self.fc2(h)))  # type: ignore[no-any-return]


def reference(method: str, net: Spelled, x: torch.Tensor, target: tuple[int, int]) -> torch.Tensor:
    """The same weights with :class:`zoo.ReferenceReLU` (the rules written out) as activation."""
    zoo.ReferenceReLU.rule = method
    twin = Spelled(zoo.ReferenceReLU.apply)
    twin.load_state_dict(net.state_dict())
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(twin(leaf)[target], leaf)
    return grad


ZERO = torch.tensor(0.0)
RULED: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "maximum(h, 0)": lambda h: torch.maximum(h, ZERO),
    "max(h, 0)": lambda h: torch.max(h, ZERO),
    "clamp(min=tensor 0)": lambda h: h.clamp(min=ZERO),
    "aten relu": lambda h: torch.ops.aten.relu.default(h),
    "clamp_min(0)": lambda h: torch.clamp_min(h, 0.0),
}


@pytest.mark.parametrize("method", RULE_BASED)
@pytest.mark.parametrize("spelling", list(RULED))
def test_look_alikes_that_can_be_rewritten_get_the_rule(spelling: str, method: str) -> None:
    net = Spelled(RULED[spelling]).eval()
    x = torch.randn(2, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, report = fl.attribute(net, x, (1, 2), method=method, return_report=True)
    assert report.exact and report.activations and report.activations[0].rule == method
    torch.testing.assert_close(got, reference(method, net, x, (1, 2)))


def test_an_exported_graph_gets_the_rule() -> None:
    """``torch.export`` graphs call aten ops, which reach the audit by name."""
    net = Spelled(F.relu).eval()
    x = torch.randn(2, 6)
    exported = torch.export.export(net, (x,)).module()
    got, report = fl.attribute(exported, x, (1, 2), return_report=True)
    assert report.exact and report.activations[0].function == "relu"
    torch.testing.assert_close(got, reference("guided_backprop", net, x, (1, 2)))


def test_maximum_at_a_tie_passes_half_like_autograd() -> None:
    net = Spelled(lambda h: torch.maximum(h, ZERO)).eval()
    with torch.no_grad():
        net.fc1.bias.zero_()
    x = torch.zeros(1, 6)  # every first-layer pre-activation is exactly 0
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(net(leaf)[0, 1], leaf)
    assert torch.equal(fl.attribute(net, x, (0, 1), method="gradient"), want)


FLAGGED: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], str]] = {
    "where(h > 0, h, 0)": (lambda h: torch.where(h > 0, h, 0.0), "gt"),
    "h * (h > 0)": (lambda h: h * (h > 0), "gt"),
    "masked_fill(h < 0)": (lambda h: h.masked_fill(h < 0, 0.0), "lt"),
    "clamp(0, 6)": (lambda h: h.clamp(min=0, max=6), "clamp"),
    "exp": (lambda h: h.exp(), "exp"),
    "layer norm": (lambda h: F.layer_norm(h, h.shape[-1:]), "layer_norm"),
    "division by data": (lambda h: h / (1 + h.abs()), "abs"),
}


@pytest.mark.parametrize("spelling", list(FLAGGED))
def test_other_nonlinearities_are_named(spelling: str) -> None:
    activation, name = FLAGGED[spelling]
    net = Spelled(activation).eval()
    x = torch.randn(2, 6)
    with pytest.warns(fl.UnsupportedActivationWarning, match=f"no exact rule for {name}"):
        _, report = fl.attribute(net, x, (1, 2), return_report=True)
    assert not report.exact
    with pytest.raises(fl.UnsupportedActivationError, match=name):
        fl.attribute(net, x, (1, 2), strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the gradient needs no rule: exact, no warning
        fl.attribute(net, x, (1, 2), method="gradient", strict=True)


class CustomReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, f: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(f)
        return f.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (f,) = ctx.saved_tensors
        return grad * (f > 0)


@torch.jit.script
def scripted_relu(f: torch.Tensor) -> torch.Tensor:
    return torch.relu(f)


def _hidden_relu(f: torch.Tensor) -> torch.Tensor:
    with torch._C.DisableTorchFunction():
        return torch.relu(f)


OUT_OF_SIGHT = {
    "custom autograd.Function": CustomReLU.apply,
    "TorchScript function": scripted_relu,
    "torch functions disabled": _hidden_relu,
}


@pytest.mark.parametrize("spelling", list(OUT_OF_SIGHT))
def test_relus_out_of_sight_are_named(spelling: str) -> None:
    net = Spelled(OUT_OF_SIGHT[spelling]).eval()
    with pytest.warns(fl.UnsupportedActivationWarning, match="out of the audit's sight"):
        fl.attribute(net, torch.randn(2, 6), (1, 2), method="guided_backprop")


class Gated(nn.Module):
    """A gate: the product of two tensors computed from the input, and a ReLU trunk."""

    def __init__(self, relu: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        torch.manual_seed(8)
        self.a, self.b, self.out = nn.Linear(6, 8), nn.Linear(6, 8), nn.Linear(8, 3)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.relu(self.a(x)) * self.b(x))  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", RULE_BASED)
def test_products_pass_the_plain_gradient_and_are_listed(method: str) -> None:
    net = Gated(F.relu).eval()
    x = torch.randn(2, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, report = fl.attribute(net, x, (0, 1), method=method, return_report=True)
    assert report.exact and report.operations["product"] == {"mul": 1}
    assert {"linear", "add"} & set(report.operations["linear"])
    zoo.ReferenceReLU.rule = method
    twin = Gated(zoo.ReferenceReLU.apply)
    twin.load_state_dict(net.state_dict())
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(twin(leaf)[0, 1], leaf)
    torch.testing.assert_close(got, want)
    assert "product: mul ×1" in str(report)
