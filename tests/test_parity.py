"""What Captum users try first, each against an independent implementation written here: layer
slots (a module's output, the total derivative w.r.t. a tensor), extra forward arguments,
per-row targets, feature ablation and integer inputs, the integration rules and convergence
delta of integrated gradients, and the SmoothGrad family."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import foldlens as fl
import zoo
from test_methods import RowMixing, grad_at, value_at


def from_stem(net: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """``zoo.Residual1d`` from the stem's output on, written out again."""
    for block in range(3):
        r = net.act(net.convs[2 * block](h), 2 * block)
        h = net.act(h + net.convs[2 * block + 1](r), 2 * block + 1)
    return net.head(h)  # type: ignore[no-any-return]


def twins(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """A Residual1d and its reference twin (same weights, rules written in the zoo)."""
    net = zoo.build(zoo.Residual1d, "F.relu", seed)
    reference = zoo.build(zoo.Residual1d, "reference", seed)
    reference.load_state_dict(net.state_dict())
    return net, reference


@pytest.mark.parametrize("method", ["gradient", "deconvnet", "guided_backprop"])
def test_a_tensor_slot_gets_the_total_derivative(method: str) -> None:
    """The stem's output feeds the first conv and the residual sum: ``wrt_tensor`` (the tensor
    entering ``convs.0``) and ``wrt_output`` (the stem's output) follow both paths, ``wrt``
    only the path through the module."""
    net, reference = twins()
    x = torch.randn(zoo.Residual1d.input_shape)
    target = (1, 2, 17)
    zoo.ReferenceReLU.rule = method
    h = net.stem(x).detach().requires_grad_(True)
    (total,) = torch.autograd.grad(from_stem(reference, h)[target], h)
    for slot in ({"wrt_tensor": "convs.0"}, {"wrt_output": "stem"}):
        got = fl.attribute(net, x, target, method, **slot)
        torch.testing.assert_close(got, total, rtol=1e-5, atol=1e-7)
    through = fl.attribute(net, x, target, method, wrt="convs.0")
    assert not torch.allclose(through, total, atol=1e-4)


def test_a_tensor_slot_under_integrated_gradients_and_occlusion() -> None:
    net, _ = twins()
    x = torch.randn(zoo.Residual1d.input_shape)
    target = (0, 1, 20)
    h = net.stem(x).detach()
    nodes, weights = np.polynomial.legendre.leggauss(8)
    want = torch.zeros_like(h)
    for node, weight in zip(nodes, weights, strict=True):
        leaf = ((node + 1) / 2 * h).requires_grad_(True)
        want += weight / 2 * torch.autograd.grad(from_stem(net, leaf)[target], leaf)[0]
    got = fl.attribute(net, x, target, "integrated_gradients", wrt_tensor="convs.0", steps=8)
    torch.testing.assert_close(got, want * h, rtol=1e-4, atol=1e-6)
    got = fl.attribute(net, x, target, "occlusion", wrt_output="stem", window=(8, 5), stride=5)
    want = torch.zeros_like(h)
    with torch.no_grad():
        for start in range(0, 40, 5):
            hidden = h.clone()
            hidden[0, :, start : start + 5] = 0
            want[0, :, start : start + 5] = (
                from_stem(net, h)[target] - from_stem(net, hidden)[target]
            )
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


class InPlaceInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.a(x)
        h.add_(1.0)  # the tensor entering b is rewritten after the call that produced it
        return self.b(h) + h[:, :2]  # type: ignore[no-any-return]


def test_a_tensor_slot_that_cannot_be_followed_is_refused() -> None:
    x = torch.randn(2, 4)
    with pytest.raises(ValueError, match="did not receive the tensor"):
        fl.attribute(InPlaceInput(), x, (0, 1), "gradient", wrt_tensor="b")
    with pytest.raises(ValueError, match="no torch operation"):
        fl.attribute(InPlaceInput(), x, (0, 1), "gradient", wrt_tensor="a")
    with pytest.raises(ValueError, match="not several"):
        fl.attribute(InPlaceInput(), x, (0, 1), "gradient", wrt="a", wrt_output="b")


class Scaled(nn.Module):
    """Reads a per-row scale tensor and a Python number besides the attributed input."""

    def __init__(self) -> None:
        super().__init__()
        self.net = zoo.build(zoo.Residual1d, "F.relu", 3)

    def forward(self, x: torch.Tensor, scale: torch.Tensor, shift: float) -> torch.Tensor:
        return self.net(x) * scale[:, None, None] + shift  # type: ignore[no-any-return]


def test_forward_args_are_tiled_with_stacked_copies() -> None:
    net = Scaled().eval()
    x = torch.randn(zoo.Residual1d.input_shape)
    scale, shift = torch.tensor([0.5, -2.0]), 0.25
    target = (1, 3, 9)

    def closed(z: torch.Tensor) -> torch.Tensor:
        return net(z, scale, shift)  # type: ignore[no-any-return]

    args = (scale, shift)
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(closed(leaf)[target], leaf)
    torch.testing.assert_close(fl.attribute(net, x, target, "gradient", forward_args=args), want)
    nodes, weights = np.polynomial.legendre.leggauss(5)
    want = sum(
        weight / 2 * grad_on(closed, (node + 1) / 2 * x, target)
        for node, weight in zip(nodes, weights, strict=True)
    ) * x  # fmt: skip
    got = fl.attribute(net, x, target, "integrated_gradients", forward_args=args, steps=5)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        base = closed(x)[target]
        want = torch.zeros_like(x)
        for position in range(x.shape[-1]):
            hidden = x.clone()
            hidden[1, :, position] = 0
            want[1, :, position] = base - closed(hidden)[target]
    got = fl.attribute(net, x, target, "occlusion", forward_args=args)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def grad_on(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, target: tuple[int, ...]
) -> torch.Tensor:
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(leaf)[target], leaf)
    return grad


