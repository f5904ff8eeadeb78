"""Packing: targets share backward passes only where the forward pass proves their input supports
disjoint, for any output layout; models that would fool a sampled probe get exact maps."""

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
from foldlens.attribution.supports import SupportMode

RULES = ["gradient", "deconvnet", "guided_backprop"]
LENGTH = 96


def unpacked(net: nn.Module, x: torch.Tensor, targets: list, method: str) -> torch.Tensor:
    """The reference: every target its own backward seed."""
    maps = fl.attribute(net, x, targets, method=method, packing=False)
    return maps


class Conv(nn.Module):
    """Two convolutions (receptive field ±4) whose output ``layout`` is one of several."""

    def __init__(self, layout: str) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.layout = layout
        self.conv1 = nn.Conv1d(5, 8, 5, padding=2)
        self.conv2 = nn.Conv1d(8, 3, 5, padding=2)

    def forward(self, x: torch.Tensor) -> Any:
        h = self.conv2(F.relu(self.conv1(x)))  # (B, C, L)
        if self.layout == "BLC":
            return h.transpose(1, 2)
        if self.layout == "B(LC)":
            return h.transpose(1, 2).flatten(1)
        if self.layout == "B(CL)":
            return h.flatten(1)
        if self.layout == "dict":
            return {"per_channel": h, "summed": F.relu(h).sum(dim=1)}
        return h


LAYOUT_TARGETS: dict[str, Callable[[int], Any]] = {
    "BCL": lambda i: (0, 1, i),
    "BLC": lambda i: (0, i, 1),
    "B(LC)": lambda i: (0, 3 * i + 1),
    "B(CL)": lambda i: (0, LENGTH + i),
    "dict": lambda i: ("per_channel", 0, 2, i) if i % 2 else ("summed", 0, i),
}


@pytest.mark.parametrize("method", RULES)
@pytest.mark.parametrize("layout", list(LAYOUT_TARGETS))
def test_every_output_layout_is_packed(layout: str, method: str) -> None:
    net = Conv(layout).eval()
    x = torch.randn(1, 5, LENGTH)
    targets = [LAYOUT_TARGETS[layout](i) for i in range(LENGTH)]
    got, report = fl.attribute(net, x, targets, method=method, return_report=True)
    # Receptive field ±4: at most 9 supports share a position, so 9 groups suffice.
    assert report.packing is not None and report.packing.groups == 9
    assert report.packing.widest == 9 and report.backward_seeds == 9
    torch.testing.assert_close(got, unpacked(net, x, targets, method), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", RULES)
@pytest.mark.parametrize("architecture", [zoo.Residual1d, zoo.SkipPath, zoo.Nested])
def test_all_positions_of_the_zoo_packed(architecture: type[nn.Module], method: str) -> None:
    net = zoo.build(architecture, "F.relu", 1)
    shape = list(architecture.input_shape)  # type: ignore[attr-defined]
    shape[-1] = LENGTH
    x = torch.randn(shape)
    targets = [(0, 1, i) for i in range(LENGTH)]
    got, report = fl.attribute(net, x, targets, method=method, return_report=True)
    assert report.packing is not None and report.backward_seeds < LENGTH // 2
    torch.testing.assert_close(got, unpacked(net, x, targets, method), rtol=1e-5, atol=1e-7)


class Permuted(nn.Module):
    """Output position i is the convolution at position perm[i]: neighbours in the output are
    far apart in the input, which a probe of a few targets would not see."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.conv = Conv("BCL")
        self.register_buffer("perm", torch.randperm(LENGTH))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)[:, :, self.perm]  # type: ignore[index]


class LongRangeLeak(nn.Module):
    """Each output also reads the input half a chain away, at 1e-4 of the local signal."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = Conv("BCL")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        far = torch.roll(x.sum(dim=1, keepdim=True), LENGTH // 2, dims=2)
        return self.conv(x) + 1e-4 * F.relu(far)


class GlobalAt37(nn.Module):
    """One output position also reads the whole input (written in place)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = Conv("BCL")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        out[:, :, 37] = out[:, :, 37] + F.relu(x.sum(dim=(1, 2)))[:, None]
        return out


@pytest.mark.parametrize("method", RULES)
@pytest.mark.parametrize("model", [Permuted, LongRangeLeak, GlobalAt37], ids=lambda m: m.__name__)
def test_models_that_fool_a_probe_get_exact_maps(model: type[nn.Module], method: str) -> None:
    net = model().eval()
    x = torch.randn(1, 5, LENGTH).abs()
    targets = [(0, 0, i) for i in range(LENGTH)]
    got, report = fl.attribute(net, x, targets, method=method, return_report=True)
    want = unpacked(net, x, targets, method)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-12)
    if model is Permuted:  # the permutation is followed exactly: still 9 groups
        assert report.packing is not None and report.packing.groups == 9
    if model is GlobalAt37:  # position 37 overlaps every other support: one group of its own
        assert report.packing is not None and report.packing.groups == 10
    if model is LongRangeLeak:  # the far read is in the maps, not dropped
        far = want[:, 0].abs().sum(dim=1)[torch.arange(LENGTH), (torch.arange(LENGTH) + 48) % 96]
        assert bool((far > 0).all())


class CustomBackward(torch.autograd.Function):
    """Identity forward whose backward spreads the gradient over the whole row."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor) -> torch.Tensor:
        return h.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad + grad.sum(dim=-1, keepdim=True)


class Hooked(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.conv = Conv("BCL")
        self.scripted = torch.jit.script(_spread)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv.conv1(x))
        if self.how == "custom Function":
            h = CustomBackward.apply(h)
        elif self.how == "tensor hook":
            h = h * 1
            h.register_hook(lambda g: g + g.sum(dim=-1, keepdim=True))
        elif self.how == "TorchScript function":
            h = self.scripted(h)
        elif self.how == "torch functions disabled":
            with torch._C.DisableTorchFunction():
                hidden = torch.roll(h, LENGTH // 2, dims=2)
            h = h + hidden
        elif self.how == "in-place on a shared view":
            view = h[:, :, :]
            h += x.sum(dim=(1, 2)).reshape(-1, 1, 1)  # widens h, and so the view
            h = view
        return self.conv.conv2(h)


def _spread(h: torch.Tensor) -> torch.Tensor:
    return h + h.mean(dim=-1, keepdim=True)


@pytest.mark.parametrize(
    "how",
    [
        "custom Function",
        "tensor hook",
        "TorchScript function",
        "torch functions disabled",
        "in-place on a shared view",
    ],
)
def test_what_the_derivation_cannot_see_is_not_packed(how: str) -> None:
    """Not packed; and what the rules could not reach is also named in the report."""
    net = Hooked(how).eval()
    x = torch.randn(1, 5, LENGTH)
    targets = [(0, 0, i) for i in range(LENGTH)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fl.UnsupportedActivationWarning)
        got, report = fl.attribute(net, x, targets, method="guided_backprop", return_report=True)
        want = unpacked(net, x, targets, "guided_backprop")
    assert report.packing is None
    torch.testing.assert_close(got, want)
    flagged = [record.function for record in report.unsupported]
    assert bool(flagged) == (how != "in-place on a shared view"), flagged


def _pooled_2d() -> nn.Module:
    """Same-padding, pooling, and a dilated circular-padded convolution."""
    torch.manual_seed(6)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2, 1),
        nn.Conv2d(4, 2, 3, padding=2, dilation=2, padding_mode="circular"),
    ).eval()


