"""foldlens against Captum 0.9, on the same models and inputs, in one run.

    python -m benchmarks.attribution [--lengths 128 256 512] [--repeats 3]

Model: five Conv1d layers (41 → 128 → 128 → 128 → 128 → 3 channels, kernel 9, ReLU between them;
receptive field 41 residues) on a random input of shape (1, 41, L).

(a) One target (0, 0, L/2): a bare forward + backward with plain autograd, foldlens and Captum.
(b) All L per-residue targets (class 0 at residue i), with the output laid out as (B, C, L),
    (B, L, C) or flattened (B, L·C): foldlens with one call (packed backward passes, and with
    ``packing=False`` one batched backward seed per target), Captum's per-target loop, and Captum on
    L stacked copies of the input (one target per copy).
(c) Gradient, deconvnet and guided backpropagation of one target: three ``attribute`` calls
    against one ``attribute_each`` call (one shared forward pass, three backward passes).
(d) The op audit: a forward pass under the rules and the allow-list audit against a plain forward
    pass, and their difference as a share of one guided-backpropagation call.

Each time is the median of ``--repeats`` runs; the ratio columns are Captum's time over foldlens'.
The last column is the largest difference between foldlens' maps and Captum's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

import captum.attr
import torch
from torch import nn

import foldlens as fl
from foldlens.attribution.session import AttributionSession

CAPTUM = {
    "gradient": lambda net: captum.attr.Saliency(net),
    "guided_backprop": captum.attr.GuidedBackprop,
}
CAPTUM_OPTIONS = {"gradient": {"abs": False}, "guided_backprop": {}}
RULES = ("gradient", "deconvnet", "guided_backprop")


def five_layer_net(channels: int = 128, kernel: int = 9) -> nn.Module:
    torch.manual_seed(0)
    sizes = [41, channels, channels, channels, channels, 3]
    layers: list[nn.Module] = []
    for i in range(5):
        layers.append(nn.Conv1d(sizes[i], sizes[i + 1], kernel, padding=kernel // 2))
        if i < 4:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers).eval()


def median_seconds(fn: Callable[[], torch.Tensor], repeats: int) -> tuple[float, torch.Tensor]:
    """Median seconds of ``repeats`` calls after a warm-up call, and the warm-up's result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def interleaved_medians(
    calls: dict[str, Callable[[], torch.Tensor]], rounds: int
) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Median seconds of each call, measured in alternation so that machine noise hits all alike."""
    results = {name: call() for name, call in calls.items()}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, results


def bare_forward_backward(net: nn.Module, x: torch.Tensor, target: tuple[int, ...]) -> torch.Tensor:
    leaf = x.clone().requires_grad_(True)
    return torch.autograd.grad(net(leaf)[target], leaf)[0]


class Layout(nn.Module):
    """The five-layer net with its output ``(1, 3, L)`` laid out as ``layout``."""

    def __init__(self, net: nn.Module, layout: str) -> None:
        super().__init__()
        self.net, self.layout = net, layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        if self.layout == "(B, L, C)":
            return out.transpose(1, 2)
        if self.layout == "(B, L*C)":
            return out.transpose(1, 2).flatten(1)
        return out


LAYOUTS: dict[str, Callable[[int], tuple[int, ...]]] = {
    "(B, C, L)": lambda i: (0, i),
    "(B, L, C)": lambda i: (i, 0),
    "(B, L*C)": lambda i: (3 * i,),
}
"""Each layout's target for residue i (class 0), without the batch index."""


def captum_loop(net: nn.Module, method: str, x: torch.Tensor, targets: list) -> torch.Tensor:
    explainer = CAPTUM[method](net)
    return torch.stack(
        [explainer.attribute(x, target=t, **CAPTUM_OPTIONS[method]) for t in targets]
    )


def captum_copies(net: nn.Module, method: str, x: torch.Tensor, targets: list) -> torch.Tensor:
    explainer = CAPTUM[method](net)
    copies = x.expand(len(targets), *x.shape[1:]).contiguous()
    return explainer.attribute(copies, target=targets, **CAPTUM_OPTIONS[method])[:, None]


