"""``foldlens explain-demo``: train a small ReLU network to find hydrophobic patches, explain it.

The network reads a one-hot sequence ``x`` (20 × L) and learns the patch score

    y_i = max(0, (1/7) Σ_{|j - i| ≤ 3} h(a_j))

where ``h`` is the Kyte–Doolittle hydropathy of amino acid ``a_j``. The true dependence is known:
``y_i`` rises with hydrophobic residues (I, V, L, F, ...) within 3 positions of ``i`` and falls with
polar ones. A faithful explanation of ``y_i`` must put its weight there, which is what the demo
shows on ubiquitin, method by method, together with the L × L influence matrix of guided
backpropagation computed for all residues at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attribution import attribute
from .protein import AMINO_ACIDS, one_hot

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
KYTE_DOOLITTLE = dict(
    zip(AMINO_ACIDS, [1.8, -4.5, -3.5, -3.5, 2.5, -3.5, -3.5, -0.4, -3.2, 4.5,
                      3.8, -3.9, 1.9, 2.8, -1.6, -0.8, -0.7, -0.9, -1.3, 4.2], strict=True)
)  # fmt: skip
HALF_WINDOW = 3
DEMO_METHODS = (
    "gradient",
    "deconvnet",
    "guided_backprop",
    "input_x_gradient",
    "integrated_gradients",
    "smoothgrad",
    "occlusion",
)


class PatchNet(nn.Module):
    """Three Conv1d layers with ReLUs; receptive field 9 residues."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(len(AMINO_ACIDS), channels, 5, padding=2)
        self.conv2 = nn.Conv1d(channels, channels, 5, padding=2)
        self.head = nn.Conv1d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(F.relu(self.conv2(F.relu(self.conv1(x)))))
        return out


def patch_score(x: torch.Tensor) -> torch.Tensor:
    """The true score ``y`` for one-hot sequences ``x`` of shape ``(batch, 20, L)``."""
    hydropathy = torch.tensor([KYTE_DOOLITTLE[aa] for aa in AMINO_ACIDS])
    per_residue = torch.einsum("a,bal->bl", hydropathy, x)[:, None]
    width = 2 * HALF_WINDOW + 1
    window: torch.Tensor = F.avg_pool1d(
        per_residue, width, stride=1, padding=HALF_WINDOW, count_include_pad=True
    )
    return window.clamp(min=0)


def train_patch_net(
    steps: int = 400, seed: int = 0, progress: Callable[[int, float], None] | None = None
) -> PatchNet:
    """Fit :class:`PatchNet` to :func:`patch_score` on random sequences (a few seconds on a CPU)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = PatchNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for step in range(1, steps + 1):
        letters = torch.randint(len(AMINO_ACIDS), (32, 64), generator=generator)
        x = F.one_hot(letters, len(AMINO_ACIDS)).float().transpose(1, 2)
        loss = F.mse_loss(net(x), patch_score(x))
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if progress is not None:
            progress(step, loss.item())
    return net.eval()


@dataclass(frozen=True)
class DemoResult:
    """What ``explain-demo`` wrote and measured."""

    residue: int
    predicted: float
    true: float
    seconds: dict[str, float]
    window_share: dict[str, float]
    files: list[Path]


def run_demo(
    out: Path,
    residue: int | None = None,
    steps: int = 400,
    progress: Callable[[int, float], None] | None = None,
) -> DemoResult:
    """Train, explain residue ``residue`` of ubiquitin (default: the highest score) with every
    demo method, compute the influence matrix, and write arrays and figures to ``out``.

    ``window_share`` is each method's fraction of attribution magnitude inside the true window
    ``|j - i| ≤ 3``: near 1 for a faithful map.
    """
    net = train_patch_net(steps=steps, progress=progress)
    x = one_hot(UBIQUITIN)[None]
    length = x.shape[-1]
    with torch.no_grad():
        predicted = net(x)[0, 0]
    if residue is None:
        residue = int(predicted.argmax())
    if not 0 <= residue < length:
        raise ValueError(f"residue must be in 0..{length - 1} for ubiquitin, got {residue}")
    maps: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for method in DEMO_METHODS:
        options: dict[str, Any] = {"window": 1} if method == "occlusion" else {}
        start = time.perf_counter()
        result = attribute(net, x, (0, 0, residue), method=method, **options)
        seconds[method] = time.perf_counter() - start
        maps[method] = result[0].numpy()
    start = time.perf_counter()
    influence = attribute(net, x, [(0, 0, i) for i in range(length)], method="guided_backprop")
    seconds["guided_backprop, all residues"] = time.perf_counter() - start
    matrix = influence[:, 0].abs().sum(dim=1).numpy()  # (output residue, input residue)

    out.mkdir(parents=True, exist_ok=True)
    arrays = out / "maps.npz"
    named = {"sequence": np.array(UBIQUITIN), "residue": np.array(residue), "influence": matrix}
    np.savez(arrays, **named, **maps)  # type: ignore[arg-type]  # numpy stubs: allow_pickle
    figures = [
        _plot_maps(out / "maps.png", maps, residue),
        _plot_influence(out / "influence.png", matrix),
    ]
    lo, hi = max(residue - HALF_WINDOW, 0), residue + HALF_WINDOW + 1
    share = {
        m: float(np.abs(a[:, lo:hi]).sum() / max(np.abs(a).sum(), 1e-12)) for m, a in maps.items()
    }
    return DemoResult(
        residue=residue,
        predicted=float(predicted[residue]),
        true=float(patch_score(x)[0, 0, residue]),
        seconds=seconds,
        window_share=share,
        files=[arrays, *figures],
    )


def _plot_maps(path: Path, maps: dict[str, np.ndarray], residue: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(maps), 1, figsize=(14, 2.1 * len(maps)), sharex=True)
    for ax, (method, values) in zip(axes, maps.items(), strict=True):
        limit = float(np.abs(values).max()) or 1.0
        ax.imshow(
            values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest"
        )
        ax.axvline(residue, color="k", lw=0.8, ls="--")
        ax.set_yticks(range(len(AMINO_ACIDS)), list(AMINO_ACIDS), fontsize=5)
        ax.set_ylabel(method, fontsize=8)
    axes[-1].set_xticks(range(len(UBIQUITIN)), list(UBIQUITIN), fontsize=5)
    axes[0].set_title(
        f"What drives the patch score at residue {residue + 1} of ubiquitin (red +, blue −)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def _plot_influence(path: Path, matrix: np.ndarray) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import residue_extent

    fig, ax = plt.subplots(figsize=(6, 5.4))
    image = ax.imshow(
        matrix, cmap="magma", interpolation="nearest", extent=residue_extent(len(matrix))
    )
    ax.set_xlabel("input residue j")
    ax.set_ylabel("output residue i")
    ax.set_title("Guided backprop |attribution| of y_i to residue j")
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
