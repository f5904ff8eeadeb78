"""DeepLIFT (Rescale) against an independent implementation written here, over the zoo of
architectures and every ReLU spelling; summation-to-delta on networks with residual sums,
products of computed tensors and on the shipped networks; and what is not exact says so."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

import foldlens as fl
import zoo
from foldlens.attribution import UnsupportedActivationError, UnsupportedActivationWarning
from foldlens.attribution.reference import ReferenceMismatchError
from foldlens.models import adapter, load
from foldlens.protein.labels import expected_distance


class OracleMultiplier(torch.autograd.Function):
    """``max(f, 0)`` whose backward multiplies by a multiplier given in advance."""

    @staticmethod
    def forward(ctx: Any, f: torch.Tensor, multiplier: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(multiplier)
        return torch.where(f > 0, f, torch.zeros_like(f))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (multiplier,) = ctx.saved_tensors
        return grad * multiplier, None


class OracleRescale:
    """Stands in for the zoo's reference ReLU: on the reference pass it keeps each ReLU's input;
    on the input's pass it applies Shrikumar et al.'s Rescale multiplier, written out here:
    ``Δy/Δx`` of the ReLU, its derivative ``[x > 0]`` where ``Δx = 0``."""

    kept: ClassVar[list[torch.Tensor]] = []
    replaying: ClassVar[bool] = False
    position: ClassVar[int] = 0

    @classmethod
    def apply(cls, f: torch.Tensor) -> torch.Tensor:
        if not cls.replaying:
            cls.kept.append(f.detach().clone())
            return torch.where(f > 0, f, torch.zeros_like(f))
        f0 = cls.kept[cls.position]
        cls.position += 1
        x = f.detach()
        dx = x - f0
        dy = torch.where(x > 0, x, 0.0) - torch.where(f0 > 0, f0, 0.0)
        safe = torch.where(dx == 0, torch.ones_like(dx), dx)
        multiplier = torch.where(dx == 0, (x > 0).to(x.dtype), dy / safe)
        return OracleMultiplier.apply(f, multiplier)


def oracle_deeplift(
    net: nn.Module, x: torch.Tensor, x0: torch.Tensor, target: tuple[int, ...]
) -> torch.Tensor:
    """DeepLIFT of ``net`` (built with the zoo's "reference" spelling) by the oracle above."""
    OracleRescale.kept, OracleRescale.replaying, OracleRescale.position = [], False, 0
    with torch.no_grad():
        net(x0.clone())
    OracleRescale.replaying = True
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(leaf)[target], leaf)
    return grad * (x - x0)


@pytest.mark.parametrize("spelling", zoo.SPELLINGS)
@pytest.mark.parametrize("architecture", zoo.ARCHITECTURES, ids=lambda a: a.__name__)
def test_deeplift_equals_the_oracle(
    architecture: type[nn.Module], spelling: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zoo, "ReferenceReLU", OracleRescale)
    oracle_net = zoo.build(architecture, "reference", seed=7)
    net = zoo.build(architecture, spelling, seed=7)
    generator = torch.Generator().manual_seed(11)
    x = torch.randn(architecture.input_shape, generator=generator)  # type: ignore[attr-defined]
    baselines = {"zero": 0.0, "tensor": torch.randn(x.shape, generator=generator) * 0.5}
    targets = zoo.random_targets(zoo.output_shape(net, x), 3, seed=5)
    selects = architecture is zoo.ConvNormPool  # max pooling: a selection, no exact rule
    for baseline in baselines.values():
        x0 = torch.full_like(x, baseline) if isinstance(baseline, float) else baseline
        with warnings.catch_warnings():
            warnings.simplefilter("ignore" if selects else "error", UnsupportedActivationWarning)
            maps, report = fl.attribute(
                net, x, targets, "deeplift", baseline=baseline, return_report=True
            )
        assert report.exact is not selects
        for k, target in enumerate(targets):
            want = oracle_deeplift(oracle_net, x, x0, target)
            torch.testing.assert_close(maps[k], want, rtol=1e-4, atol=1e-6 * want.abs().max())
        if not selects:
            with torch.no_grad():
                change = torch.stack([net(x.clone())[t] - net(x0.clone())[t] for t in targets])
            torch.testing.assert_close(
                maps.flatten(1).sum(1).double(), change.double(), rtol=1e-4, atol=1e-5
            )


