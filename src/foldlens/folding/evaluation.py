"""How good the 3D models and their confidence are, on chains of known structure.

Per chain and mode (``profile``: the chain's own profile; ``single``: the sequence alone), the
folded model and three baselines computed in the same run — multidimensional scaling of the
expected Cα–Cα distances, an ideal α-helix and a random coil — are scored by TM-score and
lDDT (Cα, :mod:`.comparison`). The confidence is checked against the truth: pLDDT against the
model's true per-residue lDDT (Spearman, and a reliability table by pLDDT band); the PAE-like
map against the observed error of the predicted Cβ–Cβ distance,
``|d̄_ij − min(d_ij, 20.25 Å)|`` (the distograms cannot see beyond their last bin), pairs i < j
binned by predicted error. Report rows carry 95 % bootstrap intervals over chains.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.chains import Chain
from ..evaluate import resampled
from ..models import ModelAdapter
from ..protein.labels import DISTANCE_CENTRES
from ..protein.record import Protein
from .baselines import ideal_helix, mds_trace, random_coil
from .comparison import lddt, tm_score
from .confidence import confidence
from .distograms import predict_distograms
from .fold import FoldSettings, fold

METHODS = ("folded", "MDS", "ideal helix", "random coil")
LENGTH_BANDS = ((1, 100), (101, 200), (201, 300), (301, None))
PAE_BINS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, float("inf"))


@dataclass
class ChainResult:
    chain_id: str
    length: int
    mode: str
    tm: dict[str, float]
    lddt: dict[str, float]
    mirror_tm: float
    seconds: float
    raw_plddt: np.ndarray
    plddt: np.ndarray
    true_lddt: np.ndarray
    pae_sums: np.ndarray = field(repr=False)
    """Per PAE bin: pairs, Σ predicted error, Σ observed error."""


def _pae_sums(pae: np.ndarray, expected: np.ndarray, true: np.ndarray) -> np.ndarray:
    upper = np.triu_indices(len(pae), 1)
    predicted = pae[upper]
    observed = np.abs(expected[upper] - np.minimum(true[upper], DISTANCE_CENTRES[-1]))
    which = np.digitize(predicted, PAE_BINS[1:-1])
    sums = np.zeros((len(PAE_BINS) - 1, 3))
    np.add.at(sums, which, np.stack([np.ones_like(predicted), predicted, observed], -1))
    return sums


def evaluate_chain(
    model: nn.Module, model_adapter: ModelAdapter, chain: Chain, mode: str, settings: FoldSettings
) -> ChainResult:
    """Fold ``chain`` in ``mode`` and score the model, the baselines and the confidence."""
    protein = Protein(chain.sequence, chain.profile if mode == "profile" else None)
    distograms = predict_distograms(model, model_adapter, protein)
    started = time.perf_counter()
    folded = fold(distograms, settings)
    seconds = time.perf_counter() - started
    traces = {
        "folded": folded.atoms["ca"],
        "MDS": mds_trace(distograms).numpy(),
        "ideal helix": ideal_helix(len(chain)).numpy(),
        "random coil": random_coil(len(chain)).numpy(),
    }
    scores = {name: lddt(trace, chain.ca) for name, trace in traces.items()}
    confident = confidence(distograms.probabilities, model_adapter.confidence_calibration())
    centres = torch.from_numpy(DISTANCE_CENTRES)
    expected = (distograms.probabilities["dist_cb_cb"] * centres).sum(-1).numpy()
    true_cb = np.linalg.norm(chain.cb[:, None] - chain.cb[None], axis=-1)
    per_residue = scores["folded"][0]
    return ChainResult(
        chain_id=chain.chain_id,
        length=len(chain),
        mode=mode,
        tm={name: tm_score(trace, chain.ca).score for name, trace in traces.items()},
        lddt={name: value[1] for name, value in scores.items()},
        mirror_tm=tm_score(traces["folded"] * np.array([-1, 1, 1]), chain.ca).score,
        seconds=seconds,
        raw_plddt=confident.raw,
        plddt=confident.plddt,
        true_lddt=per_residue,
        pae_sums=_pae_sums(confident.pae, expected, true_cb),
    )


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    keep = np.isfinite(a) & np.isfinite(b)
    ranks = [np.argsort(np.argsort(v[keep])).astype(np.float64) for v in (a, b)]
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1]) if keep.sum() > 2 else float("nan")


def summary(results: list[ChainResult]) -> dict[str, float]:
    """Mean TM-score and lDDT per method, the share of models in the right hand, the Spearman
    correlation of pLDDT with the true per-residue lDDT (pooled residues) and the median seconds."""
    row: dict[str, float] = {}
    for method in METHODS:
        row[f"TM {method}"] = float(np.mean([r.tm[method] for r in results]))
        row[f"lDDT {method}"] = float(np.mean([r.lddt[method] for r in results]))
    row["right hand"] = float(np.mean([r.tm["folded"] >= r.mirror_tm for r in results]))
    row["pLDDT Spearman"] = _spearman(
        np.concatenate([r.plddt for r in results]), np.concatenate([r.true_lddt for r in results])
    )
    row["seconds"] = float(np.median([r.seconds for r in results]))
    return row


def bootstrap_summary(
    results: list[ChainResult], resamples: int = 1000, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """:func:`summary` with 95 % intervals over chain resamples."""
    return resampled(results, summary, resamples, seed)


def _band_name(band: tuple[int, int | None]) -> str:
    low, high = band
    return f"{low}–{high}" if high is not None else f"> {low - 1}"


def pae_calibration(results: list[ChainResult]) -> list[dict[str, Any]]:
    """Per predicted-error bin: pairs, mean predicted and mean observed error (Å)."""
    sums = np.sum([r.pae_sums for r in results], axis=0)
    rows = []
    for k, (low, high) in enumerate(itertools.pairwise(PAE_BINS)):
        pairs = int(sums[k, 0])
        if pairs:
            rows.append({
                "bin": f"{low:g}–{high:g} Å" if np.isfinite(high) else f"≥ {low:g} Å",
                "pairs": pairs,
                "predicted": float(sums[k, 1] / pairs),
                "observed": float(sums[k, 2] / pairs),
            })  # fmt: skip
    return rows


def evaluate_structures(
    model: nn.Module,
    model_adapter: ModelAdapter,
    chains: list[Chain],
    modes: tuple[str, ...] = ("profile", "single"),
    settings: FoldSettings | None = None,
    progress: Callable[[ChainResult], None] | None = None,
) -> list[ChainResult]:
    """:func:`evaluate_chain` for every chain and mode."""
    settings = settings or FoldSettings()
    results = []
    for chain in chains:
        for mode in modes:
            results.append(evaluate_chain(model, model_adapter, chain, mode, settings))
            if progress is not None:
                progress(results[-1])
    return results


PLDDT_BINS = (0.0, 30.0, 50.0, 70.0, 90.0, 100.01)


def plddt_calibration(results: list[ChainResult]) -> list[dict[str, Any]]:
    """Per pLDDT bin: residues, mean pLDDT and mean true lDDT (× 100) of the model."""
    plddt = np.concatenate([r.plddt for r in results])
    true = 100 * np.concatenate([r.true_lddt for r in results])
    keep = np.isfinite(true)
    plddt, true = plddt[keep], true[keep]
    rows = []
    for low, high in itertools.pairwise(PLDDT_BINS):
        inside = (plddt >= low) & (plddt < high)
        if inside.any():
            rows.append({
                "bin": f"{low:g}–{min(high, 100):g}",
                "residues": int(inside.sum()),
                "predicted": float(plddt[inside].mean()),
                "observed": float(true[inside].mean()),
            })  # fmt: skip
    return rows


def structure_report(results: list[ChainResult], resamples: int = 1000) -> dict[str, Any]:
    """Per mode: the bootstrap summary overall and by length band, and both calibrations."""
    report: dict[str, Any] = {}
    for mode in dict.fromkeys(r.mode for r in results):
        ours = [r for r in results if r.mode == mode]
        bands = {}
        for low, high in LENGTH_BANDS:
            inside = [r for r in ours if r.length >= low and (high is None or r.length <= high)]
            if inside:
                bands[_band_name((low, high))] = {
                    "chains": len(inside),
                    **bootstrap_summary(inside, resamples),
                }
        report[mode] = {
            "chains": len(ours),
            "overall": bootstrap_summary(ours, resamples),
            "by length": bands,
            "pae calibration": pae_calibration(ours),
            "plddt calibration": plddt_calibration(ours),
        }
    return report


def _interval(value: tuple[float, float, float], digits: int = 3) -> str:
    point, low, high = value
    return f"{point:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def format_report(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    lines = []
    for mode, part in report.items():
        lines += [f"### {mode} ({part['chains']} chains)", "",
                  "| length | chains | TM folded | TM MDS | TM helix | TM coil | lDDT folded | "
                  "lDDT MDS | right hand | pLDDT ρ | s / model |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        rows = {"all": {"chains": part["chains"], **part["overall"]}, **part["by length"]}
        for band, row in rows.items():
            lines.append(
                f"| {band} | {row['chains']} | {_interval(row['TM folded'])} | "
                f"{_interval(row['TM MDS'])} | {row['TM ideal helix'][0]:.3f} | "
                f"{row['TM random coil'][0]:.3f} | {_interval(row['lDDT folded'])} | "
                f"{row['lDDT MDS'][0]:.3f} | {row['right hand'][0]:.2f} | "
                f"{_interval(row['pLDDT Spearman'], 2)} | {row['seconds'][0]:.1f} |"
            )
        lines += ["", "| predicted Cβ–Cβ error | pairs | mean predicted (Å) | mean observed (Å) |",
                  "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['bin']} | {r['pairs']} | {r['predicted']:.2f} | {r['observed']:.2f} |"
                  for r in part["pae calibration"]]  # fmt: skip
        lines += [
            "",
            "| pLDDT | residues | mean pLDDT | mean true lDDT × 100 |",
            "|---|---|---|---|",
        ]
        lines += [f"| {r['bin']} | {r['residues']} | {r['predicted']:.1f} | {r['observed']:.1f} |"
                  for r in part["plddt calibration"]]  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def structure_figure(results: list[ChainResult], report: dict[str, Any]) -> Any:
    """TM-score of each folded model against its MDS baseline, and both reliability curves."""
    import matplotlib.pyplot as plt

    fig, (scatter, plddt_axis, pae_axis) = plt.subplots(
        1, 3, figsize=(15, 4.6), layout="constrained"
    )
    colours = {"profile": "tab:blue", "single": "tab:orange"}
    for mode, part in report.items():
        ours = [r for r in results if r.mode == mode]
        scatter.scatter([r.tm["MDS"] for r in ours], [r.tm["folded"] for r in ours], s=10,
                        alpha=0.6, color=colours.get(mode), label=mode)  # fmt: skip
        for axis, key in ((plddt_axis, "plddt calibration"), (pae_axis, "pae calibration")):
            rows = part[key]
            axis.plot([r["predicted"] for r in rows], [r["observed"] for r in rows], "o-",
                      color=colours.get(mode), label=mode)  # fmt: skip
    scatter.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    scatter.set(xlabel="TM-score, MDS of expected distances", ylabel="TM-score, folded model",
                title="each chain: folded vs MDS", xlim=(0, 1), ylim=(0, 1))  # fmt: skip
    plddt_axis.plot([0, 100], [0, 100], color="grey", linewidth=0.8)
    plddt_axis.set(xlabel="mean pLDDT in bin", ylabel="mean true lDDT × 100",
                   title="pLDDT reliability (test split)")  # fmt: skip
    top = max(r["predicted"] for part in report.values() for r in part["pae calibration"])
    pae_axis.plot([0, top], [0, top], color="grey", linewidth=0.8)
    pae_axis.set(xlabel="mean predicted Cβ–Cβ error (Å)", ylabel="mean observed error (Å)",
                 title="PAE-like map reliability")  # fmt: skip
    for axis in (scatter, plddt_axis, pae_axis):
        axis.legend(loc="upper left")
    return fig
