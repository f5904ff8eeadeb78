"""Every method against an independent implementation here, and against Captum where it is right."""

from __future__ import annotations

from typing import Any

import captum.attr
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl
import zoo

# Captum is a second oracle where its hooks are right: nn.ReLU modules, no pre-activation skips.
CAPTUM_SAFE = (zoo.MLP, zoo.Residual1d, zoo.Nested, zoo.ConvNormPool)


def grad_at(net: nn.Module, x: torch.Tensor, target: tuple[int, ...]) -> torch.Tensor:
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(leaf)[target], leaf)
    return grad


def value_at(net: nn.Module, x: torch.Tensor, target: tuple[int, ...]) -> float:
    with torch.no_grad():
        return float(net(x)[target])


def test_methods_are_listed_with_descriptions() -> None:
    listed = fl.methods()
    for name in ("gradient", "deconvnet", "guided_backprop", "input_x_gradient",
                 "integrated_gradients", "smoothgrad", "occlusion"):  # fmt: skip
        assert name in listed and len(listed[name]) > 20


@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_input_x_gradient(architecture: type[nn.Module]) -> None:
    net = zoo.build(architecture, "F.relu", 0)
    x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
    target = zoo.random_targets(zoo.output_shape(net, x), 1, 0)[0]
    got = fl.attribute(net, x, target, method="input_x_gradient")
    torch.testing.assert_close(got, x * grad_at(net, x, target))


@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_integrated_gradients_against_a_loop(architecture: type[nn.Module]) -> None:
    net = zoo.build(architecture, "torch.relu", 1)
    x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
    baseline = torch.randn(architecture.input_shape) * 0.1  # type: ignore[attr-defined]
    target = zoo.random_targets(zoo.output_shape(net, x), 1, 1)[0]
    nodes, weights = np.polynomial.legendre.leggauss(16)
    want = torch.zeros_like(x)
    for node, weight in zip(nodes, weights, strict=True):
        alpha = (node + 1) / 2
        want += weight / 2 * grad_at(net, baseline + alpha * (x - baseline), target)
    want *= x - baseline
    got = fl.attribute(
        net, x, target, method="integrated_gradients", baseline=baseline, steps=16, batch_size=5
    )
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


