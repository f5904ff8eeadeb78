"""Each ReLU rule against the test's own implementation, over every spelling and architecture."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import foldlens as fl
import zoo

RULES = ("gradient", "deconvnet", "guided_backprop")


def reference_attribution(
    net: nn.Module, x: torch.Tensor, target: tuple[int, ...], rule: str
) -> torch.Tensor:
    """The map from the same weights built with the test's ReferenceReLU."""
    zoo.ReferenceReLU.rule = rule
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(leaf)[target], leaf)
    return grad


def twin(architecture: type[nn.Module], spelling: str, seed: int) -> tuple[nn.Module, nn.Module]:
    net = zoo.build(architecture, spelling, seed)
    reference = zoo.build(architecture, "reference", seed)
    reference.load_state_dict(net.state_dict())
    return net, reference


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("spelling", zoo.SPELLINGS)
@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_rule_matches_reference(architecture: type[nn.Module], spelling: str, rule: str) -> None:
    for seed in (0, 1):
        net, reference = twin(architecture, spelling, seed)
        x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
        for target in zoo.random_targets(zoo.output_shape(reference, x), 3, seed):
            got = fl.attribute(net, x.clone(), target, method=rule, strict=True)
            want = reference_attribution(reference, x, target, rule)
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_rules_differ_on_a_real_network() -> None:
    """Guards the test above: the three rules give different maps here."""
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    x = torch.randn(zoo.Residual1d.input_shape)
    maps = [fl.attribute(net, x, (0, 1, 20), method=rule) for rule in RULES]
    for first in range(3):
        for second in range(first + 1, 3):
            assert not torch.allclose(maps[first], maps[second], atol=1e-4)


def test_manual_backprop_through_an_mlp() -> None:
    """Guided backprop written out layer by layer, with no autograd at all."""
    torch.manual_seed(3)
    layers = [nn.Linear(10, 14), nn.Linear(14, 9), nn.Linear(9, 4)]
    net = nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])
    x = torch.randn(1, 10)
    with torch.no_grad():
        f1 = layers[0](x)
        f2 = layers[1](f1.clamp(min=0))
        r = torch.zeros(1, 4)
        r[0, 2] = 1.0
        r = r @ layers[2].weight
        r = (f2 > 0) * (r > 0) * r
        r = r @ layers[1].weight
        r = (f1 > 0) * (r > 0) * r
        want = r @ layers[0].weight
    torch.testing.assert_close(fl.attribute(net, x, (0, 2), method="guided_backprop"), want)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("spelling", ["F.relu", "nn.ReLU(inplace)", "Tensor.relu_"])
@pytest.mark.parametrize("architecture", [zoo.SkipPath, zoo.ConvNormPool], ids=lambda a: a.__name__)
def test_compiled_model(architecture: type[nn.Module], spelling: str, rule: str) -> None:
    """A model compiled (aot_eager) and run before the call gets the rules all the same."""
    net, reference = twin(architecture, spelling, 0)
    x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
    compiled = torch.compile(net, backend="aot_eager")
    compiled(x.clone())
    target = zoo.random_targets(zoo.output_shape(reference, x), 1, 0)[0]
    got = fl.attribute(compiled, x.clone(), target, method=rule, strict=True)
    torch.testing.assert_close(
        got, reference_attribution(reference, x, target, rule), rtol=1e-5, atol=1e-6
    )


def test_compiled_submodule() -> None:
    """A compiled part inside an uncompiled model runs eagerly under the rules."""
    net, reference = twin(zoo.Nested, "F.relu", 0)
    net.parts["head"] = torch.compile(net.parts["head"], backend="aot_eager")
    x = torch.randn(zoo.Nested.input_shape)
    net(x)
    got = fl.attribute(net, x, (0, 1, 5), method="guided_backprop")
    torch.testing.assert_close(
        got, reference_attribution(reference, x, (0, 1, 5), "guided_backprop")
    )


KINK_SPELLINGS = ["clamp(min=0)", "F.relu", "threshold(0, 0)", "Tensor.relu_", "nn.ReLU(inplace)"]


@pytest.mark.parametrize("spelling", KINK_SPELLINGS)
def test_gradient_is_autograd_at_the_kink(spelling: str) -> None:
    """Pre-activations exactly 0 (one-hot inputs and zero biases make them common): each
    spelling's own autograd decides whether gradient passes there (clamp: yes, relu: no), and
    ``gradient`` must be that gradient, bit for bit."""
    net = zoo.build(zoo.MLP, spelling, 0)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Linear):
                module.bias.zero_()
    x = torch.zeros(zoo.MLP.input_shape)
    x[:, ::3] = 1.0  # one-hot-like: many pre-activations exactly 0
    for target in [(0, 0), (1, 2)]:
        leaf = x.clone().requires_grad_(True)
        (want,) = torch.autograd.grad(net(leaf.clone())[target], leaf)
        assert torch.equal(fl.attribute(net, x, target, method="gradient"), want)
    guided = fl.attribute(net, x, (0, 0), method="guided_backprop")
    shared = fl.attribute_each(net, x, (0, 0), ["gradient", "guided_backprop"])
    assert torch.equal(shared["guided_backprop"], guided)