@pytest.mark.parametrize("model", ["independent rows", "rows mixed"])
@pytest.mark.parametrize("method", ["gradient", "integrated_gradients"])
def test_per_row_targets_take_each_rows_own_map(model: str, method: str) -> None:
    """Row b of the result is row b of the map of target (b, *index_b), also when the rows of
    the model read each other (summing the targets, as Captum does, would mix them there)."""
    net = zoo.build(zoo.Residual1d, "F.relu", 0) if model == "independent rows" else RowMixing()
    x = torch.randn(zoo.Residual1d.input_shape)
    indices = [(1, 5), (3, 30)]
    got = fl.attribute(net, x, fl.PerRow(indices), method, steps=6) if method != "gradient" else (
        fl.attribute(net, x, fl.PerRow(indices), method)
    )  # fmt: skip
    nodes, weights = np.polynomial.legendre.leggauss(6)
    for row, index in enumerate(indices):
        target = (row, *index)
        if method == "gradient":
            want = grad_at(net, x, target)
        else:
            want = x * sum(
                weight / 2 * grad_at(net, (node + 1) / 2 * x, target)
                for node, weight in zip(nodes, weights, strict=True)
            )  # fmt: skip
        torch.testing.assert_close(got[row], want[row], rtol=1e-4, atol=1e-6)
    assert got.shape == x.shape


def test_per_row_targets_from_a_label_tensor_and_a_named_output() -> None:
    class Heads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 3)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"logits": self.fc(x), "other": x.sum(1)}

    net, x = Heads(), torch.randn(4, 6)
    labels = torch.tensor([2, 0, 1, 2])
    got = fl.attribute(net, x, fl.PerRow(labels, output="logits"), "gradient")
    torch.testing.assert_close(got, net.fc.weight.detach()[labels])
    with pytest.raises(ValueError, match="one index per row"):
        fl.attribute(net, x, fl.PerRow([0, 1], output="logits"), "gradient")
    with pytest.raises(TypeError, match="booleans are refused"):
        fl.PerRow([True, 0])


