"""LRP against an independent implementation written here: every layer unrolled to a dense
matrix and each rule applied by its textbook formula, relevance passed back layer by layer; and
the properties: LRP-0 is gradient × input on the zoo, z⁺ and α1β0 conserve, αβ and γ on layers
worked by hand, the batch-norm canonizer leaves outputs unchanged, functional calls get their
rules as modules do, and what a composite leaves out is named."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import foldlens as fl
import zoo
from foldlens.attribution import UnsupportedActivationError, UnsupportedActivationWarning
from foldlens.models import adapter, load
from foldlens.protein.record import Protein

EPS = 1e-6


def dense(layer: nn.Module, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W, b)`` with ``layer(x).flatten() = W @ x.flatten() + b`` for one input of ``shape``
    (no batch axis), read off the layer's answers to the unit vectors."""
    size = int(torch.tensor(shape).prod())
    with torch.no_grad():
        b = layer(torch.zeros(1, *shape, dtype=torch.float64)).flatten()
        basis = torch.eye(size, dtype=torch.float64).view(size, *shape)
        w = (layer(basis).flatten(1) - b).T
    return w, b


def stab(t: torch.Tensor) -> torch.Tensor:
    return t + EPS * torch.where(t >= 0, 1.0, -1.0).double()


def oracle_rule(
    rule: str, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, r: torch.Tensor, **p: float
) -> torch.Tensor:
    """Relevance ``R_j`` at the input of ``z = W x + b`` from ``R_k`` at its output, by the
    formulas (contributions ``c_kj`` written out as a matrix)."""
    xj = x[None, :]  # (1, J) against w (K, J)
    if rule == "zero":
        c = xj * w / torch.where(w @ x + b == 0, 1.0, w @ x + b)[:, None]
    elif rule == "epsilon":
        c = xj * w / stab(w @ x + b)[:, None]
    elif rule == "gamma":  # each output favours its own sign
        up = xj * w + p["gamma"] * (xj * w).clamp(min=0)
        down = xj * w + p["gamma"] * (xj * w).clamp(max=0)
        b_up, b_down = b + p["gamma"] * b.clamp(min=0), b + p["gamma"] * b.clamp(max=0)
        z = w @ x + b
        c_up = up / stab(up.sum(1) + b_up)[:, None]
        c_down = down / stab(down.sum(1) + b_down)[:, None]
        c = torch.where((z > 0)[:, None], c_up, 0.0) + torch.where((z < 0)[:, None], c_down, 0.0)
    elif rule in ("zplus", "alpha_beta"):
        plus, minus = (xj * w).clamp(min=0), (xj * w).clamp(max=0)
        c = plus / stab(plus.sum(1) + b.clamp(min=0))[:, None]
        if rule == "alpha_beta":
            c = p["alpha"] * c - p["beta"] * minus / stab(minus.sum(1) + b.clamp(max=0))[:, None]
    elif rule == "wsquare":
        c = w * w / stab((w * w).sum(1) + b * b)[:, None]
    elif rule == "flat":
        ones = (w != 0).double()  # the window: weights of a dense layer are never all zero
        c = ones / ones.sum(1)[:, None]
    elif rule == "zbox":
        low, high = torch.full_like(x, p["low"])[None, :], torch.full_like(x, p["high"])[None, :]
        num = xj * w - low * w.clamp(min=0) - high * w.clamp(max=0)
        c = num / stab(num.sum(1))[:, None]
    else:
        raise AssertionError(rule)
    return c.T @ r


