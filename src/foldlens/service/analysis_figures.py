"""One matplotlib figure per analysis result (the JSON of :func:`.analyses.run_analysis`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis.randomization import BARELY_ABOVE, DEPENDS_BELOW


def analysis_figure(result: dict[str, Any], description: str) -> Any:
    """The figure of ``result``, titled with what was analysed."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8, 4.8), layout="constrained")
    _DRAW[result["analysis"]](fig, result)
    fig.suptitle(f"{result['analysis'].replace('_', ' ')}: {description}", fontsize=9)
    return fig


def _randomization(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    layers = ["none", *result["layers"]]
    steps = np.arange(len(layers))
    for method, similarities in result["similarities"].items():
        absolute = [1.0] + [s["spearman_absolute"] for s in similarities]
        signed = [1.0] + [s["spearman_signed"] for s in similarities]
        kept, total = result["unchanged_layers"][method], len(result["layers"])
        label = (
            f"{method}: {result['verdicts'][method]} "
            f"(ρ(|map|) > {BARELY_ABOVE} for {kept} of {total} layers)"
        )
        (line,) = ax.plot(steps, absolute, marker="o", markersize=3, label=label)
        ax.plot(steps, signed, linestyle="--", color=line.get_color(), linewidth=0.8)
    for threshold in (DEPENDS_BELOW, BARELY_ABOVE):
        ax.axhline(threshold, color="grey", linewidth=0.6, linestyle=":")
    cascade = result["mode"] == "cascade"
    ax.set_xticks(steps, layers, rotation=90, fontsize=6)
    ax.set_xlabel("randomized down to this layer" if cascade else "layer randomized alone")
    ax.set_ylabel("Spearman ρ with the original map\n(solid: |values|, dashed: signed)")
    ax.set_ylim(-1.05, 1.05)
    ax.legend(fontsize=7, loc="lower left")


def _random_target(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    methods = list(result["similarities"])
    for k, method in enumerate(methods):
        values = [s["spearman_absolute"] for s in result["similarities"][method]]
        ax.scatter(np.full(len(values), k), values, s=14, alpha=0.7)
        ax.bar(k, float(np.mean(values)), width=0.6, alpha=0.3)
    ax.set_xticks(range(len(methods)), methods)
    ax.set_ylabel("Spearman ρ of |map| with another target's")
    ax.set_ylim(-1.05, 1.05)


def _deletion(fig: Any, result: dict[str, Any]) -> None:
    left, right = fig.subplots(1, 2, sharey=True)
    for ax, kind in ((left, "deletion"), (right, "insertion")):
        for key, label, style in ((kind, "map order", "-"), (f"random_{kind}", "random", "--")):
            curve = result[key]
            ax.plot(curve["fractions"], curve["values"], style,
                    label=f"{label} (AUC {curve['auc']:.3g})")  # fmt: skip
        ax.set_xlabel(f"fraction of residues {'removed' if kind == 'deletion' else 'restored'}")
        ax.set_title(kind, fontsize=9)
        ax.legend(fontsize=7)
    left.set_ylabel("target")


def _receptive_field(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    for method, means in result["magnitude"].items():
        ax.plot(result["distances"], means, label=method)
    radius = result["theoretical_radius"]
    if radius is not None:
        ax.axvline(radius, color="grey", linestyle=":", label=f"receptive field ({radius})")
    ax.set_xlabel("sequence distance from the target residue(s)")
    ax.set_ylabel("mean |attribution| per residue")
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.legend(fontsize=7)


def _follow_gradient(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    ax.plot(result["epsilons"], result["values"], marker="o", markersize=3)
    ax.axvline(0, color="grey", linewidth=0.6)
    ax.set_xlabel(f"ε (input + ε · {result['options']['method']} map)")
    ax.set_ylabel("target")


def _coevolution(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    ax.scatter(result.get("coupling", []), result.get("attribution", []), s=6, alpha=0.5)
    ax.set_xlabel(f"APC coupling of the MSA (Neff {result['neff']:.1f})")
    ax.set_ylabel(f"|{result['method']}| attribution to the input of {result['layer']}")
    if result["spearman"] is not None:
        words = f"Spearman {result['spearman']:.2f}, top-{result['top']} overlap"
        ax.set_title(f"{words} {result['top_overlap']:.2f}, {result['cells']} pairs", fontsize=9)


def _input_correlation(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    features = result["features"]
    methods = list(result["correlation"])
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        found = result["correlation"][method]
        ax.bar(np.arange(len(features)) + k * width, found["per_feature"], width,
               label=f"{method} (all: r = {found['overall']:.2f})")  # fmt: skip
    short = [f.replace("one-hot ", "").replace("profile ", "p") for f in features]
    ax.set_xticks(np.arange(len(features)) + 0.4 - width / 2, short, fontsize=5, rotation=90)
    ax.set_ylabel("Pearson r (attribution, feature value)")
    ax.legend(fontsize=7)


def _aa_patterns(fig: Any, result: dict[str, Any]) -> None:
    alphabet = list(result["alphabet"])
    tables = result.get("pair_table", {})
    axes = fig.subplots(1, 2 if tables else 1, squeeze=False)[0]
    methods = list(result["by_type"])
    width = 0.8 / len(methods)
    for k, method in enumerate(methods):
        values = [np.nan if v is None else v for v in result["by_type"][method]]
        axes[0].bar(np.arange(20) + k * width, values, width, label=method)
    axes[0].set_xticks(np.arange(20) + 0.4 - width / 2, alphabet)
    axes[0].set_ylabel("mean per-residue attribution")
    axes[0].legend(fontsize=7)
    if tables:
        method = methods[0]
        table = np.array([[np.nan if v is None else v for v in row] for row in tables[method]])
        bound = float(np.nanmax(np.abs(table))) if np.isfinite(table).any() else 1.0
        image = axes[1].imshow(table, cmap="RdBu_r", vmin=-bound, vmax=bound)
        axes[1].set_xticks(range(20), alphabet, fontsize=6)
        axes[1].set_yticks(range(20), alphabet, fontsize=6)
        axes[1].set_title(f"{method}: s_i + s_j by pair type", fontsize=8)
        fig.colorbar(image, ax=axes[1], shrink=0.8)


def _categorical_jacobian(fig: Any, result: dict[str, Any]) -> None:
    ax = fig.subplots()
    coupling = np.asarray(result["coupling"])
    image = ax.imshow(coupling, cmap="viridis", origin="upper", interpolation="nearest")
    pairs = [(p["i"], p["j"]) for p in result["top_pairs"]]
    ax.scatter([j for _, j in pairs], [i for i, _ in pairs], s=16, facecolors="none",
               edgecolors="tab:red", linewidths=0.8, label="strongest pairs")  # fmt: skip
    ax.set_xlabel("residue j")
    ax.set_ylabel("residue i")
    ax.legend(loc="lower left", fontsize=7)
    fig.colorbar(image, ax=ax, label="APC-corrected Jacobian coupling")
    ax.set_title(f"categorical Jacobian of {', '.join(result['heads'])}", fontsize=9)


_DRAW: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "randomization": _randomization,
    "random_target": _random_target,
    "deletion": _deletion,
    "receptive_field": _receptive_field,
    "follow_gradient": _follow_gradient,
    "input_correlation": _input_correlation,
    "aa_patterns": _aa_patterns,
    "coevolution": _coevolution,
    "categorical_jacobian": _categorical_jacobian,
}
