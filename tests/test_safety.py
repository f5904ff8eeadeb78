"""Unsupported activations are named, the model is never changed, threads do not interfere, and
bad input is refused with a clear message."""

from __future__ import annotations

import gc
import math
import threading
import time
import warnings
import weakref
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl
import zoo


class Hidden(nn.Module):
    """Linear → activation → Linear, with the activation written as ``activation``."""

    def __init__(self, activation: Callable[[torch.Tensor], torch.Tensor] | nn.Module) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 8), nn.Linear(8, 3)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation(self.fc1(x)))


class Recurrent(nn.Module):
    def __init__(self, cell: type[nn.Module]) -> None:
        super().__init__()
        self.rnn = cell(6, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(F.relu(out))


UNSUPPORTED = {
    "gelu": lambda: Hidden(nn.GELU()),
    "silu": lambda: Hidden(F.silu),
    "elu": lambda: Hidden(nn.ELU()),
    "softplus": lambda: Hidden(nn.Softplus()),
    "sigmoid": lambda: Hidden(torch.sigmoid),
    "tanh": lambda: Hidden(lambda f: f.tanh()),
    "erf": lambda: Hidden(lambda f: 0.5 * f * (1 + torch.erf(f / math.sqrt(2)))),
    "lstm": lambda: Recurrent(nn.LSTM),
    "gru": lambda: Recurrent(nn.GRU),
}


def _input(name: str) -> torch.Tensor:
    return torch.randn(2, 4, 6) if name in ("lstm", "gru") else torch.randn(2, 6)


def _target(name: str) -> tuple[int, ...]:
    return (1, 2, 1) if name in ("lstm", "gru") else (1, 1)


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported_activation_warns_and_names_it(name: str) -> None:
    net = UNSUPPORTED[name]().eval()
    x = _input(name)
    with pytest.warns(fl.UnsupportedActivationWarning, match=f"no exact rule for {name}") as caught:
        got, report = fl.attribute(
            net, x, _target(name), method="guided_backprop", return_report=True
        )
    assert "plain gradient" in str(caught[0].message)
    assert not report.exact and report.unsupported[0].function == name
    assert got.abs().sum() > 0


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported_activation_strict_raises(name: str) -> None:
    net = UNSUPPORTED[name]().eval()
    with pytest.raises(fl.UnsupportedActivationError, match=name):
        fl.attribute(net, _input(name), _target(name), method="deconvnet", strict=True)
    assert_untouched(net, snapshot(UNSUPPORTED[name]().eval()), compare_parameters=False)


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_gradient_methods_are_exact_for_any_activation(name: str) -> None:
    net = UNSUPPORTED[name]().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, report = fl.attribute(
            net, _input(name), _target(name), method="gradient", strict=True, return_report=True
        )
    assert report.exact


def test_report_names_modules_and_rules() -> None:
    net = zoo.build(zoo.Nested, "nn.ReLU", 0)
    _, report = fl.attribute(
        net, torch.randn(zoo.Nested.input_shape), (0, 1, 3), return_report=True
    )
    assert {(r.function, r.module, r.rule) for r in report.activations} == {
        ("relu", "act.modules_.0", "guided_backprop"),
        ("relu", "act.modules_.1", "guided_backprop"),
        ("relu", "act.modules_.2", "guided_backprop"),
    }
    assert report.exact and "exact" in str(report)


def test_torchscript_is_flagged() -> None:
    net = nn.Sequential(
        torch.jit.script(nn.Sequential(nn.Linear(4, 5), nn.ReLU())), nn.Linear(5, 2)
    )
    with pytest.warns(fl.UnsupportedActivationWarning, match="TorchScript"):
        fl.attribute(net, torch.randn(1, 4), (0, 1), method="guided_backprop")
    with pytest.raises(fl.UnsupportedActivationError, match="TorchScript"):
        fl.attribute(net, torch.randn(1, 4), (0, 1), method="guided_backprop", strict=True)


def snapshot(net: nn.Module) -> dict[str, object]:
    return {
        "modules": [(name, id(module), type(module)) for name, module in net.named_modules()],
        "state": {k: v.clone() for k, v in net.state_dict().items()},
        "training": [m.training for m in net.modules()],
        "requires_grad": [p.requires_grad for p in net.parameters()],
    }


def assert_untouched(
    net: nn.Module, before: dict[str, object], compare_parameters: bool = True
) -> None:
    after = snapshot(net)
    if compare_parameters:
        assert after["modules"] == before["modules"]
        for key, value in before["state"].items():  # type: ignore[attr-defined]
            assert torch.equal(after["state"][key], value)  # type: ignore[index]
    assert (
        after["training"] == before["training"]
        and after["requires_grad"] == before["requires_grad"]
    )
    for module in net.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert not module._backward_hooks and not module._backward_pre_hooks
    for param in net.parameters():
        assert param.grad is None


@pytest.mark.parametrize("method", list(fl.methods()))
def test_model_untouched(method: str) -> None:
    net = zoo.build(zoo.ConvNormPool, "nn.ReLU(inplace)", 0)
    before = snapshot(net)
    with warnings.catch_warnings():  # max pooling: no exact rule for DeepLIFT, and it says so
        warnings.simplefilter("ignore", fl.UnsupportedActivationWarning)
        fl.attribute(
            net,
            torch.randn(zoo.ConvNormPool.input_shape),
            [(0, 1), fl.Neuron("conv2", (1, 2, 3, 3))],
            method=method,
        )
    assert_untouched(net, before)


@pytest.mark.parametrize("method", list(fl.methods()))
def test_buffers_untouched_in_training_mode(method: str) -> None:
    """BatchNorm in training mode moves its running statistics at every forward pass; they are
    given back after the call."""
    net = zoo.build(zoo.ConvNormPool, "nn.ReLU", 0).train()
    before = {name: b.clone() for name, b in net.named_buffers()}
    with warnings.catch_warnings():  # batch statistics: a nonlinearity the rules do not cover
        warnings.simplefilter("ignore", fl.UnsupportedActivationWarning)
        fl.attribute(net, torch.randn(zoo.ConvNormPool.input_shape), (0, 1), method=method)
    for name, buffer in net.named_buffers():
        assert torch.equal(buffer, before[name]), name
    assert net.training


@pytest.mark.parametrize("method", list(fl.methods()))
def test_no_forward_pass_outlives_the_call(method: str) -> None:
    """Every activation of every forward pass is freed once the call returns: a graph kept alive
    by a reference cycle would pile up pass after pass (integrated gradients at 256 steps through
    the default model grew by 0.2 GB a pass)."""
    net = zoo.build(zoo.Residual1d, "nn.ReLU", 0)
    activations: list[weakref.ref[torch.Tensor]] = []
    handles = [
        module.register_forward_hook(lambda m, args, out: activations.append(weakref.ref(out)))
        for module in net.modules()
        if isinstance(module, nn.ReLU)
    ]
    x = torch.randn(zoo.Residual1d.input_shape)
    try:
        fl.attribute(net, x, [(0, 1, 3), fl.Neuron("convs.0", (0, 2, 5))], method=method)
    finally:
        for handle in handles:
            handle.remove()
    gc.collect()
    assert activations, "the test saw no activation"
    alive = sum(ref() is not None for ref in activations)
    assert alive == 0, f"{alive} of {len(activations)} activations outlived the call"


@pytest.mark.parametrize(
    "bad_call",
    [
        lambda net, x: fl.attribute(net, x, (0, 1, 99)),
        lambda net, x: fl.attribute(net, x, fl.Neuron("no.such.module", (0,))),
        lambda net, x: fl.attribute(net, x, fl.Neuron("convs.0", (0, 99, 0))),
        lambda net, x: fl.attribute(net, x, (0, 1, 3), wrt="convs.9"),
    ],
)
def test_model_untouched_when_the_call_raises(bad_call: Callable) -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    before = snapshot(net)
    with pytest.raises(ValueError):
        bad_call(net, torch.randn(zoo.Residual1d.input_shape))
    assert_untouched(net, before)


class Slow(nn.Module):
    """Sleeps between layers so that two threads' forward and backward passes interleave."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = (
            nn.Conv1d(3, 8, 3, padding=1),
            nn.Conv1d(8, 8, 3, padding=1),
            nn.Conv1d(8, 2, 1),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.a(x))
        time.sleep(0.002)
        h = F.relu(self.b(h))
        time.sleep(0.002)
        return self.c(h)


def test_threads_do_not_see_each_others_rules() -> None:
    torch.manual_seed(0)
    net = Slow().eval()
    x = torch.randn(1, 3, 30)
    jobs = {
        "guided_backprop": (0, 1, 10),
        "deconvnet": (0, 1, 10),
        "gradient": (0, 0, 5),
        "integrated_gradients": (0, 1, 12),
    }
    alone = {method: fl.attribute(net, x, target, method=method) for method, target in jobs.items()}
    results: dict[str, list[torch.Tensor]] = {method: [] for method in jobs}
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def work(method: str) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                results[method].append(fl.attribute(net, x, jobs[method], method=method))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(method,)) for method in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for method, maps in results.items():
        for got in maps:
            torch.testing.assert_close(got, alone[method])
    assert not torch.allclose(alone["guided_backprop"], alone["deconvnet"])
    assert_untouched(net, snapshot(net), compare_parameters=False)


class Scalar(nn.Module):
    """A model that returns a Python float."""

    def forward(self, x: torch.Tensor) -> float:
        return float(x.sum())


def test_numpy_integers_and_a_window_tuple_with_the_default_stride() -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    x = torch.randn(zoo.Residual1d.input_shape)
    want = fl.attribute(net, x, (0, 1, 3))
    assert torch.equal(fl.attribute(net, x, (np.int64(0), np.int32(1), np.int64(3))), want)
    assert torch.equal(fl.attribute(net, x, fl.Neuron("head", np.array([0, 1, 3]).tolist())), want)
    tuple_window = fl.attribute(net, x, (0, 1, 3), method="occlusion", window=(5, 3))
    explicit = fl.attribute(net, x, (0, 1, 3), method="occlusion", window=(5, 3), stride=(1, 1))
    assert torch.equal(tuple_window, explicit)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="shapley"),
            ValueError,
            "unknown method 'shapley'.*guided_backprop",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="gradient", steps=3),
            TypeError,
            "gradient has no option steps",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="integrated_gradients", step=3),
            TypeError,
            "options: .*steps",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="integrated_gradients", steps=0),
            ValueError,
            "steps must be a positive int",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="smoothgrad", base="occlusion"),
            ValueError,
            "base must be one of",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="smoothgrad", noise=-1),
            ValueError,
            "noise",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="occlusion", window=(1, 2, 3)),
            ValueError,
            "window",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="occlusion", window=99),
            ValueError,
            "larger than",
        ),
        (
            lambda net, x: fl.attribute(
                net, x, (0, 1, 3), method="integrated_gradients", baseline=torch.zeros(3)
            ),
            ValueError,
            "does not broadcast",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 40)),
            ValueError,
            r"out of range .* shape \(2, 4, 40\)",
        ),
        (lambda net, x: fl.attribute(net, x, (2, 1, 3)), ValueError, "out of range"),
        (lambda net, x: fl.attribute(net, x, (0, 1)), ValueError, "one int per dimension"),
        (lambda net, x: fl.attribute(net, x, "logits"), TypeError, "a target must be"),
        (lambda net, x: fl.attribute(net, x, []), ValueError, "empty"),
        (
            lambda net, x: fl.attribute(net, x, lambda out: out[0]),
            ValueError,
            "exactly one element",
        ),
        (
            lambda net, x: fl.attribute(net, x, fl.Neuron("convz.0", (0, 1, 1))),
            ValueError,
            "no module 'convz.0'.*did you mean.*convs.0",
        ),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), wrt="stem.weight"),
            ValueError,
            "no module",
        ),
        (
            lambda net, x: fl.attribute(net, x.long(), (0, 1, 3)),
            TypeError,
            "cannot carry gradients",
        ),
        (lambda net, x: fl.attribute(net, [x], (0, 1, 3)), TypeError, "x must be a tensor"),
        (lambda net, x: fl.attribute(net.state_dict(), x, (0, 1, 3)), TypeError, "model must be"),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), memory_budget=0),
            ValueError,
            "memory_budget",
        ),
        (lambda net, x: fl.attribute(net, x, (0, 1, 3), wrt="act"), ValueError, "ran 6 times"),
        (
            lambda net, x: fl.attribute(net, x, fl.Neuron("convs.0", (0, 1, 3)), wrt="head"),
            ValueError,
            "does not depend",
        ),
        (lambda net, x: fl.attribute(net, x, lambda out: torch.tensor(1.0)), ValueError, "with"),
        (lambda net, x: fl.attribute(net, x, lambda out: out.argmax()), ValueError, "int64"),
        (lambda net, x: fl.attribute(Scalar(), x, (0,)), ValueError, "returned a float"),
        (lambda net, x: fl.attribute(Scalar(), x, lambda out: out), ValueError, "a float"),
        (lambda net, x: fl.attribute(net, x, (0, True, 3)), TypeError, "booleans are refused"),
        (lambda net, x: fl.attribute(net, x, (0, 1, 3), strict=1), TypeError, "strict must"),
        (lambda net, x: fl.attribute(net, x, (0, 1, 3), packing="no"), TypeError, "packing"),
        (lambda net, x: fl.attribute(net, x, 3, return_report=None), TypeError, "return_report"),
        (
            lambda net, x: fl.attribute(net, x, (0, 1, 3), method="smoothgrad", seed=True),
            ValueError,
            "seed must be an int",
        ),
        (
            lambda net, x: fl.attribute(
                net, x, (0, 1, 3), method="integrated_gradients", baseline=float("nan")
            ),
            ValueError,
            "baseline must be finite",
        ),
        (
            lambda net, x: fl.attribute(
                net, x, (0, 1, 3), method="occlusion", baseline=torch.full_like(x, float("inf"))
            ),
            ValueError,
            "baseline must be finite",
        ),
    ],
)
def test_bad_input_is_refused_clearly(call: Callable, error: type[Exception], message: str) -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    before = snapshot(net)
    with pytest.raises(error, match=message):
        call(net, torch.randn(zoo.Residual1d.input_shape))
    assert_untouched(net, before)