class Gated(nn.Module):
    """Products of two computed tensors: a gate (``mul``), an outer product (``einsum``) and a
    matrix product (``matmul``), around residual sums."""

    def __init__(self) -> None:
        super().__init__()
        self.left, self.right, self.gate = nn.Linear(6, 8), nn.Linear(6, 8), nn.Linear(6, 8)
        self.mix = nn.Linear(8, 8)
        self.head = nn.Linear(64 + 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.left(x))
        b = self.right(x)
        gated = a * torch.relu(self.gate(x)) + b
        outer = torch.einsum("bi,bj->bij", torch.relu(self.mix(gated)), b).flatten(1)
        square = (gated.unsqueeze(1) @ gated.unsqueeze(2)).squeeze(2)  # a product with itself
        return self.head(torch.cat([outer, gated * square], dim=1))


def test_summation_to_delta_through_products_and_residual_sums() -> None:
    torch.manual_seed(2)
    net = Gated().eval()
    x, x0 = torch.randn(2, 6), torch.randn(2, 6)
    targets = [(0, 0), (1, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        maps, report = fl.attribute(net, x, targets, "deeplift", baseline=x0, return_report=True)
    assert report.exact and report.operations["product"]
    with torch.no_grad():
        change = torch.stack([net(x)[t] - net(x0)[t] for t in targets]).double()
    torch.testing.assert_close(maps.flatten(1).sum(1).double(), change, rtol=1e-5, atol=1e-6)
    assert report.convergence_delta is not None
    assert float(report.convergence_delta.abs().max()) < 1e-5
    # the plain gradient through the products would not sum to the change
    grads = fl.attribute(net, x, targets, "gradient") * (x - x0)
    assert (grads.flatten(1).sum(1).double() - change).abs().max() > 1e-2


def test_the_product_rule_by_hand() -> None:
    """``c = a · b`` with ``a = x₁``, ``b = x₂``: DeepLIFT gives ``Δa (b + b0)/2`` and
    ``Δb (a + a0)/2``."""

    class Product(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x[:, :1] * x[:, 1:]).sum(1, keepdim=True)

    x, x0 = torch.tensor([[3.0, 5.0]]), torch.tensor([[1.0, -2.0]])
    maps = fl.attribute(Product(), x, (0, 0), "deeplift", baseline=x0)
    want = torch.tensor([[(3 - 1) * (5 - 2) / 2, (5 + 2) * (3 + 1) / 2]])
    torch.testing.assert_close(maps, want)


@pytest.mark.parametrize("name", ["default", "seed2018", "reprof"])
def test_summation_to_delta_on_the_shipped_networks(name: str) -> None:
    """Through the default network's trunk, gates and outer products, and its expected
    distance (a softmax over the distogram's bins); seed2018's distances; reprof's sigmoids and
    its normalising division."""
    model = load(name)
    encoded = adapter(name).encoded(fl_protein("MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ")).x
    if name == "default":  # logits: the 8 Å bin of a distogram, a helix score
        targets: list[Any] = [("ss3", 0, 1, 12), ("dist_cb_cb", 0, 11, 4, 25)]
    elif name == "seed2018":  # distances in Å
        targets = [("dist_cb_cb", 0, 4, 25)]
    else:  # a helix probability
        targets = [(0, 0, 12)]
    values = []
    for target in targets:
        head, *index = target
        values.append(lambda out, head=head, index=tuple(index): out[head][index])
    if name == "default":  # the expected Cβ–Cβ distance, as the page reads it
        values.append(lambda out: expected_distance(out["dist_cb_cb"][:, :, 4, 25], dim=1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        maps, report = fl.attribute(model, encoded, values, "deeplift", return_report=True)
    assert report.exact
    with torch.no_grad():
        out, out0 = model(encoded.clone()), model(torch.zeros_like(encoded))
    change = torch.stack([value(out) - value(out0) for value in values]).double()
    total = maps.flatten(1).sum(1).double()
    torch.testing.assert_close(total, change, rtol=1e-4, atol=1e-4 * float(change.abs().max()))


def fl_protein(sequence: str) -> Any:
    from foldlens.protein.record import Protein

    return Protein(sequence)


def test_what_has_no_exact_rule_says_so() -> None:
    net = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2)).eval()
    x = torch.randn(1, 4)
    with pytest.warns(UnsupportedActivationWarning, match="layer_norm"):
        fl.attribute(net, x, (0, 1), "deeplift")
    with pytest.raises(UnsupportedActivationError, match="layer_norm"):
        fl.attribute(net, x, (0, 1), "deeplift", strict=True)


def test_a_nonlinear_readout_of_the_output_is_reported() -> None:
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).eval()
    x = torch.randn(1, 4)
    with pytest.warns(UnsupportedActivationWarning, match="amax"):
        fl.attribute(net, x, lambda out: out.amax(1)[0], "deeplift")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)  # a linear readout is exact
        maps = fl.attribute(net, x, lambda out: out[0, 2] - 2 * out[0, 0], "deeplift")
    with torch.no_grad():
        change = (net(x) - net(torch.zeros_like(x)))[0]
    torch.testing.assert_close(maps.sum(), change[2] - 2 * change[0], rtol=1e-5, atol=1e-6)