CONTAINMENT_MODELS: dict[str, Callable[[], tuple[nn.Module, torch.Tensor]]] = {
    **{
        f"zoo {a.__name__}": (
            lambda a=a: (zoo.build(a, "Tensor.relu_", 2), torch.randn(a.input_shape))
        )
        for a in zoo.ARCHITECTURES
    },
    **{
        f"layout {k}": (lambda k=k: (Conv(k).eval(), torch.randn(1, 5, 24)))
        for k in ("BLC", "B(LC)")
    },
    "permuted": lambda: (Permuted().eval(), torch.randn(1, 5, LENGTH)),
    "leak": lambda: (LongRangeLeak().eval(), torch.randn(1, 5, LENGTH)),
    "global at 37": lambda: (GlobalAt37().eval(), torch.randn(1, 5, LENGTH)),
    "pooled 2d": lambda: (_pooled_2d(), torch.randn(1, 2, 16, 12)),
    "attention": lambda: (_Attention().eval(), torch.randn(2, 10, 6)),
    "weights from the input": lambda: (_InputWeights().eval(), torch.randn(1, 5, 30)),
}


class _InputWeights(nn.Module):
    """A convolution and a linear map whose weights are computed from the whole input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = x.mean(dim=(0, 2)).reshape(1, -1, 1).expand(4, -1, 3)
        h = F.conv1d(x, weight, padding=1)
        return F.linear(h.transpose(1, 2), h.mean(dim=2)[0].reshape(1, 4).expand(2, 4))


class _Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.attention = nn.MultiheadAttention(6, 2, batch_first=True)
        self.norm = nn.LayerNorm(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.attention(x, x, x)
        return self.norm(F.relu(h) + x)


@pytest.mark.parametrize("name", list(CONTAINMENT_MODELS))
def test_every_gradient_lies_inside_its_derived_support(name: str) -> None:
    """The property packing rests on, checked element by element: for every output element, the
    plain gradient (and the rule maps) is zero outside the interval derived for it, along every
    axis of the input."""
    net, x = CONTAINMENT_MODELS[name]()
    supports = SupportMode()
    leaf = x.clone().requires_grad_(True)
    supports.track_origin(leaf)
    with supports:
        out = net(leaf.clone())
    assert supports.sound
    flat = out.flatten()
    for k in range(flat.numel()):
        (grad,) = torch.autograd.grad(flat[k], leaf, retain_graph=True)
        element = tuple(int(i) for i in torch.unravel_index(torch.tensor(k), out.shape))
        for axis in supports.axes:
            bounds = supports.interval(out, axis)
            assert bounds is not None
            lo, hi = float(bounds[0][element]), float(bounds[1][element])
            reached = grad.movedim(axis, 0).flatten(1).ne(0).any(dim=1).nonzero().flatten()
            if reached.numel():
                assert lo <= int(reached.min()) and int(reached.max()) <= hi, (element, axis)