def oracle_lrp(
    net: nn.Sequential,
    x: torch.Tensor,
    k: int,
    rules: dict[str, str],
    first: str | None,
    **p: float,
) -> torch.Tensor:
    """LRP of output ``k`` of ``net`` (Linear, Conv1d, BatchNorm1d after a layer, ReLU,
    Flatten) for one input ``x``: ``rules`` by layer class, ``first`` for the first layer."""
    modules = list(net.double())
    steps: list[tuple[nn.Module, str | None]] = []  # (module, layer class) or (module, None)
    position = 0
    while position < len(modules):
        module = modules[position]
        if isinstance(module, nn.Linear | nn.Conv1d):
            after = modules[position + 1] if position + 1 < len(modules) else None
            if isinstance(after, nn.BatchNorm1d):  # the canonizer: one linear map
                steps.append((nn.Sequential(module, after), type(module).__name__))
                position += 2
                continue
            steps.append((module, type(module).__name__))
        else:
            steps.append((module, None))
        position += 1
    activations = [x[0].double()]
    with torch.no_grad():
        for module, _ in steps:
            activations.append(module(activations[-1][None])[0])
    relevance = torch.zeros_like(activations[-1].flatten())
    relevance[k] = activations[-1].flatten()[k]
    first_layer = min(i for i, (_, kind) in enumerate(steps) if kind is not None)
    for i in reversed(range(len(steps))):
        module, kind = steps[i]
        if kind is None:
            continue  # ReLU, Flatten: relevance passes unchanged
        w, b = dense(module, tuple(activations[i].shape))
        rule = first if (i == first_layer and first) else rules[kind]
        relevance = oracle_rule(rule, activations[i].flatten(), w, b, relevance, **p)
    return relevance.view(x.shape[1:]).float()


def cnn(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv1d(4, 6, 3, padding=1), nn.BatchNorm1d(6), nn.ReLU(),
        nn.Conv1d(6, 5, 3, padding=2, dilation=2), nn.ReLU(), nn.Flatten(), nn.Linear(40, 3),
    )  # fmt: skip
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].weight.uniform_(0.5, 1.5)
        net[1].bias.uniform_(-0.3, 0.3)
    return net.eval()


COMPOSITES = {
    "zero": ({"Conv1d": "zero", "Linear": "zero"}, None),
    "epsilon": ({"Conv1d": "epsilon", "Linear": "epsilon"}, None),
    "epsilon_plus": ({"Conv1d": "zplus", "Linear": "epsilon"}, None),
    "epsilon_plus_flat": ({"Conv1d": "zplus", "Linear": "epsilon"}, "flat"),
    "epsilon_gamma_box": ({"Conv1d": "gamma", "Linear": "epsilon"}, "zbox"),
    "epsilon_alpha2_beta1": ({"Conv1d": "alpha_beta", "Linear": "epsilon"}, None),
    "epsilon_alpha2_beta1_flat": ({"Conv1d": "alpha_beta", "Linear": "epsilon"}, "flat"),
    "gamma_wsquare": ({"Conv1d": "gamma", "Linear": "gamma"}, "wsquare"),
}
USER = {"gamma_wsquare": {"first": "wsquare", "convolution": "gamma", "Linear": "gamma"}}
"""Composites given as mappings (the rest are named)."""