ELEMENTWISE: dict[str, Any] = {
    "sigmoid": (nn.Sigmoid, torch.sigmoid),
    "tanh": (nn.Tanh, torch.tanh),
    "gelu": (nn.GELU, lambda t: 0.5 * t * (1 + torch.erf(t / 2**0.5))),
    "elu": (nn.ELU, lambda t: torch.where(t > 0, t, t.exp() - 1)),
    "elu inplace": (lambda: nn.ELU(inplace=True), lambda t: torch.where(t > 0, t, t.exp() - 1)),
    "silu": (nn.SiLU, lambda t: t * torch.sigmoid(t)),
    "softplus": (nn.Softplus, lambda t: torch.log1p(t.exp())),
    "leaky relu": (lambda: nn.LeakyReLU(0.1), lambda t: torch.where(t > 0, t, 0.1 * t)),
    "leaky relu inplace": (
        lambda: nn.LeakyReLU(0.1, inplace=True),
        lambda t: torch.where(t > 0, t, 0.1 * t),
    ),
    "hardtanh": (nn.Hardtanh, lambda t: t.clamp(-1, 1)),
    "tanh_": (lambda: Lambda(torch.Tensor.tanh_), torch.tanh),
}
"""Each module, and the function it computes written out here for the oracle."""


class Lambda(nn.Module):
    def __init__(self, function: Any) -> None:
        super().__init__()
        self.function = function

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)  # type: ignore[no-any-return]


def two_layer_oracle(
    net: nn.Sequential, g: Any, x: torch.Tensor, x0: torch.Tensor, k: int
) -> torch.Tensor:
    """DeepLIFT of ``linear → g → linear`` for output ``k``, written out: the secant of ``g``
    between the two hidden pre-activations times the weights on either side."""
    first, last = net[0], net[2]
    h, h0 = first(x), first(x0)
    secant = (g(h) - g(h0)) / (h - h0)
    multipliers = (last.weight[k] * secant) @ first.weight
    return (multipliers * (x - x0)).detach()


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_rescale_of_elementwise_functions_equals_the_oracle(name: str) -> None:
    """The secant rule for every elementwise function, in float64 against the oracle, and the
    maps sum to the output's change."""
    make, g = ELEMENTWISE[name]
    generator = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(5, 7), make(), nn.Linear(7, 3)).double().eval()
    x = torch.randn(2, 5, generator=generator, dtype=torch.float64)
    x0 = torch.randn(2, 5, generator=generator, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        maps = fl.attribute(net, x, [(0, 1), (1, 2)], "deeplift", baseline=x0)
    with torch.no_grad():
        for m, (row, k) in zip(maps, [(0, 1), (1, 2)], strict=True):
            want = two_layer_oracle(net, g, x[row : row + 1], x0[row : row + 1], k)
            torch.testing.assert_close(m[row : row + 1], want, rtol=1e-9, atol=1e-12)
            change = net(x.clone())[row, k] - net(x0.clone())[row, k]
            torch.testing.assert_close(m.sum(), change, rtol=1e-9, atol=1e-12)


def test_a_difference_too_small_to_divide_takes_the_derivative() -> None:
    """A reference a hair from the input: the multipliers are the derivative (what the secant
    tends to), never the rounding noise of a tiny difference divided by a tiny difference."""
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).eval()
    x = torch.randn(1, 4)
    x0 = x + torch.tensor([[1e-6, -1e-6, 0.0, 2e-6]])
    multipliers = fl.attribute(net, x, (0, 1), "deeplift", baseline=x0) / (x - x0)
    gradient = fl.attribute(net, x, (0, 1), "gradient")
    torch.testing.assert_close(multipliers[:, [0, 1, 3]], gradient[:, [0, 1, 3]], rtol=1e-4, atol=0)