def one_target_row(net: nn.Module, method: str, length: int, rounds: int) -> str:
    x = torch.randn(1, 41, length)
    target = (0, 0, length // 2)
    explainer = CAPTUM[method](net)
    calls = {
        "bare": partial(bare_forward_backward, net, x, target),
        "foldlens": partial(fl.attribute, net, x, target, method=method),
        "captum": partial(explainer.attribute, x, target=target[1:], **CAPTUM_OPTIONS[method]),
    }
    times, results = interleaved_medians(calls, rounds)
    diff = float((results["foldlens"] - results["captum"]).abs().max())
    bare, ours, theirs = times["bare"], times["foldlens"], times["captum"]
    return (
        f"{length:>5} {method:<16} {bare:>11.4f} {ours:>10.4f} {theirs:>10.4f} "
        f"{ours / bare:>14.2f} {theirs / ours:>16.2f} {diff:>11.1e}"
    )


def all_targets_row(net: nn.Module, layout: str, method: str, length: int, repeats: int) -> str:
    model = Layout(net, layout).eval()
    x = torch.randn(1, 41, length)
    captum_targets = [LAYOUTS[layout](i) for i in range(length)]
    targets = [(0, *t) for t in captum_targets]
    ours, mine = median_seconds(partial(fl.attribute, model, x, targets, method=method), repeats)
    unpacked, _ = median_seconds(
        partial(fl.attribute, model, x, targets, method=method, packing=False),
        repeats,
    )
    loop, _ = median_seconds(partial(captum_loop, model, method, x, captum_targets), repeats)
    copies, reference = median_seconds(
        partial(captum_copies, model, method, x, captum_targets), repeats
    )
    diff = float((mine - reference).abs().max())
    return (
        f"{length:>5} {layout:<10} {method:<16} {ours:>9.3f} {unpacked:>9.3f} {loop:>12.3f} "
        f"{copies:>14.3f} {loop / ours:>14.2f} {copies / ours:>16.2f} {diff:>11.1e}"
    )


def shared_forward_row(net: nn.Module, length: int, rounds: int) -> str:
    x = torch.randn(1, 41, length)
    target = (0, 0, length // 2)

    def separate() -> torch.Tensor:
        return torch.stack([fl.attribute(net, x, target, method=m) for m in RULES])

    def together() -> torch.Tensor:
        return torch.stack(list(fl.attribute_each(net, x, target, RULES).values()))

    times, results = interleaved_medians({"separate": separate, "together": together}, rounds)
    diff = float((results["separate"] - results["together"]).abs().max())
    return (
        f"{length:>5} {times['separate']:>15.4f} {times['together']:>15.4f} "
        f"{times['separate'] / times['together']:>9.2f} {diff:>11.1e}"
    )


def audit_row(net: nn.Module, length: int, rounds: int) -> str:
    """A forward pass under the rules and the op audit (as every call makes one) against a plain
    forward pass; the difference bounds what the audit adds to a one-target call."""
    x = torch.randn(1, 41, length)
    target = (0, 0, length // 2)
    session = AttributionSession(net, (x,), None, [target], "guided_backprop", False)

    def plain() -> torch.Tensor:
        return net(x.clone().requires_grad_(True))  # type: ignore[no-any-return]

    def audited() -> torch.Tensor:
        return session.forward(measure=False).output  # type: ignore[no-any-return]

    with session:
        calls = {
            "plain": plain,
            "audited": audited,
            "call": partial(fl.attribute, net, x, target, method="guided_backprop"),
        }
        times, _ = interleaved_medians(calls, rounds)
    extra = max(times["audited"] - times["plain"], 0.0)
    return (
        f"{length:>5} {times['plain']:>13.4f} {times['audited']:>13.4f} {times['call']:>13.4f} "
        f"{extra / times['call']:>18.1%}"
    )


def run(lengths: list[int], repeats: int) -> None:
    net = five_layer_net()
    print(
        f"torch {torch.__version__}, captum {captum.__version__}, threads {torch.get_num_threads()}"
    )
    print(f"\n(a) one target (0, 0, L/2); calls interleaved, median of {10 * repeats}")
    print(
        f"{'L':>5} {'method':<16} {'bare fw+bw':>11} {'foldlens':>10} {'captum':>10} "
        f"{'foldlens/bare':>14} {'captum/foldlens':>16} {'max |diff|':>11}"
    )
    for length in lengths:
        for method in CAPTUM:
            print(one_target_row(net, method, length, 10 * repeats))
    print("\n(b) all L per-residue targets (class 0 at residue i) in three output layouts")
    print(f"    median of {repeats}")
    print(
        f"{'L':>5} {'layout':<10} {'method':<16} {'foldlens':>9} {'unpacked':>9} "
        f"{'captum loop':>12} {'captum copies':>14} {'loop/foldlens':>14} "
        f"{'copies/foldlens':>16} {'max |diff|':>11}"
    )
    for length in lengths:
        for layout in LAYOUTS:
            for method in CAPTUM:
                print(all_targets_row(net, layout, method, length, repeats))
    print(f"\n(c) {', '.join(RULES)} of one target; calls interleaved, median of {10 * repeats}")
    print(f"{'L':>5} {'three calls':>15} {'attribute_each':>15} {'speed-up':>9} {'max |diff|':>11}")
    for length in lengths:
        print(shared_forward_row(net, length, 10 * repeats))
    print(f"\n(d) a forward pass under the rules and the op audit; median of {10 * repeats}")
    print(
        f"{'L':>5} {'plain forward':>13} {'audited':>13} {'one call':>13} "
        f"{'(audited-plain)/call':>18}"
    )
    for length in lengths:
        print(audit_row(net, length, 10 * repeats))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.lengths, args.repeats)


if __name__ == "__main__":
    main()