@pytest.mark.parametrize("name", COMPOSITES)
def test_named_composites_equal_the_oracle(name: str) -> None:
    """Each named composite (and a mapping) on a CNN with batch norm against layer-by-layer LRP
    written here."""
    net = cnn(1)
    x = torch.rand(2, 4, 8, generator=torch.Generator().manual_seed(2))
    parameters = {"gamma": 0.25, "alpha": 2.0, "beta": 1.0, "low": 0.0, "high": 1.0}
    targets = [(0, 1), (1, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        maps = fl.attribute(net, x, targets, "lrp", composite=USER.get(name, name))
    rules, first = COMPOSITES[name]
    for m, (row, k) in zip(maps, targets, strict=True):
        want = oracle_lrp(cnn(1).double(), x[row : row + 1], k, rules, first, **parameters)
        got = m[row]
        scale = float(want.abs().max())
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * scale)
        assert float(m[1 - row].abs().max()) == 0.0, "the other row's input gets nothing"


@pytest.mark.parametrize("spelling", zoo.SPELLINGS)
@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_lrp_zero_is_gradient_times_input(architecture: type[nn.Module], spelling: str) -> None:
    """On ReLU networks LRP-0 passes relevance as gradient × input does, biases and all."""
    net = zoo.build(architecture, spelling, seed=7)
    x = torch.randn(architecture.input_shape, generator=torch.Generator().manual_seed(11))  # type: ignore[attr-defined]
    targets = zoo.random_targets(zoo.output_shape(net, x), 3, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        lrp0 = fl.attribute(net, x, targets, "lrp", composite="zero")
    want = fl.attribute(net, x, targets, "input_x_gradient")
    torch.testing.assert_close(lrp0, want, rtol=1e-4, atol=1e-6 * float(want.abs().max()))


@pytest.mark.parametrize(
    "rule",
    ["zero", ("epsilon", {"epsilon": 1e-9}), "zplus", ("alpha_beta", {"alpha": 1.0, "beta": 0.0})],
)
def test_lrp0_epsilon_zplus_and_alpha1_beta0_conserve_relevance(rule: Any) -> None:
    """Without biases the shares of each output sum to one under LRP-0, ε → 0, z⁺ and α1β0, so
    every layer passes all its relevance on: the map sums to the target's value."""
    net = cnn(3)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv1d | nn.Linear | nn.BatchNorm1d):
                module.bias.zero_()
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.zero_()
    x = torch.rand(1, 4, 8)
    composite = {"convolution": rule, "dense": rule}
    maps, report = fl.attribute(net, x, (0, 2), "lrp", composite=composite, return_report=True)
    with torch.no_grad():
        value = float(net(x)[0, 2])
    assert float(maps.sum()) == pytest.approx(value, rel=1e-4)
    assert report.convergence_delta is not None
    assert abs(float(report.convergence_delta[0])) < 1e-4 * max(1.0, abs(value))


def test_alpha_beta_and_gamma_on_a_layer_worked_by_hand() -> None:
    """``z = W x`` with ``W = [[1, -2], [3, 1]]``, ``x = (1, 2)``, the target output 0, so
    its relevance is its value ``R_0 = z_0 = 1 - 4 = -3`` and output 1 has none:

    - α2β1: the positive contribution (1·1) takes ``2 R_0``, the negative one (2·(-2))
      ``-1 R_0``: ``R = (-6, 3)``;
    - γ = 1: ``z_0 < 0`` favours negative contributions, ``ρ(W)_0 = W + γW⁻ = (1, -4)``,
      ``z^γ_0 = 1 - 8 = -7``, ``R_j = x_j ρ_0j R_0 / z^γ_0``: ``R = (3/7, -24/7)``, summing to
      ``R_0``."""
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0], [3.0, 1.0]]))
    x = torch.tensor([[1.0, 2.0]])
    target = lambda out: out[0, 0]  # noqa: E731
    ab = fl.attribute(layer, x, target, "lrp", composite={"Linear": "alpha_beta"})
    torch.testing.assert_close(ab, torch.tensor([[-6.0, 3.0]]), rtol=1e-5, atol=1e-5)
    gamma = fl.attribute(layer, x, target, "lrp", composite={"Linear": ("gamma", {"gamma": 1.0})})
    torch.testing.assert_close(gamma, torch.tensor([[3 / 7, -24 / 7]]), rtol=1e-5, atol=1e-5)


def test_the_batch_norm_canonizer_leaves_the_outputs_unchanged() -> None:
    """Under LRP the network computes what it computes without: the merged layer's value is the
    batch norm's, and the report says which batch norm was merged into which layer."""
    net = cnn(4)
    x = torch.rand(3, 4, 8)
    seen: list[torch.Tensor] = []
    _, report = fl.attribute(
        net, x, lambda out: seen.append(out.detach()) or out[0, 0], "lrp", return_report=True
    )
    with torch.no_grad():
        torch.testing.assert_close(seen[0], net(x), rtol=1e-5, atol=1e-6)
    merged = [r for r in report.activations if "batch norm 1 merged in" in r.rule]
    assert [(r.function, r.module) for r in merged] == [("conv1d", "0")]


