"""What an atlas says across its proteins, from its table (:mod:`.table`), each number with a
95 % bootstrap interval over proteins (the unit resampled: a protein's targets are not
independent of one another).

* **Amino-acid pairs** (the 2018 "patterns" analysis at scale): per method, the mean of
  ``s_i + s_j`` over the contact targets whose residues are of types (a, b), counted both ways.
* **Influence against sequence offset**: per method and head, the mean share of ``M`` per residue
  at each offset from the target's nearest residue (``share_by_offset / residues_by_offset``,
  averaged over the targets that have residues at that offset).
* **Method agreement**: per head, the mean Spearman correlation of two methods' ``m``.
* **Randomization**: per method, the share of analysed targets with each verdict.
* **Deletion**: per method, the mean deletion and insertion AUCs and their differences from
  random orders (a faithful ranking deletes faster than random: a negative deletion difference).

Every statistic is a ratio of sums over proteins, ``Σ_p a_p / Σ_p n_p``; a bootstrap resample
draws proteins with replacement (multinomial weights ``w``) and recomputes
``Σ w_p a_p / Σ w_p n_p``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..analysis.randomization import BARELY, DEPENDS, PARTLY
from ..protein.alphabet import AMINO_ACIDS
from .table import DELETION_COLUMNS, OFFSET_BINS

RESAMPLES = 1000
VERDICTS = (DEPENDS, PARTLY, BARELY)
PARTS = ("amino_acid_pairs", "by_offset", "agreement", "randomization", "deletion")
CHUNK = 50
"""Resamples drawn at a time (memory: ``CHUNK ×`` proteins weights)."""


def ratio_with_interval(
    sums: np.ndarray, counts: np.ndarray, resamples: int = RESAMPLES, seed: int = 0
) -> dict[str, list[float | None]]:
    """``Σ_p sums[p] / Σ_p counts[p]`` per column, with its 2.5 and 97.5 percentiles over
    ``resamples`` bootstrap resamples of the rows (proteins); ``None`` where a count is zero."""
    sums, counts = np.asarray(sums, np.float64), np.asarray(counts, np.float64)
    proteins = len(sums)
    rng = np.random.default_rng(seed)
    draws = []
    for start in range(0, resamples, CHUNK):
        size = min(CHUNK, resamples - start)
        weights = rng.multinomial(proteins, np.full(proteins, 1 / proteins), size=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws.append((weights @ sums) / (weights @ counts))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums.sum(0) / counts.sum(0)
    drawn = np.concatenate(draws)
    finite = np.isfinite(drawn).any(0)
    low, high = np.full(mean.shape, np.nan), np.full(mean.shape, np.nan)
    if finite.any():
        low[finite], high[finite] = np.nanpercentile(drawn[:, finite], [2.5, 97.5], axis=0)
    return {
        name: _listed(values) for name, values in (("mean", mean), ("low", low), ("high", high))
    }


def _listed(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in values]


def aggregates(columns: dict[str, np.ndarray], methods: list[str]) -> dict[str, Any]:
    """Every aggregate of the module docstring, from the table's columns
    (:func:`.table.table_columns`)."""
    proteins, protein_index = np.unique(columns["file"], return_inverse=True)
    if not len(proteins):
        return {"proteins": 0, **{name: {} for name in PARTS}}
    grouped = _Grouping(protein_index, len(proteins))
    return {
        "proteins": len(proteins),
        "amino_acid_pairs": {m: _pairs(columns, grouped, m) for m in methods},
        "by_offset": _by_offset(columns, grouped, methods),
        "agreement": _agreement(columns, grouped, methods),
        "randomization": _randomization(columns, grouped, methods),
        "deletion": _deletion(columns, grouped, methods),
    }


class _Grouping:
    """Sums of row values per protein."""

    def __init__(self, protein_of_row: np.ndarray, proteins: int) -> None:
        self.row_protein, self.proteins = protein_of_row, proteins

    def sums(self, rows: np.ndarray, values: np.ndarray, keys: np.ndarray, size: int) -> np.ndarray:
        """``(proteins, size)``: Σ ``values`` of the chosen ``rows`` by protein and ``keys``."""
        flat = self.row_protein[rows] * size + keys
        total = np.bincount(flat, values, minlength=self.proteins * size)
        return total.reshape(self.proteins, size)


def _pairs(columns: dict[str, np.ndarray], grouped: _Grouping, method: str) -> dict[str, Any]:
    rows = np.flatnonzero((columns["head"] == "contact") & (columns["method"] == method))
    size = len(AMINO_ACIDS)
    a = np.array([AMINO_ACIDS.find(c) for c in columns["aa_i"][rows]], dtype=np.int64)
    b = np.array([AMINO_ACIDS.find(c) for c in columns["aa_j"][rows]], dtype=np.int64)
    known = (a >= 0) & (b >= 0)
    rows, a, b = rows[known], a[known], b[known]
    value = columns["sum_i"][rows] + columns["sum_j"][rows]
    both_ways_rows = np.concatenate([rows, rows])
    keys = np.concatenate([a * size + b, b * size + a])
    values = np.concatenate([value, value])
    sums = grouped.sums(both_ways_rows, values, keys, size * size)
    counts = grouped.sums(both_ways_rows, np.ones(len(values)), keys, size * size)
    found = ratio_with_interval(sums, counts)
    return {
        "alphabet": AMINO_ACIDS,
        "targets": len(rows),
        "count": counts.sum(0).astype(int).tolist(),
        **found,
    }


def _by_offset(
    columns: dict[str, np.ndarray], grouped: _Grouping, methods: list[str]
) -> dict[str, Any]:
    found: dict[str, Any] = {"bins": [list(b) for b in OFFSET_BINS]}
    shares, residues = columns["share_by_offset"], columns["residues_by_offset"]
    with np.errstate(invalid="ignore", divide="ignore"):
        density = np.where(residues > 0, shares / residues, 0.0)
    for head in np.unique(columns["head"]):
        for method in methods:
            rows = np.flatnonzero((columns["head"] == head) & (columns["method"] == method))
            if not len(rows):
                continue
            sums = _per_protein_rows(grouped, rows, density[rows])
            counts = _per_protein_rows(grouped, rows, (residues[rows] > 0).astype(float))
            found.setdefault(str(head), {})[method] = ratio_with_interval(sums, counts)
    return found


def _per_protein_rows(grouped: _Grouping, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``(proteins, K)``: the per-row vectors ``values`` ``(rows, K)`` summed by protein."""
    total = np.zeros((grouped.proteins, values.shape[1]))
    np.add.at(total, grouped.row_protein[rows], values)
    return total