@pytest.mark.parametrize("model", ["independent rows", "rows mixed"])
def test_feature_ablation_against_a_loop(model: str) -> None:
    net = zoo.build(zoo.Residual1d, "F.relu", 0) if model == "independent rows" else RowMixing()
    x = torch.randn(zoo.Residual1d.input_shape)
    target = (0, 2, 8)
    mask = (torch.arange(40) // 7).repeat(5, 1)  # (features, length): blocks of 7 positions
    mask[:2] += 100  # the first two features form groups of their own
    want = torch.zeros_like(x)
    for row in range(2):
        for label in mask.unique():
            hidden = x.clone()
            hidden[row][mask == label] = 0.3
            want[row][mask == label] = value_at(net, x, target) - value_at(net, hidden, target)
    got = fl.attribute(net, x, target, "feature_ablation", mask=mask, baseline=0.3, batch_size=4)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    assert bool(got[1].eq(0).all()) == (model == "independent rows")


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 6)
        self.conv = nn.Conv1d(6, 3, 3, padding=1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.conv(F.relu(self.embed(tokens)).transpose(1, 2))  # type: ignore[no-any-return]


def test_perturbation_methods_take_integer_inputs() -> None:
    torch.manual_seed(4)
    net = Tokens().eval()
    tokens = torch.randint(1, 20, (2, 9))
    target = (1, 2, 4)
    want = torch.zeros(tokens.shape)
    for position in range(9):
        hidden = tokens.clone()
        hidden[1, position] = 0
        want[1, position] = value_at(net, tokens, target) - value_at(net, hidden, target)
    for method in ("occlusion", "feature_ablation"):
        got = fl.attribute(net, tokens, target, method)
        assert got.dtype == torch.get_default_dtype()
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="baseline must too"):
        fl.attribute(net, tokens, target, "occlusion", baseline=0.5)
    with pytest.raises(TypeError, match="cannot carry gradients"):
        fl.attribute(net, tokens, target, "gradient")


@pytest.mark.parametrize(
    "rule", ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"]
)
def test_integrated_gradients_riemann_rules_and_convergence_delta(rule: str) -> None:
    net = zoo.build(zoo.SkipPath, "F.relu", 1).double()
    x = torch.randn(zoo.SkipPath.input_shape, dtype=torch.float64)
    baseline = 0.1 * torch.randn(zoo.SkipPath.input_shape, dtype=torch.float64)
    target, n = (0, 1, 7), 9
    k = np.arange(n)
    alphas = {
        "riemann_left": k / n,
        "riemann_right": (k + 1) / n,
        "riemann_middle": (k + 0.5) / n,
        "riemann_trapezoid": k / (n - 1),
    }[rule]
    steps = np.full(n, 1 / (n - 1) if rule == "riemann_trapezoid" else 1 / n)
    if rule == "riemann_trapezoid":
        steps[[0, -1]] /= 2
    averaged = sum(
        float(w) * grad_at(net, baseline + float(a) * (x - baseline), target)
        for a, w in zip(alphas, steps, strict=True)
    )
    assert isinstance(averaged, torch.Tensor)
    got, report = fl.attribute(
        net, x, target, "integrated_gradients", baseline=baseline, steps=n, rule=rule,
        return_report=True,
    )  # fmt: skip
    torch.testing.assert_close(got, averaged * (x - baseline))
    delta = value_at(net, x, target) - value_at(net, baseline, target)
    assert report.convergence_delta is not None
    torch.testing.assert_close(
        report.convergence_delta, torch.tensor([float(got.sum()) - delta], dtype=torch.float64)
    )
    bare = fl.attribute(
        net, x, target, "integrated_gradients", baseline=baseline, steps=n, rule=rule,
        multiply_by_inputs=False,
    )  # fmt: skip
    torch.testing.assert_close(bare, averaged)