class Functional(nn.Module):
    """``cnn``'s layers called as functions (and the last one as a matrix product)."""

    def __init__(self, net: nn.Sequential) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv1, norm, _, conv2, _, _, last = self.net
        h = F.conv1d(x, conv1.weight, conv1.bias, padding=1)
        h = F.batch_norm(h, norm.running_mean, norm.running_var, norm.weight, norm.bias)
        h = F.conv1d(F.relu(h), conv2.weight, conv2.bias, padding=2, dilation=2)
        return torch.matmul(F.relu(h).flatten(1), last.weight.T) + last.bias


@pytest.mark.parametrize("composite", ["epsilon_gamma_box", "epsilon_alpha2_beta1"])
def test_functional_calls_get_their_rules_as_modules_do(composite: str) -> None:
    net = cnn(5)
    x = torch.rand(2, 4, 8)
    targets = [(0, 1), (1, 0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        modules = fl.attribute(net, x, targets, "lrp", composite=composite)
        functions = fl.attribute(Functional(net), x, targets, "lrp", composite=composite)
    torch.testing.assert_close(functions, modules, rtol=1e-4, atol=1e-6)


def test_what_the_composite_leaves_out_is_named() -> None:
    net = cnn(6)
    x = torch.rand(1, 4, 8)
    with pytest.warns(UnsupportedActivationWarning, match="conv1d .no rule in the composite"):
        fl.attribute(net, x, (0, 1), "lrp", composite={"Linear": "epsilon"})
    with pytest.raises(UnsupportedActivationError, match="no rule in the composite"):
        fl.attribute(net, x, (0, 1), "lrp", composite={"Linear": "epsilon"}, strict=True)
    with pytest.warns(UnsupportedActivationWarning, match="sigmoid"):
        smooth = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
        fl.attribute(smooth, torch.rand(1, 3), (0, 1), "lrp")


def test_a_first_layer_rule_needs_the_input_to_enter_a_layer() -> None:
    """z^B gives relevance at the input only through the layer that reads it: a skip path that
    reads the input otherwise is named."""

    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layer(x) + torch.relu(x)

    with pytest.warns(UnsupportedActivationWarning, match="reads the input before any layer"):
        fl.attribute(Skip(), torch.rand(1, 3), (0, 1), "lrp", composite="epsilon_gamma_box")


def test_a_product_of_two_computed_tensors_splits_its_relevance() -> None:
    """``c = a ⊙ b``: each factor gets half, so ``R_a + R_b = R`` (LRP-0 around it)."""

    class Gate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(3, 4, bias=False), nn.Linear(3, 4, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (self.a(x) * self.b(x)).sum(1, keepdim=True)

    torch.manual_seed(7)
    gate, x = Gate(), torch.rand(1, 3)
    maps = fl.attribute(gate, x, (0, 0), "lrp", composite="zero")
    with torch.no_grad():
        assert float(maps.sum()) == pytest.approx(float(gate(x)[0, 0]), rel=1e-5)
    half = fl.attribute(gate, x, (0, 0), "input_x_gradient") / 2  # Euler: x·∇(ab) = 2ab
    torch.testing.assert_close(maps, half, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["default", "seed2018"])
@pytest.mark.parametrize("composite", ["epsilon_plus", "epsilon_plus_flat", "epsilon_gamma_box"])
def test_the_shipped_networks_have_a_rule_for_every_operation(name: str, composite: str) -> None:
    """The default network's input enters its first convolution, so every composite is exact
    there; seed2018's one-hot input is combined into state pairs before its first layer, so a
    first-layer rule has no layer to start at, and the report says so."""
    model = load(name)
    x = adapter(name).encoded(Protein("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")).x
    head = "ss3" if name == "default" else "dist_cb_cb"
    target = (head, 0, 1, 12) if name == "default" else (head, 0, 4, 25)
    exact = name == "default" or composite == "epsilon_plus"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnsupportedActivationWarning)
        maps, report = fl.attribute(
            model, x, lambda out: out[target[0]][target[1:]], "lrp", composite=composite,
            return_report=True,
        )  # fmt: skip
    assert report.exact is exact and bool(maps.isfinite().all()) and float(maps.abs().sum()) > 0
    assert any("before any layer" in str(w.message) for w in caught) is not exact