def _agreement(
    columns: dict[str, np.ndarray], grouped: _Grouping, methods: list[str]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for head in np.unique(columns["head"]):
        pairs = {}
        for first, second in itertools.combinations(methods, 2):
            rows = np.flatnonzero((columns["head"] == head) & (columns["method"] == first))
            rho = columns[f"spearman_{second}"][rows]
            sums = grouped.sums(rows, rho, np.zeros(len(rows), np.int64), 1)
            counts = grouped.sums(rows, np.ones(len(rows)), np.zeros(len(rows), np.int64), 1)
            result = ratio_with_interval(sums, counts)
            pairs[f"{first}|{second}"] = {k: v[0] for k, v in result.items()}
        found[str(head)] = pairs
    return found


def _randomization(
    columns: dict[str, np.ndarray], grouped: _Grouping, methods: list[str]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for method in methods:
        rows = np.flatnonzero((columns["method"] == method) & (columns["randomization"] != ""))
        if not len(rows):
            continue
        verdict = np.array([VERDICTS.index(v) for v in columns["randomization"][rows]])
        sums = grouped.sums(rows, np.ones(len(rows)), verdict, len(VERDICTS))
        counts = np.repeat(sums.sum(1, keepdims=True), len(VERDICTS), axis=1)
        rates = ratio_with_interval(sums, counts)
        found[method] = {
            "analysed": len(rows),
            **{v: {k: values[n] for k, values in rates.items()} for n, v in enumerate(VERDICTS)},
        }
    return found


def _deletion(
    columns: dict[str, np.ndarray], grouped: _Grouping, methods: list[str]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for method in methods:
        rows = np.flatnonzero((columns["method"] == method) & np.isfinite(columns["deletion_auc"]))
        if not len(rows):
            continue
        values = {name: columns[f"{name}_auc"][rows] for name in DELETION_COLUMNS}
        values["deletion_minus_random"] = values["deletion"] - values["random_deletion"]
        values["insertion_minus_random"] = values["insertion"] - values["random_insertion"]
        names = list(values)
        stacked = np.stack([values[n] for n in names], axis=1)
        sums = _per_protein_rows(grouped, rows, stacked)
        counts = _per_protein_rows(grouped, rows, np.ones_like(stacked))
        result = ratio_with_interval(sums, counts)
        found[method] = {
            "analysed": len(rows),
            **{n: {k: v[c] for k, v in result.items()} for c, n in enumerate(names)},
        }
    return found