class RowMixing(nn.Module):
    """Each sample's output also reads the other sample: rows of the batch are not independent."""

    def __init__(self) -> None:
        super().__init__()
        self.net = zoo.build(zoo.Residual1d, "F.relu", 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out + 0.5 * out.flip(0)


class SequenceFirst(nn.Module):
    """Dimension 0 is time, not a batch: a running sum along it."""

    def __init__(self) -> None:
        super().__init__()
        self.net = zoo.build(zoo.Residual1d, "F.relu", 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.net(x)).cumsum(0)  # type: ignore[no-any-return]


class MixingBackward(torch.autograd.Function):
    """Rows kept apart forward; the backward pass hands each row's gradient to the other row."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor) -> torch.Tensor:
        return h.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad + 0.5 * grad.flip(0)


class CustomRows(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = zoo.build(zoo.Residual1d, "F.relu", 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(MixingBackward.apply(x))  # type: ignore[no-any-return]


ROW_DEPENDENT = {
    "rows mixed": RowMixing,
    "sequence first": SequenceFirst,
    "custom backward mixes rows": CustomRows,
    "BatchNorm training": lambda: zoo.build(zoo.ConvNormPool, "F.relu", 0).train(),
}


@pytest.mark.parametrize("model", list(ROW_DEPENDENT))
def test_stacking_methods_on_rows_that_depend_on_each_other(model: str) -> None:
    """Integrated gradients and SmoothGrad evaluate their points one copy per pass when stacked
    copies would mix; the loops here never stack."""
    net = ROW_DEPENDENT[model]()
    x = torch.randn(2, 3, 12, 12) if model == "BatchNorm training" else torch.randn(2, 5, 40)
    target = (0, 1) if model == "BatchNorm training" else (0, 1, 11)
    nodes, weights = np.polynomial.legendre.leggauss(6)
    want = torch.zeros_like(x)
    for node, weight in zip(nodes, weights, strict=True):
        want += weight / 2 * grad_at(net, (node + 1) / 2 * x, target)
    got, report = fl.attribute(
        net, x, target, method="integrated_gradients", steps=6, return_report=True
    )
    torch.testing.assert_close(got, want * x, rtol=1e-4, atol=1e-6)
    assert report.forward_passes >= 6
    generator = torch.Generator().manual_seed(2)
    sigma = 0.1 * float(x.max() - x.min())
    want = sum(grad_at(net, x + sigma * torch.randn(x.shape, generator=generator), target)
               for _ in range(4)) / 4  # fmt: skip
    got = fl.attribute(
        net, x, target, method="smoothgrad", base="gradient", noise=0.1, samples=4, seed=2
    )
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_independent_rows_are_stacked() -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    _, report = fl.attribute(
        net, torch.randn(2, 5, 40), (0, 1, 11), method="integrated_gradients", steps=32,
        return_report=True,
    )  # fmt: skip
    assert report.forward_passes < 8


@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_integrated_gradients_completeness(architecture: type[nn.Module]) -> None:
    """sum IG = y(x) - y(baseline) within 1 % of |y(x) - y(baseline)| (+1e-3) at 256 steps."""
    net = zoo.build(architecture, "nn.ReLU", 2).double()
    x = torch.randn(architecture.input_shape, dtype=torch.float64)  # type: ignore[attr-defined]
    for target in zoo.random_targets(zoo.output_shape(net, x), 3, 2):
        attribution = fl.attribute(net, x, target, method="integrated_gradients", steps=256)
        delta = value_at(net, x, target) - value_at(net, torch.zeros_like(x), target)
        assert abs(float(attribution.sum()) - delta) <= 0.01 * abs(delta) + 1e-3


@pytest.mark.parametrize("base", ["gradient", "deconvnet", "guided_backprop", "input_x_gradient"])
def test_smoothgrad_against_a_loop(base: str) -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0)
    reference = zoo.build(zoo.Residual1d, "reference", 0)
    reference.load_state_dict(net.state_dict())
    x = torch.randn(zoo.Residual1d.input_shape)
    target = (1, 2, 17)
    noise, samples = 0.2, 7
    generator = torch.Generator().manual_seed(5)
    sigma = noise * float(x.max() - x.min())
    zoo.ReferenceReLU.rule = "gradient" if base == "input_x_gradient" else base
    want = torch.zeros_like(x)
    for _ in range(samples):
        noisy = x + sigma * torch.randn(x.shape, generator=generator)
        g = grad_at(reference, noisy, target)
        want += (g * noisy if base == "input_x_gradient" else g) / samples
    got = fl.attribute(
        net,
        x,
        target,
        method="smoothgrad",
        base=base,
        noise=noise,
        samples=samples,
        seed=5,
        batch_size=3,
    )
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model", ["independent rows", "rows mixed"])
def test_occlusion_against_a_loop(model: str) -> None:
    """Each window hides one sample's values only: a row-0 target is attributed to row 1 only
    when the model really reads row 1 for it."""
    net = zoo.build(zoo.Residual1d, "F.relu", 0) if model == "independent rows" else RowMixing()
    x = torch.randn(zoo.Residual1d.input_shape)
    target = (0, 3, 11)
    window, stride = 4, 3
    length = x.shape[-1]
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    total, count = torch.zeros_like(x), torch.zeros_like(x)
    for row in range(x.shape[0]):
        for start in starts:
            occluded = x.clone()
            occluded[row, :, start : start + window] = -0.5
            total[row, :, start : start + window] += value_at(net, x, target) - value_at(
                net, occluded, target
            )
            count[row, :, start : start + window] += 1
    got = fl.attribute(
        net, x, target, method="occlusion", window=window, stride=stride, baseline=-0.5
    )
    torch.testing.assert_close(got, total / count, rtol=1e-4, atol=1e-6)
    assert bool(got[1].eq(0).all()) == (model == "independent rows")


def _captum_pairs(net: nn.Module) -> dict[str, tuple[object, dict[str, object], dict[str, object]]]:
    return {
        "gradient": (captum.attr.Saliency(net), {"abs": False}, {}),
        "deconvnet": (captum.attr.Deconvolution(net), {}, {}),
        "guided_backprop": (captum.attr.GuidedBackprop(net), {}, {}),
        "input_x_gradient": (captum.attr.InputXGradient(net), {}, {}),
        "integrated_gradients": (
            captum.attr.IntegratedGradients(net),
            {"n_steps": 20, "method": "gausslegendre"},
            {"steps": 20},
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "method",
    ["gradient", "deconvnet", "guided_backprop", "input_x_gradient", "integrated_gradients"],
)
@pytest.mark.parametrize("architecture", CAPTUM_SAFE, ids=lambda a: a.__name__)
def test_against_captum(architecture: type[nn.Module], method: str) -> None:
    net = zoo.build(architecture, "nn.ReLU", 4)
    x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
    explainer, captum_options, our_options = _captum_pairs(net)[method]
    for target in zoo.random_targets(zoo.output_shape(net, x), 2, 4):
        want = explainer.attribute(  # type: ignore[attr-defined]
            x.clone(), target=target[1:] if len(target) > 2 else target[1], **captum_options
        )[target[0] : target[0] + 1]
        got = fl.attribute(net, x, target, method=method, **our_options)[target[0] : target[0] + 1]
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_occlusion_against_captum() -> None:
    net = zoo.build(zoo.ConvNormPool, "nn.ReLU", 0)
    x = torch.randn(zoo.ConvNormPool.input_shape)
    want = captum.attr.Occlusion(net).attribute(
        x, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2), target=2, baselines=0.0
    )
    got = fl.attribute(net, x, [(0, 2), (1, 2)], method="occlusion", window=(4, 4), stride=(2, 2))
    # Captum crops a window that overhangs the end, foldlens adds one flush with it; 12 = 4 + 4·2,
    # so no window overhangs and both place the same windows here.
    torch.testing.assert_close(got[0, 0], want[0], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(got[1, 1], want[1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_attribute_each_shares_one_forward_pass(architecture: type[nn.Module]) -> None:
    """The gradient family from one forward pass equals each method computed on its own, for
    one target and for a batch of targets."""
    net = zoo.build(architecture, "F.relu", 2)
    x = torch.randn(architecture.input_shape)  # type: ignore[attr-defined]
    targets = zoo.random_targets(zoo.output_shape(net, x), 3, 2)
    family = ("gradient", "deconvnet", "guided_backprop", "input_x_gradient")
    calls: list[int] = []
    net.register_forward_pre_hook(lambda module, args: calls.append(1))
    for target in (targets[0], targets):
        calls.clear()
        early: dict[str, torch.Tensor] = {}
        together = fl.attribute_each(net, x, target, family, on_result=early.__setitem__)
        assert len(calls) == 1
        assert list(early) == list(family) and all(early[m] is together[m] for m in family)
        for method in family:
            torch.testing.assert_close(
                together[method], fl.attribute(net, x, target, method=method)
            )


def test_attribute_each_refuses_methods_that_need_more_passes() -> None:
    net = zoo.build(zoo.MLP, "F.relu", 0)
    with pytest.raises(ValueError, match="integrated_gradients"):
        fl.attribute_each(
            net, torch.randn(zoo.MLP.input_shape), (0, 1), ["gradient", "integrated_gradients"]
        )  # type: ignore[attr-defined]
