"""Targets: output indices, internal neurons, callables, lists (batched and packed), wrt= layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl
import zoo


def per_target(
    net: nn.Module, x: torch.Tensor, targets: list, method: str, **options: object
) -> torch.Tensor:
    return torch.stack([fl.attribute(net, x, t, method=method, **options) for t in targets])


@pytest.mark.parametrize("method", ["gradient", "deconvnet", "guided_backprop", "input_x_gradient"])
@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_list_equals_per_target(architecture: type[nn.Module], method: str) -> None:
    net = zoo.build(architecture, "Tensor.relu", 0)
    x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
    targets = zoo.random_targets(zoo.output_shape(net, x), 12, 0)
    got = fl.attribute(net, x, targets, method=method)
    torch.testing.assert_close(got, per_target(net, x, targets, method), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "method", ["guided_backprop", "integrated_gradients", "smoothgrad", "occlusion"]
)
def test_list_in_small_memory_chunks(method: str) -> None:
    """A tiny memory budget splits the work into many passes and changes nothing."""
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    x = torch.randn(zoo.Residual1d.input_shape)
    targets = [(0, 1, 3), (1, 2, 30), (0, 0, 39)]
    options = {
        "integrated_gradients": {"steps": 8},
        "smoothgrad": {"samples": 4},
        "occlusion": {"window": 3},
    }
    large = fl.attribute(net, x, targets, method=method, **options.get(method, {}))
    small, report = fl.attribute(
        net,
        x,
        targets,
        method=method,
        memory_budget=1,
        return_report=True,
        **options.get(method, {}),
    )
    torch.testing.assert_close(small, large, rtol=1e-5, atol=1e-6)
    assert report.forward_passes + report.backward_passes >= 4


def test_neuron_targets() -> None:
    net = zoo.build(zoo.Nested, "nn.ReLU", 0)
    reference = zoo.build(zoo.Nested, "reference", 0)
    reference.load_state_dict(net.state_dict())
    x = torch.randn(zoo.Nested.input_shape)
    zoo.ReferenceReLU.rule = "guided_backprop"
    leaf = x.clone().requires_grad_(True)
    unit = reference.parts["blocks"][1](zoo.ReferenceReLU.apply(reference.parts["blocks"][0](leaf)))
    (want,) = torch.autograd.grad(unit[0, 4, 7], leaf)
    got = fl.attribute(net, x, fl.Neuron("parts.blocks.1", (0, 4, 7)), method="guided_backprop")
    torch.testing.assert_close(got, want)
    # The same unit through its Sequential's only child.
    got = fl.attribute(net, x, fl.Neuron("parts.blocks.1.0", (0, 4, 7)), method="guided_backprop")
    torch.testing.assert_close(got, want)


def test_neuron_of_a_reused_module() -> None:
    net = zoo.build(zoo.MLP, "nn.ReLU reused", 0)
    x = torch.randn(zoo.MLP.input_shape)
    with pytest.raises(ValueError, match=r"ran 2 times.*call=k"):
        fl.attribute(net, x, fl.Neuron("act.shared", (0, 3)))
    leaf = x.clone().requires_grad_(True)
    second = F.relu(net.fc2(F.relu(net.fc1(leaf))))
    (want,) = torch.autograd.grad(second[0, 3], leaf)
    got = fl.attribute(net, x, fl.Neuron("act.shared", (0, 3), call=1), method="gradient")
    torch.testing.assert_close(got, want)


def test_neuron_read_before_an_inplace_relu() -> None:
    """A unit whose tensor a later in-place ReLU overwrites is still the pre-activation."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(inplace=True), nn.Linear(8, 2))
    x = torch.randn(3, 6)
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(net[0](leaf)[1, 5], leaf)
    got = fl.attribute(net, x, fl.Neuron("0", (1, 5)), method="guided_backprop")
    torch.testing.assert_close(got, want)