@pytest.mark.parametrize("kind", ["mean", "squared", "variance"])
@pytest.mark.parametrize("base", ["gradient", "guided_backprop", "integrated_gradients"])
def test_smoothgrad_kinds_against_a_loop(kind: str, base: str) -> None:
    """SmoothGrad, SmoothGrad² and VarGrad over |gradient|, guided backprop and IG."""
    net, reference = twins(2)
    x = torch.randn(zoo.Residual1d.input_shape)
    target, samples, stdev = (1, 0, 12), 5, 0.3
    zoo.ReferenceReLU.rule = "guided_backprop" if base == "guided_backprop" else "gradient"
    nodes, weights = np.polynomial.legendre.leggauss(4)

    def base_map(z: torch.Tensor) -> torch.Tensor:
        if base == "gradient":
            return grad_at(reference, z, target).abs()
        if base == "guided_backprop":
            return grad_at(reference, z, target)
        return z * sum(
            weight / 2 * grad_at(reference, (node + 1) / 2 * z, target)
            for node, weight in zip(nodes, weights, strict=True)
        )  # fmt: skip

    generator = torch.Generator().manual_seed(7)
    maps = torch.stack(
        [base_map(x + stdev * torch.randn(x.shape, generator=generator)) for _ in range(samples)]
    )
    want = {
        "mean": maps.mean(0),
        "squared": (maps**2).mean(0),
        "variance": maps.var(0, unbiased=False),
    }[kind]
    base_options = {"gradient": {"abs": True}, "integrated_gradients": {"steps": 4}}
    got = fl.attribute(
        net, x, target, "smoothgrad", base=base, kind=kind, stdev=stdev, samples=samples,
        seed=7, batch_size=2, base_options=base_options.get(base, {}),
    )  # fmt: skip
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)


def test_vargrad_without_noise_is_zero() -> None:
    net, _ = twins()
    x = torch.randn(zoo.Residual1d.input_shape)
    got = fl.attribute(net, x, (0, 1, 3), "smoothgrad", kind="variance", stdev=0.0, samples=6)
    assert float(got.abs().max()) <= 1e-12


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "median"}, "kind must be one of"),
        ({"stdev": -1.0}, "stdev must be a finite number"),
        ({"stdev": (0.1, 0.2)}, "stdev has 2 entries for 1 inputs"),
        ({"base": "occlusion"}, "base must be one of"),
        ({"base_options": {"steps": 0}, "base": "integrated_gradients"}, "steps must be"),
        ({"base_options": [1]}, "base_options must be a dict"),
    ],
)
def test_bad_smoothgrad_options_are_refused(options: dict[str, object], message: str) -> None:
    net, _ = twins()
    with pytest.raises(ValueError, match=message):
        fl.attribute(net, torch.randn(zoo.Residual1d.input_shape), (0, 1, 3), "smoothgrad",
                     **options)  # fmt: skip


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("integrated_gradients", {"rule": "simpson"}, "rule must be one of"),
        ("integrated_gradients", {"rule": ["gauss_legendre"]}, "rule must be one of"),
        ("integrated_gradients", {"rule": "riemann_trapezoid", "steps": 1}, "steps >= 2"),
        ("integrated_gradients", {"multiply_by_inputs": 1}, "True or False"),
        ("gradient", {"abs": "yes"}, "True or False"),
        ("feature_ablation", {"mask": torch.ones(3, dtype=torch.long)}, "does not broadcast"),
        ("feature_ablation", {"mask": torch.rand(5, 40)}, "tensor of integers"),
    ],
)
def test_bad_parity_options_are_refused(
    method: str, options: dict[str, object], message: str
) -> None:
    net, _ = twins()
    with pytest.raises(ValueError, match=message):
        fl.attribute(net, torch.randn(zoo.Residual1d.input_shape), (0, 1, 3), method, **options)
