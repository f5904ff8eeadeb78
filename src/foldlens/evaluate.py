"""``foldlens evaluate``: held-out metrics with per-chain bootstrap 95 % intervals.

Per mode (``profile``: the chain's HHblits profile is given; ``single``: sequence only; with
searched MSAs also ``searched``, ``dca`` and the product's rule, see :func:`evaluate_model`):

- Q3, Q8: fraction of residues whose most probable state is the DSSP state (pooled over residues);
- rsa r: Pearson correlation of predicted and true relative accessibility (pooled);
- contact precision: per chain, of the top ``L/5`` (or ``L``) pairs by predicted P(Cβ–Cβ < 8 Å)
  among pairs at separation ``≥ 24`` (or ``12–23``), the fraction in contact; mean over chains;
- distance MAE: mean |expected − true| Cβ–Cβ distance over pairs closer than 15 Å, by separation
  band ``1–5``, ``6–11``, ``12–23``, ``≥ 24``, next to the best constant guess (the median true
  distance of the band's pairs, which minimises the absolute error of a constant).

Baselines: two real pretrained secondary-structure predictors run on the same chains, from their
sequence alone: reprof (Rost lab; the Debian package's networks, ported) and PredictDSSP (a
bidirectional LSTM). For each, its Q3 and the difference ``Q3(foldlens) − Q3(baseline)`` are
resampled together, so the interval of the difference says whether foldlens is measurably better.

Intervals: the 2.5 and 97.5 percentiles of the metric over ``resamples`` bootstrap resamples of the
chains. Pair metrics use a fixed random sample of chains (``pair_chains``, at most
``max_pair_length`` residues) because a full pair map costs seconds per chain on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

from .data.chains import Chain, ChainSet
from .models.adapter import ModelAdapter
from .predict import READOUTS
from .protein.labels import CONTACT_CUTOFF, SS8_TO_SS3
from .protein.record import Protein
from .search.evaluation import SearchedMsa, dca_map, depth_summary

BANDS = ((1, 5), (6, 11), (12, 23), (24, None))
CONTACT_RANGES = {"12-23": (12, 23), ">=24": (24, None)}


def band_name(band: tuple[int, int | None]) -> str:
    low, high = band
    return f">={low}" if high is None else f"{low}-{high}"


@dataclass
class ChainStats:
    """Sufficient statistics of one chain in one mode, so that resampling chains is cheap."""

    q3: tuple[int, int] | None = None
    q8: tuple[int, int] | None = None
    rsa: np.ndarray | None = None  # n, Σx, Σy, Σxx, Σyy, Σxy
    precision: dict[str, float] = field(default_factory=dict)
    baseline_q3: dict[str, tuple[int, int]] = field(default_factory=dict)
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # |expected − true| per pair
    distances: dict[str, np.ndarray] = field(default_factory=dict)  # true distance per pair


def per_residue_stats(predicted: dict[str, np.ndarray], chain: Chain) -> ChainStats:
    """The per-residue statistics of the heads ``predicted`` has (``ss3``, ``ss8``, ``rsa``)."""
    true8 = chain.ss8
    true3 = SS8_TO_SS3[true8]
    stats = ChainStats()
    if "ss3" in predicted:
        stats.q3 = (int((predicted["ss3"].argmax(1) == true3).sum()), len(true3))
    if "ss8" in predicted:
        stats.q8 = (int((predicted["ss8"].argmax(1) == true8).sum()), len(true8))
    if "rsa" in predicted:
        x, y = predicted["rsa"].astype(np.float64), chain.rsa.astype(np.float64)
        stats.rsa = np.array(
            [len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()]
        )
    return stats


def pair_stats(
    stats: ChainStats, contact: np.ndarray, distance: np.ndarray | None, chain: Chain
) -> None:
    """Add contact precision and (with ``distance``) distance errors of one chain to ``stats``."""
    true = torch.cdist(torch.from_numpy(chain.cb), torch.from_numpy(chain.cb)).numpy()
    length = len(chain)
    i, j = np.triu_indices(length, k=1)
    separation = j - i
    for name, (low, high) in CONTACT_RANGES.items():
        chosen = (separation >= low) & (separation <= (high or length))
        if not chosen.any():
            continue
        order = np.argsort(-contact[i[chosen], j[chosen]], kind="stable")
        hits = true[i[chosen], j[chosen]][order] < CONTACT_CUTOFF
        for label, top in ((f"L/5 {name}", max(length // 5, 1)), (f"L {name}", length)):
            stats.precision[label] = float(hits[:top].mean())
    if distance is None:
        return
    for band in BANDS:
        low, high = band
        chosen = (separation >= low) & (separation <= (high or length)) & (true[i, j] < 15.0)
        d = true[i[chosen], j[chosen]]
        stats.errors[band_name(band)] = np.abs(distance[i[chosen], j[chosen]] - d)
        stats.distances[band_name(band)] = d


def _pearson(sums: np.ndarray) -> float:
    n, sx, sy, sxx, syy, sxy = sums
    cov = sxy - sx * sy / n
    return float(cov / np.sqrt((sxx - sx * sx / n) * (syy - sy * sy / n)))


def metrics(stats: list[ChainStats]) -> dict[str, float]:
    """Every metric over a list of chains (pooled or averaged as the module docstring says)."""
    result: dict[str, float] = {}
    q3 = [s.q3 for s in stats if s.q3 is not None]
    q8 = [s.q8 for s in stats if s.q8 is not None]
    rsa = [s.rsa for s in stats if s.rsa is not None]
    if q3:
        result["Q3"] = sum(c for c, _ in q3) / sum(n for _, n in q3)
    for name in sorted({k for s in stats for k in s.baseline_q3}):
        counts = [s.baseline_q3[name] for s in stats if name in s.baseline_q3]
        result[f"Q3 {name}"] = sum(c for c, _ in counts) / sum(n for _, n in counts)
        if q3:
            result[f"Q3 − Q3 {name}"] = result["Q3"] - result[f"Q3 {name}"]
    if q8:
        result["Q8"] = sum(c for c, _ in q8) / sum(n for _, n in q8)
    if rsa:
        result["rsa r"] = _pearson(np.sum(rsa, axis=0))
    labels = sorted({k for s in stats for k in s.precision})
    for label in labels:
        values = [s.precision[label] for s in stats if label in s.precision]
        result[f"contact precision top-{label}"] = float(np.mean(values))
    for band in BANDS:
        name = band_name(band)
        errors = [s.errors[name] for s in stats if name in s.errors]
        if errors and sum(len(e) for e in errors):
            distances = np.concatenate([s.distances[name] for s in stats if name in s.distances])
            result[f"Cβ distance MAE {name}"] = float(np.concatenate(errors).mean())
            result[f"constant-guess MAE {name}"] = float(
                np.abs(distances - np.median(distances)).mean()
            )
    return result


Chained = TypeVar("Chained")
"""What is known of one chain; the unit that bootstrap resamples."""


def bootstrap(
    stats: list[ChainStats], resamples: int, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """Each metric with its 95 % interval over chain resamples."""
    return resampled(stats, metrics, resamples, seed)


def resampled(
    stats: list[Chained],
    summarise: Callable[[list[Chained]], dict[str, float]],
    resamples: int,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """Each of ``summarise``'s metrics of the chains' ``stats`` with its 95 % interval over
    resamples of the chains (a resample where a metric is undefined, NaN, is left out of it)."""
    rng = np.random.default_rng(seed)
    point = summarise(stats)
    draws: dict[str, list[float]] = {name: [] for name in point}
    for _ in range(resamples):
        sample = [stats[k] for k in rng.integers(len(stats), size=len(stats))]
        for name, value in summarise(sample).items():
            draws[name].append(value)
    return {name: (point[name], *np.nanpercentile(draws[name], [2.5, 97.5])) for name in point}


Predictor = Callable[[Chain, np.ndarray | None, bool], dict[str, np.ndarray]]
"""``(chain, profile or None, pairs) -> arrays``: ss3, ss8, rsa; with pairs also contact,
distance."""


def model_predictor(model: nn.Module, model_adapter: ModelAdapter) -> Predictor:
    """What a model predicts, in the evaluator's terms: the per-residue heads ``ss3``, ``ss8``,
    ``rsa`` it has, and with pairs its Cβ–Cβ distance and contact score — its ``contact`` head, or,
    for a distance regressor (``seed2018``), the distance itself (closest first)."""
    heads = {head.name: head for head in model_adapter.heads}
    per_residue = [name for name in ("ss3", "ss8", "rsa") if name in heads]

    def readout(out: dict[str, torch.Tensor], name: str) -> np.ndarray:
        return READOUTS[heads[name].transform](out[name][0].float())

    @torch.no_grad()
    def run(chain: Chain, profile: np.ndarray | None, pairs: bool) -> dict[str, np.ndarray]:
        pairs = pairs and "dist_cb_cb" in heads
        if not (per_residue or pairs):
            return {}
        protein = Protein(chain.sequence, profile)
        out = model_adapter.outputs(model, model_adapter.encoded(protein).x, pairs=pairs)
        result: dict[str, np.ndarray] = {name: readout(out, name) for name in per_residue}
        if pairs:
            result["distance"] = readout(out, "dist_cb_cb")
            contact = readout(out, "contact") if "contact" in heads else -result["distance"]
            result["contact"] = contact
        return result

    return run


SS3Predictor = Callable[[str], np.ndarray]
"""``sequence -> (L, 3)`` probabilities in the order H, E, C."""


BASELINES = {"reprof": "reprof", "predictdssp": "PredictDSSP"}
"""Registered model → the name its Q3 is reported under."""


def baseline_predictors() -> tuple[dict[str, SS3Predictor], dict[str, str]]:
    """The baselines that can run here (from the model registry), and why the others cannot."""
    from .models import registry
    from .predict import predict

    available: dict[str, SS3Predictor] = {}
    missing: dict[str, str] = {}
    for name, label in BASELINES.items():
        if name not in registry.available():
            missing[label] = registry.unavailable().get(name, f"model {name} is not registered")
            continue
        model_adapter, model = registry.adapter(name), registry.load(name)

        def predict_ss3(
            sequence: str, model_adapter: ModelAdapter = model_adapter, model: nn.Module = model
        ) -> np.ndarray:
            return np.asarray(predict(model, Protein(sequence), model_adapter)["ss3"])

        available[label] = predict_ss3
    return available, missing


def evaluate_model(
    model: nn.Module,
    model_adapter: ModelAdapter,
    chains: ChainSet,
    pair_chains: int = 200,
    max_pair_length: int = 400,
    resamples: int = 1000,
    progress: Callable[[str, int, int], None] | None = None,
    baselines: dict[str, SS3Predictor] | None = None,
    searched: list[SearchedMsa] | None = None,
    neff_threshold: float | None = None,
    dca: bool = True,
    dca_cache: Path | None = None,
    reference: nn.Module | None = None,
) -> dict[str, Any]:
    """Metrics with intervals for both modes (and the baselines' Q3); a JSON-ready dict.

    With a ``reference`` network (the same model with other weights), two more columns,
    ``profile − reference`` and ``single − reference``: the paired differences of every metric
    (:func:`paired_differences`), which say whether new weights are measurably better.

    With ``searched`` (one searched MSA per chain), three more: ``searched`` (the network on the
    searched MSA's profile), ``dca`` (contacts ranked by the MSA's APC couplings) and, with
    ``neff_threshold``, ``searched if Neff ≥ T`` (the product's rule: the searched profile when
    the MSA is that deep, else the sequence alone); and the MSA depths, and the searched profile
    against the sequence alone by Neff (:func:`by_depth`). ``dca=False`` skips the Potts fits
    (seconds to a minute per chain; kept in ``dca_cache``).
    """
    run = model_predictor(model, model_adapter)
    baseline_counts: list[dict[str, tuple[int, int]]] = []
    for k in range(len(chains)):
        chain = chains[k]
        true3 = SS8_TO_SS3[chain.ss8]
        counts = {}
        for name, predict_ss3 in (baselines or {}).items():
            counts[name] = (int((predict_ss3(chain.sequence).argmax(1) == true3).sum()), len(chain))
        baseline_counts.append(counts)
        if progress is not None and baselines:
            progress("baselines", k + 1, len(chains))
    lengths = chains.lengths()
    eligible = np.flatnonzero(lengths <= max_pair_length)
    sampled = set(
        np.random.default_rng(0)
        .choice(eligible, min(pair_chains, len(eligible)), replace=False)
        .tolist()
    )
    report: dict[str, Any] = {"chains": len(chains), "pair_chains": len(sampled), "modes": {}}
    profiles: dict[str, Callable[[int, Chain], np.ndarray | None]] = {
        "profile": lambda k, chain: chain.profile,
        "single": lambda k, chain: None,
    }
    if searched is not None:
        profiles["searched"] = lambda k, chain: searched[k].profile()
    by_mode: dict[str, list[ChainStats]] = {}
    for mode, profile_of in profiles.items():
        by_mode[mode] = _chain_stats(run, chains, profile_of, sampled, mode, progress)
        for k, s in enumerate(by_mode[mode]):
            s.baseline_q3 = baseline_counts[k]
    if searched is not None and dca:
        by_mode["dca"] = []
        for k in range(len(chains)):
            s = ChainStats()
            if k in sampled:
                pair_stats(s, dca_map(searched[k].alignment, dca_cache), None, chains[k])
            by_mode["dca"].append(s)
            if progress is not None:
                progress("dca", k + 1, len(chains))
    if searched is not None:
        neff = [msa.neff for msa in searched]
        if neff_threshold is not None:
            by_mode[f"searched if Neff ≥ {neff_threshold:g}"] = [
                deep if depth >= neff_threshold else alone
                for deep, alone, depth in zip(
                    by_mode["searched"], by_mode["single"], neff, strict=True
                )
            ]
        report["msa_depth"] = depth_summary(searched)
        report["by_depth"] = by_depth(by_mode["searched"], by_mode["single"], neff, resamples)
    intervals = {mode: bootstrap(stats, resamples) for mode, stats in by_mode.items()}
    if reference is not None:
        run_reference = model_predictor(reference, model_adapter)
        for mode in ("profile", "single"):
            label = f"{mode} − reference"
            theirs = _chain_stats(run_reference, chains, profiles[mode], sampled, label, progress)
            intervals[label] = paired_differences(by_mode[mode], theirs, resamples)
    for mode, values in intervals.items():
        report["modes"][mode] = {
            name: {"value": v, "low": lo, "high": hi} for name, (v, lo, hi) in values.items()
        }
    return report


def _chain_stats(
    run: Predictor,
    chains: ChainSet,
    profile_of: Callable[[int, Chain], np.ndarray | None],
    sampled: set[int],
    label: str,
    progress: Callable[[str, int, int], None] | None,
) -> list[ChainStats]:
    """Every chain's statistics in one mode (pair statistics for the ``sampled`` chains)."""
    stats = []
    for k in range(len(chains)):
        chain = chains[k]
        pairs = k in sampled
        out = run(chain, profile_of(k, chain), pairs)
        s = per_residue_stats(out, chain)
        if pairs:
            pair_stats(s, out["contact"], out["distance"], chain)
        stats.append(s)
        if progress is not None:
            progress(label, k + 1, len(chains))
    return stats


def paired_differences(
    ours: list[ChainStats], theirs: list[ChainStats], resamples: int, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """``metric(ours) − metric(theirs)`` of two predictors on the same chains, with its 95 %
    interval over resamples of the chains that draw each chain's two results together (so the
    chains' own difficulty cancels). Rows that do not depend on the predictor (the constant
    guesses, the baselines) are left out."""

    def differences(pairs: list[tuple[ChainStats, ChainStats]]) -> dict[str, float]:
        first = metrics([a for a, _ in pairs])
        second = metrics([b for _, b in pairs])
        return {
            name: first[name] - second[name]
            for name in first
            if name in second and not name.startswith("constant-guess")
        }

    return resampled(list(zip(ours, theirs, strict=True)), differences, resamples, seed)


NEFF_BINS = ((0, 2), (2, 5), (5, 10), (10, 20), (20, 50), (50, None))
DEPTH_METRICS = ("Q3", "contact precision top-L/5 >=24")


def by_depth(
    searched: list[ChainStats], single: list[ChainStats], neff: list[float], resamples: int
) -> list[dict[str, Any]]:
    """Per Neff bin: the chains, and for each of :data:`DEPTH_METRICS` its value with the
    searched profile and with the sequence alone, and their difference with a 95 % interval
    (the same chains resampled for both)."""
    rng = np.random.default_rng(0)
    depth = np.asarray(neff)
    rows = []
    for low, high in NEFF_BINS:
        chosen = np.flatnonzero((depth >= low) & (depth < (high or np.inf)))
        row: dict[str, Any] = {"neff": f"{low}–{high or '∞'}", "chains": len(chosen)}
        if len(chosen):
            draws = [rng.choice(chosen, len(chosen)) for _ in range(resamples)]
            for name in DEPTH_METRICS:
                with_msa = metrics([searched[k] for k in chosen]).get(name)
                alone = metrics([single[k] for k in chosen]).get(name)
                if with_msa is None or alone is None:
                    continue
                differences = [
                    metrics([searched[k] for k in draw])[name]
                    - metrics([single[k] for k in draw])[name]
                    for draw in draws
                ]
                low_d, high_d = np.percentile(differences, [2.5, 97.5])
                row[name] = {
                    "searched": with_msa,
                    "single": alone,
                    "difference": with_msa - alone,
                    "low": float(low_d),
                    "high": float(high_d),
                }
        rows.append(row)
    return rows


def depth_figure(report: dict[str, Any]) -> Figure:
    """The searched MSAs' depths (chains per Neff bin) and, per bin, the searched profile's gain
    over the sequence alone in each of :data:`DEPTH_METRICS` with its interval."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    bins = report["by_depth"]
    left.bar(range(len(bins)), [row["chains"] for row in bins], color="tab:blue")
    left.set_xticks(range(len(bins)), [row["neff"] for row in bins])
    left.set_xlabel("Neff of the searched MSA (80 % identity)")
    left.set_ylabel("chains")
    rows = [row for row in bins if row["chains"]]
    for k, name in enumerate(DEPTH_METRICS):
        found = [(n, row[name]) for n, row in enumerate(rows) if name in row]
        x = np.array([n for n, _ in found]) + (k - 0.5) * 0.2
        y = np.array([v["difference"] for _, v in found])
        low = y - np.array([v["low"] for _, v in found])
        high = np.array([v["high"] for _, v in found]) - y
        right.errorbar(x, y, yerr=[low, high], fmt="o", capsize=3, label=name)
    right.axhline(0, color="grey", linewidth=0.8)
    right.set_xticks(range(len(rows)), [f"{row['neff']}\n({row['chains']})" for row in rows])
    right.set_xlabel("Neff bin (chains)")
    right.set_ylabel("searched profile − single sequence")
    right.legend(fontsize=8)
    return fig


def format_depth_table(report: dict[str, Any]) -> str:
    """The ``by_depth`` rows as Markdown: searched − single per metric, with intervals."""
    header = " | ".join(f"{m}: searched / single (Δ [95 %])" for m in DEPTH_METRICS)
    lines = [
        f"| Neff | chains | {header} |",
        "|---" * (2 + len(DEPTH_METRICS)) + "|",
    ]
    for row in report["by_depth"]:
        cells = []
        for name in DEPTH_METRICS:
            v = row.get(name)
            cells.append(
                f"{v['searched']:.3f} / {v['single']:.3f} ({v['difference']:+.3f} "
                f"[{v['low']:+.3f}, {v['high']:+.3f}])"
                if v
                else ""
            )
        lines.append(f"| {row['neff']} | {row['chains']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_table(report: dict[str, Any], markdown: bool = False) -> str:
    """The report as a table: one row per metric, one column per mode (plain text or Markdown)."""
    modes = list(report["modes"])
    names = list(dict.fromkeys(n for m in modes for n in report["modes"][m]))
    width = max(len(n) for n in names)

    def cell(mode: str, name: str) -> str:
        value = report["modes"][mode].get(name)
        return f"{value['value']:.3f} [{value['low']:.3f}, {value['high']:.3f}]" if value else ""

    footer = (
        f"{report['chains']} chains; pair metrics on {report['pair_chains']} of them; "
        "[95 % bootstrap interval over chains]"
    )
    if markdown:
        lines = ["| metric | " + " | ".join(modes) + " |", "|---" * (len(modes) + 1) + "|"]
        lines += [f"| {n} | " + " | ".join(cell(m, n) for m in modes) + " |" for n in names]
        return "\n".join([*lines, "", footer])
    lines = [f"{'metric':<{width}}  " + "  ".join(f"{m:>24}" for m in modes)]
    lines += [f"{n:<{width}}  " + "  ".join(f"{cell(m, n):>24}" for m in modes) for n in names]
    return "\n".join([*lines, footer])
