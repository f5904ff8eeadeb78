"""A zoo of small networks, each written with every ReLU spelling, for the engine's tests.

Every architecture calls its activations through :class:`Activations`, which computes
``max(f, 0)`` the way ``spelling`` says. The spelling ``"reference"`` uses :class:`ReferenceReLU`,
this file's own implementation of the three rules, inserted explicitly: a network built with it is
the independent oracle for the same network (same weights) built with any other spelling.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

SPELLINGS = (
    "nn.ReLU",
    "nn.ReLU(inplace)",
    "nn.ReLU reused",
    "F.relu",
    "F.relu(inplace)",
    "F.relu_",
    "torch.relu",
    "torch.relu_",
    "Tensor.relu",
    "Tensor.relu_",
    "clamp(min=0)",
    "threshold(0, 0)",
)


class ReferenceReLU(torch.autograd.Function):
    """ReLU whose backward is written out from Springenberg et al. 2014, Figure 1."""

    rule = "gradient"

    @staticmethod
    def forward(ctx: Any, f: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(f)
        return torch.where(f > 0, f, torch.zeros_like(f))

    @staticmethod
    def backward(ctx: Any, r: torch.Tensor) -> torch.Tensor:
        (f,) = ctx.saved_tensors
        forward_active = (f > 0).to(r.dtype)
        signal_positive = (r > 0).to(r.dtype)
        if ReferenceReLU.rule == "gradient":
            return forward_active * r
        if ReferenceReLU.rule == "deconvnet":
            return signal_positive * r
        if ReferenceReLU.rule == "guided_backprop":
            return forward_active * signal_positive * r
        raise AssertionError(ReferenceReLU.rule)


class Activations(nn.Module):
    """``count`` ReLU call sites, spelled one way."""

    def __init__(self, spelling: str, count: int) -> None:
        super().__init__()
        self.spelling = spelling
        if spelling == "nn.ReLU":
            self.modules_ = nn.ModuleList([nn.ReLU() for _ in range(count)])
        elif spelling == "nn.ReLU(inplace)":
            self.modules_ = nn.ModuleList([nn.ReLU(inplace=True) for _ in range(count)])
        elif spelling == "nn.ReLU reused":
            self.shared = nn.ReLU()

    def forward(self, f: torch.Tensor, site: int) -> torch.Tensor:
        s = self.spelling
        if s in ("nn.ReLU", "nn.ReLU(inplace)"):
            return self.modules_[site](f)
        if s == "nn.ReLU reused":
            return self.shared(f)
        if s == "F.relu":
            return F.relu(f)
        if s == "F.relu(inplace)":
            return F.relu(f, inplace=True)
        if s == "F.relu_":
            return F.relu_(f)
        if s == "torch.relu":
            return torch.relu(f)
        if s == "torch.relu_":
            return torch.relu_(f)
        if s == "Tensor.relu":
            return f.relu()
        if s == "Tensor.relu_":
            f.relu_()
            return f
        if s == "clamp(min=0)":
            return f.clamp(min=0)
        if s == "threshold(0, 0)":
            return F.threshold(f, 0.0, 0.0)
        if s == "reference":
            return ReferenceReLU.apply(f)
        raise AssertionError(s)


class MLP(nn.Module):
    input_shape = (2, 12)

    def __init__(self, spelling: str) -> None:
        super().__init__()
        self.act = Activations(spelling, 2)
        self.fc1, self.fc2, self.fc3 = nn.Linear(12, 16), nn.Linear(16, 16), nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x), 0)
        h = self.act(self.fc2(h), 1)
        return self.fc3(h)


class SkipPath(nn.Module):
    """The pre-activation of a ReLU also feeds a skip path (Captum gets this wrong)."""

    input_shape = (1, 6, 20)

    def __init__(self, spelling: str) -> None:
        super().__init__()
        self.act = Activations(spelling, 2)
        self.conv1 = nn.Conv1d(6, 8, 3, padding=1)
        self.conv2 = nn.Conv1d(8, 8, 3, padding=1)
        self.head = nn.Conv1d(8, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(x)
        skip = h * 1.5
        a = self.act(h, 0)
        out = self.conv2(a) + skip
        return self.head(self.act(out, 1))


class Residual1d(nn.Module):
    """Dilated residual blocks, the shape of the default protein trunk."""

    input_shape = (2, 5, 40)

    def __init__(self, spelling: str) -> None:
        super().__init__()
        self.act = Activations(spelling, 6)
        self.stem = nn.Conv1d(5, 8, 1)
        self.convs = nn.ModuleList(
            [nn.Conv1d(8, 8, 3, padding=d, dilation=d) for d in (1, 2, 4) for _ in range(2)]
        )
        self.head = nn.Conv1d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in range(3):
            r = self.act(self.convs[2 * block](h), 2 * block)
            h = h + self.convs[2 * block + 1](r)
            h = self.act(h, 2 * block + 1)
        return self.head(h)


class Nested(nn.Module):
    """Activations inside Sequential inside ModuleList inside ModuleDict."""

    input_shape = (1, 4, 16)

    def __init__(self, spelling: str) -> None:
        super().__init__()
        self.act = Activations(spelling, 3)
        self.parts = nn.ModuleDict(
            {
                "blocks": nn.ModuleList(
                    [
                        nn.Sequential(nn.Conv1d(4, 6, 3, padding=1)),
                        nn.Sequential(nn.Conv1d(6, 6, 3, padding=1)),
                    ]
                ),
                "head": nn.Sequential(nn.Conv1d(6, 6, 1)),
            }
        )
        self.out = nn.Conv1d(6, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for site, block in enumerate(self.parts["blocks"]):
            h = self.act(block(h), site)
        return self.out(self.act(self.parts["head"](h), 2))


class ConvNormPool(nn.Module):
    """Conv2d, BatchNorm2d (eval), max and average pooling, a Linear head."""

    input_shape = (2, 3, 12, 12)

    def __init__(self, spelling: str) -> None:
        super().__init__()
        self.act = Activations(spelling, 3)
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.norm = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(8 * 3 * 3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(self.act(self.norm(self.conv1(x)), 0))
        h = self.avg(self.act(self.conv2(h), 1))
        return self.fc(self.act(h, 2).flatten(1))


ARCHITECTURES = (MLP, SkipPath, Residual1d, Nested, ConvNormPool)


def build(architecture: type[nn.Module], spelling: str, seed: int) -> nn.Module:
    """The architecture with ``spelling``, weights drawn from ``seed``, in eval mode."""
    torch.manual_seed(seed)
    net = architecture(spelling)  # type: ignore[call-arg]
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def output_shape(net: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(net(x.clone()).shape)


def random_targets(shape: tuple[int, ...], count: int, seed: int) -> list[tuple[int, ...]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        tuple(int(torch.randint(n, (1,), generator=generator)) for n in shape) for _ in range(count)
    ]
