"""LRP and DeepLIFT next to guided backpropagation, and against Captum 0.9, in one run.

    python -m benchmarks.relevance [--lengths 128 256] [--repeats 3]

(a) One target (0, 0, L/2) of the five-layer Conv1d network of :mod:`benchmarks.attribution`
    on a random input in [0, 1): guided backpropagation, DeepLIFT (zero reference) and LRP under
    each named composite, with Captum's DeepLift and LRP (ε = 1e-9 on every convolution: the
    rules both implement alike; Captum's γ and αβ recompute the forward pass with the modified
    weights, which the textbook rules do not) where it has them.
(b) All L per-residue targets: packed backward passes against one seed per target.
(c) The shipped default network through the explorer's view: one contact cell and one SS3
    residue of a 300-residue protein, as the page asks for them.

Times are medians of ``--repeats`` runs (calls interleaved in (a)); ratios are over guided
backpropagation's time in the same run.
"""

from __future__ import annotations

import argparse
import warnings
from functools import partial

import captum.attr
import numpy as np
import torch
from captum.attr._utils.lrp_rules import EpsilonRule

import foldlens as fl
from benchmarks.attribution import five_layer_net, interleaved_medians, median_seconds
from foldlens.attribution.lrp_composites import NAMED
from foldlens.models import adapter, load
from foldlens.models.views import OutputTarget
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.record import Protein
from foldlens.service.explain import explain
from foldlens.service.method_options import check_options

COMPOSITES = ("epsilon_plus", "epsilon_gamma_box", "epsilon_alpha2_beta1")


def captum_lrp(x: torch.Tensor, target: tuple[int, ...]) -> torch.Tensor:
    net = five_layer_net()
    for layer in net:
        if isinstance(layer, torch.nn.Conv1d):
            layer.rule = EpsilonRule(epsilon=1e-9)  # type: ignore[assignment]
    return captum.attr.LRP(net).attribute(x, target=target)  # type: ignore[no-any-return]


def one_target_rows(length: int, rounds: int) -> list[str]:
    net = five_layer_net()
    x = torch.rand(1, 41, length)
    target = (0, 0, length // 2)
    calls = {
        "guided_backprop": partial(fl.attribute, net, x, target, "guided_backprop"),
        "deeplift": partial(fl.attribute, net, x, target, "deeplift"),
        "captum deeplift": partial(
            captum.attr.DeepLift(net).attribute, x, target=target[1:], baselines=0.0
        ),
        "lrp epsilon": partial(
            fl.attribute, net, x, target, "lrp", composite="epsilon", epsilon=1e-9
        ),
        "captum lrp epsilon": partial(captum_lrp, x, target[1:]),
        **{
            f"lrp {name}": partial(fl.attribute, net, x, target, "lrp", composite=name)
            for name in COMPOSITES
        },
    }
    times, results = interleaved_medians(calls, rounds)
    base = times["guided_backprop"]
    rows = []
    for name, seconds in times.items():
        if name.startswith("captum"):
            continue
        theirs = f"captum {name}"
        against = times.get(theirs)
        diff = (
            f"{float((results[name] - results[theirs]).abs().max()):>11.1e}"
            if theirs in results
            else f"{'':>11}"
        )
        captum_time = f"{against:>10.4f}" if against is not None else f"{'':>10}"
        rows.append(
            f"{length:>5} {name:<26} {seconds:>10.4f} {seconds / base:>9.2f} {captum_time} {diff}"
        )
    return rows


def all_targets_rows(length: int, repeats: int) -> list[str]:
    net = five_layer_net()
    x = torch.rand(1, 41, length)
    targets = [(0, 0, i) for i in range(length)]
    rows = []
    base = None
    for method, options in (
        ("guided_backprop", {}),
        ("deeplift", {}),
        ("lrp", {"composite": "epsilon_plus"}),
        ("lrp", {"composite": "epsilon_alpha2_beta1"}),
    ):
        packed, maps = median_seconds(
            partial(fl.attribute, net, x, targets, method, **options), repeats
        )
        single, plain = median_seconds(
            partial(fl.attribute, net, x, targets, method, packing=False, **options), repeats
        )
        base = base or packed
        diff = float((maps - plain).abs().max())
        label = method + (f" {options['composite']}" if options else "")
        rows.append(
            f"{length:>5} {label:<26} {packed:>9.3f} {single:>10.3f} {single / packed:>9.2f} "
            f"{packed / base:>9.2f} {diff:>11.1e}"
        )
    return rows


def explorer_rows(repeats: int) -> list[str]:
    found, model = adapter("default"), load("default")
    rng = np.random.default_rng(0)
    inputs = found.encoded(Protein("".join(rng.choice(list(AMINO_ACIDS), 300))))
    rows = []
    for target in (OutputTarget("contact", 100, 160), OutputTarget("ss3", 150, None, 0)):
        base = None
        for method, options in (
            ("guided_backprop", {}),
            ("deeplift", {}),
            *(("lrp", {"composite": name}) for name in COMPOSITES),
        ):
            checked = check_options(method, options)
            seconds, answer = median_seconds(
                partial(explain, model, found, inputs, target, method, checked), repeats
            )
            base = base or seconds
            label = method + (f" {options['composite']}" if options else "")
            rows.append(
                f"{target.head:<8} {label:<26} {seconds:>9.3f} {seconds / base:>9.2f} "
                f"{'yes' if answer.exact else 'no':>6}"
            )
    return rows


def run(lengths: list[int], repeats: int) -> None:
    warnings.filterwarnings("ignore", module="captum")
    print(
        f"torch {torch.__version__}, captum {captum.__version__}, threads {torch.get_num_threads()}"
    )
    print(f"named composites: {', '.join(NAMED)}")
    print(f"\n(a) one target (0, 0, L/2); calls interleaved, median of {10 * repeats}")
    print(
        f"{'L':>5} {'method':<26} {'foldlens':>10} {'/guided':>9} {'captum':>10} {'max |diff|':>11}"
    )
    for length in lengths:
        for row in one_target_rows(length, 10 * repeats):
            print(row)
    print(f"\n(b) all L per-residue targets; median of {repeats}")
    print(
        f"{'L':>5} {'method':<26} {'packed':>9} {'unpacked':>10} {'speed-up':>9} "
        f"{'/guided':>9} {'max |diff|':>11}"
    )
    for length in lengths:
        for row in all_targets_rows(length, repeats):
            print(row)
    print(f"\n(c) the default network, L = 300, through the explorer's view; median of {repeats}")
    print(f"{'target':<8} {'method':<26} {'seconds':>9} {'/guided':>9} {'exact':>6}")
    for row in explorer_rows(repeats):
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.lengths, args.repeats)


if __name__ == "__main__":
    main()