def softmax_oracle(
    z: torch.Tensor, z0: torch.Tensor, weights: torch.Tensor, log: bool
) -> torch.Tensor:
    """Multipliers of ``Σ_b w_b softmax(z)_b`` (``log``: of log-softmax) to ``z``, written out
    from the elementary rules: Rescale for exp and log, the product rule for ``E · (1/D)``."""
    e, e0 = z.exp(), z0.exp()
    r = (e - e0) / (z - z0)  # Δexp / Δz
    d, d0 = e.sum(), e0.sum()
    if log:  # Δ(z_b - log D) = Δz_b - (Δlog D / ΔD) Σ_k r_k Δz_k
        return weights - weights.sum() * (d.log() - d0.log()) / (d - d0) * r
    # Δ(E_b / D) = r_b Δz_b (1/D + 1/D0)/2 + (E_b + E0_b)/2 · (-Σ_k r_k Δz_k / (D D0))
    share = (weights * (e + e0) / 2).sum() / (d * d0)
    return r * (weights * (1 / d + 1 / d0) / 2 - share)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_rule_equals_the_oracle(log: bool) -> None:
    """A weighted sum of softmax (the expected distance's readout) or of log-softmax: the
    engine's multipliers to the logits equal the elementary rules written out, and the maps
    sum to the change."""
    generator = torch.Generator().manual_seed(6)
    z = torch.randn(1, 9, generator=generator, dtype=torch.float64) * 3
    z0 = torch.randn(1, 9, generator=generator, dtype=torch.float64) * 3
    weights = torch.linspace(2.0, 20.0, 9, dtype=torch.float64)

    def readout(out: torch.Tensor) -> torch.Tensor:
        values = out.log_softmax(dim=1) if log else torch.softmax(out, 1)
        return (values * weights).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        maps = fl.attribute(nn.Identity(), z, readout, "deeplift", baseline=z0)
    want = softmax_oracle(z[0], z0[0], weights, log) * (z - z0)[0]
    torch.testing.assert_close(maps[0], want, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(maps.sum(), readout(z) - readout(z0), rtol=1e-9, atol=1e-12)


def test_softmax_spelled_out_gives_the_fused_rule() -> None:
    """``exp(z) / Σ exp(z)`` written out (Rescale, a sum, a quotient) and the fused softmax
    (shifted by a maximum inside) give the same maps."""
    torch.manual_seed(8)
    body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6)).double().eval()
    centres = torch.arange(6, dtype=torch.float64)

    def fused(out: torch.Tensor) -> torch.Tensor:
        return (out.softmax(1) * centres).sum()

    def spelled(out: torch.Tensor) -> torch.Tensor:
        e = out.exp()
        return (e / e.sum(1, keepdim=True) * centres).sum()

    x = torch.randn(1, 4, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        maps = [fl.attribute(body, x, f, "deeplift") for f in (fused, spelled)]
    torch.testing.assert_close(maps[0], maps[1], rtol=1e-9, atol=1e-12)


def test_the_quotient_rule_by_hand() -> None:
    """``c = a / b`` with ``a = x₁``, ``b = x₂``: DeepLIFT gives ``Δa (1/b + 1/b0)/2`` and
    ``-Δb (a + a0)/2 / (b b0)``."""

    class Quotient(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x[:, :1] / x[:, 1:]).sum(1, keepdim=True)

    x, x0 = torch.tensor([[3.0, 5.0]]), torch.tensor([[1.0, 2.0]])
    maps = fl.attribute(Quotient(), x, (0, 0), "deeplift", baseline=x0)
    want = torch.tensor([[(3 - 1) * (1 / 5 + 1 / 2) / 2, -(5 - 2) * (3 + 1) / 2 / (5 * 2)]])
    torch.testing.assert_close(maps, want)
    torch.testing.assert_close(maps.sum(), torch.tensor(3 / 5 - 1 / 2))


def test_a_model_taking_another_path_for_the_reference_is_refused() -> None:
    class Branching(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.fc(x))
            return torch.relu(h) if bool(x.sum() > 0) else h

    with pytest.raises(ReferenceMismatchError, match="one path"):
        fl.attribute(Branching(), torch.ones(1, 3), (0, 0), "deeplift", baseline=0.0)


def test_many_targets_pack_and_equal_one_seed_each() -> None:
    """All L per-residue targets of a convolutional ReLU network share backward passes (the
    Rescale multipliers keep each operation's support), with the same maps as one seed each."""
    torch.manual_seed(5)
    net = nn.Sequential(
        nn.Conv1d(6, 16, 5, padding=2), nn.ReLU(), nn.Conv1d(16, 16, 5, padding=2), nn.Tanh(),
        nn.Conv1d(16, 2, 3, padding=1),
    ).eval()  # fmt: skip
    x = torch.rand(1, 6, 60)
    targets = [(0, 1, i) for i in range(60)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedActivationWarning)
        packed, report = fl.attribute(net, x, targets, "deeplift", return_report=True)
        single = fl.attribute(net, x, targets, "deeplift", packing=False)
    assert report.packing is not None and report.packing.groups < len(targets)
    torch.testing.assert_close(packed, single, rtol=0, atol=0)
