"""An atlas's figures and its self-contained HTML report, from the aggregates
(:mod:`.aggregates`): written as ``aggregates.json``, ``proteins.json``, ``figures/*.svg`` and
``report.html`` (figures inline, no request beyond the file), and served by
``foldlens serve --atlas``."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .aggregates import PARTS, VERDICTS

CAPTIONS = {
    "amino_acid_pairs": "Contacts by the amino-acid pair of their residues: mean s_i + s_j "
    "(the residues' own signed attribution), counted both ways.",
    "by_offset": "Influence against sequence offset: the mean share of the map's magnitude per "
    "residue, by distance in sequence to the target's nearest residue (95 % bootstrap band).",
    "agreement": "Method agreement: mean Spearman correlation of two methods' per-residue "
    "magnitudes for the same target.",
    "randomization": "Model-parameter randomization (cascade): share of analysed targets per "
    "verdict.",
    "deletion": "Deletion and insertion AUCs minus random orders' (deletion below zero: the "
    "map's order removes the target faster than chance).",
}


def svg_of(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _array(values: list[float | None]) -> np.ndarray:
    """``values`` with ``None`` (undefined: nothing to average) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _pairs_figure(found: dict[str, Any]) -> Figure | None:
    methods = [m for m, entry in found.items() if entry["targets"]]
    if not methods:
        return None
    figure = Figure(figsize=(4.2 * len(methods), 4))
    axes = figure.subplots(1, len(methods), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        entry = found[method]
        size = len(entry["alphabet"])
        mean = _array(entry["mean"]).reshape(size, size)
        bound = np.nanmax(np.abs(mean)) if np.isfinite(mean).any() else 1.0
        image = ax.imshow(mean, cmap="RdBu_r", vmin=-bound, vmax=bound)
        ax.set_xticks(range(size), list(entry["alphabet"]), fontsize=7)
        ax.set_yticks(range(size), list(entry["alphabet"]), fontsize=7)
        ax.set_title(f"{method} ({entry['targets']} contacts)", fontsize=9)
        figure.colorbar(image, ax=ax, shrink=0.8)
    return figure


def _offset_figure(found: dict[str, Any]) -> Figure | None:
    heads = [h for h in found if h != "bins"]
    if not heads:
        return None
    labels = [
        f"{a}" if a == b else (f"{a}–{b}" if b is not None else f"≥{a}") for a, b in found["bins"]
    ]
    figure = Figure(figsize=(5 * len(heads), 3.4))
    axes = figure.subplots(1, len(heads), squeeze=False)
    for ax, head in zip(axes[0], heads, strict=True):
        for method, entry in found[head].items():
            mean, low, high = (_array(entry[n]) for n in ("mean", "low", "high"))
            x = np.arange(len(labels))
            ax.plot(x, mean, marker="o", label=method)
            ax.fill_between(x, low, high, alpha=0.25)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_yscale("log")
        ax.set_xlabel("sequence offset from the target")
        ax.set_ylabel("share of |map| per residue")
        ax.set_title(f"{head} targets", fontsize=9)
        ax.legend(fontsize=8)
    return figure


def _agreement_figure(found: dict[str, Any]) -> Figure | None:
    heads = [h for h, pairs in found.items() if pairs]
    if not heads:
        return None
    figure = Figure(figsize=(3 + 3 * len(heads), 3.2))
    axes = figure.subplots(1, len(heads), squeeze=False, sharey=True)
    for ax, head in zip(axes[0], heads, strict=True):
        names = list(found[head])
        values = [found[head][n] for n in names]
        mean, low, high = (_array([v[n] for v in values]) for n in ("mean", "low", "high"))
        errors = np.nan_to_num(np.stack([mean - low, high - mean]))
        ax.barh(range(len(names)), mean, xerr=errors, color="#4c78a8")
        ax.set_yticks(range(len(names)), [n.replace("|", " vs ") for n in names], fontsize=8)
        ax.set_xlim(-1, 1)
        ax.set_xlabel("mean Spearman ρ of |map|")
        ax.set_title(f"{head} targets", fontsize=9)
    return figure


def _randomization_figure(found: dict[str, Any]) -> Figure | None:
    if not found:
        return None
    methods = list(found)
    figure = Figure(figsize=(5, 0.5 + 0.45 * len(methods)))
    ax = figure.subplots()
    left = np.zeros(len(methods))
    for verdict, colour in zip(VERDICTS, ("#54a24b", "#eeca3b", "#e45756"), strict=True):
        share = np.array([found[m][verdict]["mean"] or 0.0 for m in methods])
        ax.barh(range(len(methods)), share, left=left, color=colour, label=verdict)
        left += share
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of analysed targets")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3)
    return figure


def _deletion_figure(found: dict[str, Any]) -> Figure | None:
    if not found:
        return None
    methods = list(found)
    figure = Figure(figsize=(5.5, 0.8 + 0.5 * len(methods)))
    ax = figure.subplots()
    for offset, name, colour in (
        (-0.2, "deletion_minus_random", "#e45756"),
        (0.2, "insertion_minus_random", "#4c78a8"),
    ):
        mean = np.array([found[m][name]["mean"] for m in methods], dtype=float)
        low = np.array([found[m][name]["low"] for m in methods], dtype=float)
        high = np.array([found[m][name]["high"] for m in methods], dtype=float)
        ax.barh(
            np.arange(len(methods)) + offset,
            mean,
            height=0.4,
            xerr=[mean - low, high - mean],
            color=colour,
            label=name.replace("_", " "),
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    ax.set_xlabel("AUC difference from random orders")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    return figure


_FIGURE_MAKERS: dict[str, Callable[[dict[str, Any]], Figure | None]] = {
    "amino_acid_pairs": _pairs_figure,
    "by_offset": _offset_figure,
    "agreement": _agreement_figure,
    "randomization": _randomization_figure,
    "deletion": _deletion_figure,
}


def figures(found: dict[str, Any]) -> dict[str, str]:
    """The SVG of each figure the aggregates have data for."""
    made = {}
    for name in PARTS:
        figure = _FIGURE_MAKERS[name](found[name]) if found[name] else None
        if figure is not None:
            made[name] = svg_of(figure)
    return made


def top_pairs(found: dict[str, Any], count: int = 10) -> list[dict[str, Any]]:
    """The amino-acid pairs with the largest |mean| per method (each unordered pair once)."""
    rows = []
    for method, entry in found.items():
        alphabet = entry["alphabet"]
        size = len(alphabet)
        mean, low, high = (_array(entry[n]) for n in ("mean", "low", "high"))
        pairs = [a * size + b for a in range(size) for b in range(a, size)]
        defined = [k for k in pairs if np.isfinite(mean[k])]
        for k in sorted(defined, key=lambda k: -abs(mean[k]))[:count]:
            rows.append({
                "method": method,
                "pair": alphabet[k // size] + alphabet[k % size],
                "mean": mean[k],
                "low": low[k],
                "high": high[k],
                "count": entry["count"][k],
            })  # fmt: skip
    return rows


def report_html(
    summary: dict[str, Any],
    found: dict[str, Any],
    drawn: dict[str, str],
    proteins: list[dict[str, Any]],
    link: Callable[[str], str] | None = None,
) -> str:
    """The report page: the run's summary, every figure with its caption, the top amino-acid
    pairs, the proteins (linked by ``link(file name)`` when given) and the failures."""
    escape = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>foldlens atlas</title><style>",
        "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;"
        "color:#222}table{border-collapse:collapse;font-size:.9rem}td,th{padding:.2rem .6rem;"
        "border-bottom:1px solid #ddd;text-align:left}figure{margin:1.5rem 0}svg{max-width:100%;"
        "height:auto}figcaption{color:#555;font-size:.9rem}code{background:#f3f3f3}",
        "</style></head><body>",
        "<h1>foldlens atlas</h1>",
        f"<p>{found['proteins']} proteins from <code>{escape(str(summary['source']))}</code>, "
        f"model <code>{escape(str(summary['model']))}</code>, targets "
        f"<code>{escape(str(summary['targets']))}</code>, methods "
        f"{escape(', '.join(summary['methods']))}"
        + (f", analyses {escape(', '.join(summary['analyses']))}" if summary["analyses"] else "")
        + f". {summary['failed']} failed.</p>",
    ]
    for name, svg in drawn.items():
        parts.append(
            f"<figure id='{name}'>{svg}<figcaption>{escape(CAPTIONS[name])}</figcaption></figure>"
        )
    pairs = top_pairs(found["amino_acid_pairs"])
    if pairs:
        parts.append(
            "<h2>Strongest amino-acid pairs</h2><table><tr><th>method</th><th>pair</th>"
            "<th>mean s_i + s_j</th><th>95 % interval</th><th>contacts</th></tr>"
        )
        for row in pairs:
            parts.append(
                f"<tr><td>{escape(row['method'])}</td><td>{row['pair']}</td><td>{row['mean']:.3g}</td>"
                f"<td>{row['low']:.3g} – {row['high']:.3g}</td><td>{row['count']}</td></tr>"
            )
        parts.append("</table>")
    parts.append(
        "<h2>Proteins</h2><table><tr><th>protein</th><th>residues</th><th>targets</th></tr>"
    )
    for protein in proteins:
        name = escape(protein["protein"])
        label = f"<a href='{escape(link(protein['file']))}'>{name}</a>" if link else name
        parts.append(
            f"<tr><td>{label}</td><td>{protein['length']}</td><td>{protein['targets']}</td></tr>"
        )
    parts.append("</table>")
    if summary["failures"]:
        parts.append("<h2>Failures</h2><table>")
        for name, problem in summary["failures"].items():
            parts.append(f"<tr><td>{escape(name)}</td><td>{escape(problem)}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    out: Path, summary: dict[str, Any], found: dict[str, Any], proteins: list[dict[str, Any]]
) -> None:
    """``aggregates.json``, ``proteins.json`` (name, file, length, targets of each),
    ``figures/<name>.svg`` and ``report.html`` in ``out``."""
    drawn = figures(found)
    (out / "aggregates.json").write_text(json.dumps(found))
    (out / "proteins.json").write_text(json.dumps(proteins))
    folder = out / "figures"
    folder.mkdir(exist_ok=True)
    for name, svg in drawn.items():
        (folder / f"{name}.svg").write_text(svg)
    (out / "report.html").write_text(report_html(summary, found, drawn, proteins))