def test_callable_targets_stay_outside_the_rules() -> None:
    """softmax in the target is differentiated exactly; only the model's ReLUs get the rule."""
    net = zoo.build(zoo.MLP, "F.relu", 0)
    reference = zoo.build(zoo.MLP, "reference", 0)
    reference.load_state_dict(net.state_dict())
    x = torch.randn(zoo.MLP.input_shape)
    zoo.ReferenceReLU.rule = "guided_backprop"
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(reference(leaf).softmax(-1)[1, 2], leaf)
    with_warnings_as_errors = fl.attribute(
        net, x, lambda out: out.softmax(-1)[1, 2], method="guided_backprop", strict=True
    )
    torch.testing.assert_close(with_warnings_as_errors, want)


def test_mixed_target_list() -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    x = torch.randn(zoo.Residual1d.input_shape)
    targets = [
        (0, 1, 4),
        fl.Neuron("convs.2", (1, 3, 9)),
        lambda out: torch.sigmoid(out[0, 2, 8]),
        (1, 0, 30),
    ]
    got = fl.attribute(net, x, targets, method="deconvnet")
    torch.testing.assert_close(got, per_target(net, x, targets, "deconvnet"))


def test_dict_and_tuple_outputs() -> None:
    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trunk = nn.Linear(5, 8)
            self.a, self.b = nn.Linear(8, 3), nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            h = F.relu(self.trunk(x))
            return {"a": self.a(h), "b": self.b(h)}

    torch.manual_seed(0)
    net = Heads()
    x = torch.randn(2, 5)
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(net(leaf)["b"][1, 1], leaf)
    torch.testing.assert_close(fl.attribute(net, x, ("b", 1, 1), method="gradient"), want)
    with pytest.raises(ValueError, match="must start with one of"):
        fl.attribute(net, x, ("c", 1, 1))


def test_wrt_layer_input() -> None:
    """Attribution to a layer's input equals attribution to the input of the network's top half."""
    net = zoo.build(zoo.Nested, "F.relu", 0)
    x = torch.randn(zoo.Nested.input_shape)
    with torch.no_grad():
        hidden = F.relu(net.parts["blocks"][0](x))

    class Top(nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            h = F.relu(net.parts["blocks"][1](h))
            return net.out(F.relu(net.parts["head"](h)))

    for method in ("guided_backprop", "deconvnet", "input_x_gradient"):
        got = fl.attribute(net, x, (0, 1, 9), method=method, wrt="parts.blocks.1")
        torch.testing.assert_close(got, fl.attribute(Top(), hidden, (0, 1, 9), method=method))
    got = fl.attribute(
        net, x, (0, 1, 9), method="integrated_gradients", wrt="parts.blocks.1", steps=8
    )
    torch.testing.assert_close(
        got, fl.attribute(Top(), hidden, (0, 1, 9), method="integrated_gradients", steps=8)
    )


def test_wrt_accepts_integer_model_inputs() -> None:
    """Token ids cannot carry gradients; the embedding's output can (wrt the next layer)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Embedding(20, 6), nn.Flatten(), nn.Linear(6 * 7, 3))
    tokens = torch.randint(20, (2, 7))
    with pytest.raises(TypeError, match=r"cannot carry gradients.*wrt="):
        fl.attribute(net, tokens, (0, 1))
    got = fl.attribute(net, tokens, (0, 1), method="gradient", wrt="1")
    assert got.shape == (2, 7, 6) and got[1].abs().sum() == 0 and got[0].abs().sum() > 0


def test_tuple_inputs() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 6), nn.Linear(3, 6)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.relu(self.a(x) + self.b(y)).sum(-1, keepdim=True)

    torch.manual_seed(0)
    net = Two()
    x, y = torch.randn(2, 4), torch.randn(2, 3)
    gx, gy = fl.attribute(net, (x, y), (1, 0), method="gradient")
    lx, ly = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    want = torch.autograd.grad(net(lx, ly)[1, 0], (lx, ly))
    torch.testing.assert_close((gx, gy), want)
