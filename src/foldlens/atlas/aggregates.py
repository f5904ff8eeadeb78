"""What an atlas says across its proteins, from its table's rows (:mod:`.table`) taken one protein
at a time, each number with a 95 % bootstrap interval over proteins (the unit resampled: a
protein's targets are not independent of one another).

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
from numpy.typing import ArrayLike

from ..analysis.randomization import BARELY, DEPENDS, PARTLY
from ..protein.alphabet import AMINO_ACIDS
from .table import DELETION_COLUMNS, OFFSET_BINS

RESAMPLES = 1000
VERDICTS = (DEPENDS, PARTLY, BARELY)
PARTS = ("amino_acid_pairs", "by_offset", "agreement", "randomization", "deletion")
CHUNK = 50
"""Resamples drawn at a time (memory: ``CHUNK ×`` proteins weights)."""
HEADS = ("contact", "ss3")
DELETION_VALUES = (*DELETION_COLUMNS, "deletion_minus_random", "insertion_minus_random")
Key = tuple[str, ...]


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


class Tally:
    """Each protein's sums and counts of every statistic, added one protein at a time (the table
    is never held whole; about 13 kB per protein and method are kept), then :meth:`aggregates`."""

    def __init__(self, methods: list[str]) -> None:
        self.methods = methods
        self.proteins = 0
        self.parts: dict[Key, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def _add(self, key: Key, sums: ArrayLike, counts: ArrayLike) -> None:
        found = self.parts.setdefault(key, ([], []))
        found[0].append(np.asarray(sums, np.float64))
        found[1].append(np.asarray(counts, np.float64))

    def add(self, columns: dict[str, np.ndarray]) -> None:
        """One protein's rows (:func:`.table.table_columns` of them)."""
        self.proteins += 1
        for method in self.methods:
            of_method = columns["method"] == method
            self._pairs(columns, of_method & (columns["head"] == "contact"), method)
            for head in HEADS:
                rows = of_method & (columns["head"] == head)
                shares, residues = (
                    columns["share_by_offset"][rows],
                    columns["residues_by_offset"][rows],
                )
                with np.errstate(invalid="ignore", divide="ignore"):
                    density = np.where(residues > 0, shares / residues, 0.0)
                self._add(("offset", head, method), density.sum(0), (residues > 0).sum(0))
            verdicts = columns["randomization"][of_method]
            analysed = verdicts[verdicts != ""]
            counts = np.array([np.sum(analysed == v) for v in VERDICTS])
            self._add(("randomization", method), counts, np.full(len(VERDICTS), len(analysed)))
            rows = of_method & np.isfinite(columns["deletion_auc"])
            values = {name: columns[f"{name}_auc"][rows] for name in DELETION_COLUMNS}
            values["deletion_minus_random"] = values["deletion"] - values["random_deletion"]
            values["insertion_minus_random"] = values["insertion"] - values["random_insertion"]
            sums = np.array([values[name].sum() for name in DELETION_VALUES])
            self._add(("deletion", method), sums, np.full(len(DELETION_VALUES), rows.sum()))
        for head in HEADS:
            for first, second in itertools.combinations(self.methods, 2):
                rows = (columns["head"] == head) & (columns["method"] == first)
                rho = columns[f"spearman_{second}"][rows]
                self._add(("agreement", head, f"{first}|{second}"), [rho.sum()], [rows.sum()])

    def _pairs(self, columns: dict[str, np.ndarray], rows: np.ndarray, method: str) -> None:
        size = len(AMINO_ACIDS)
        a = np.array([AMINO_ACIDS.find(c) for c in columns["aa_i"][rows]], dtype=np.int64)
        b = np.array([AMINO_ACIDS.find(c) for c in columns["aa_j"][rows]], dtype=np.int64)
        known = (a >= 0) & (b >= 0)
        value = (columns["sum_i"][rows] + columns["sum_j"][rows])[known]
        keys = np.concatenate([a[known] * size + b[known], b[known] * size + a[known]])
        sums = np.bincount(keys, np.concatenate([value, value]), size * size)
        self._add(("pairs", method), sums, np.bincount(keys, minlength=size * size))
        self._add(("pair targets", method), [known.sum()], [1])

    def _stacked(self, *key: str) -> tuple[np.ndarray, np.ndarray]:
        sums, counts = self.parts[key]
        return np.stack(sums), np.stack(counts)

    def aggregates(self) -> dict[str, Any]:
        """Every aggregate of the module docstring."""
        if not self.proteins:
            return {"proteins": 0, **{name: {} for name in PARTS}}
        found: dict[str, Any] = {"proteins": self.proteins, **{name: {} for name in PARTS}}
        found["by_offset"]["bins"] = [list(b) for b in OFFSET_BINS]
        for method in self.methods:
            sums, counts = self._stacked("pairs", method)
            found["amino_acid_pairs"][method] = {
                "alphabet": AMINO_ACIDS,
                "targets": int(self._stacked("pair targets", method)[0].sum()),
                "count": counts.sum(0).astype(int).tolist(),
                **ratio_with_interval(sums, counts),
            }
            for head in HEADS:
                sums, counts = self._stacked("offset", head, method)
                if counts.any():
                    found["by_offset"].setdefault(head, {})[method] = ratio_with_interval(
                        sums, counts
                    )
            sums, counts = self._stacked("randomization", method)
            if counts.any():
                rates = ratio_with_interval(sums, counts)
                found["randomization"][method] = {
                    "analysed": int(counts[:, 0].sum()),
                    **{v: {k: rates[k][n] for k in rates} for n, v in enumerate(VERDICTS)},
                }
            sums, counts = self._stacked("deletion", method)
            if counts.any():
                means = ratio_with_interval(sums, counts)
                found["deletion"][method] = {
                    "analysed": int(counts[:, 0].sum()),
                    **{v: {k: means[k][n] for k in means} for n, v in enumerate(DELETION_VALUES)},
                }
        for key in [key for key in self.parts if key[0] == "agreement"]:
            sums, counts = self._stacked(*key)
            if counts.any():
                result = ratio_with_interval(sums, counts)
                found["agreement"].setdefault(key[1], {})[key[2]] = {
                    k: v[0] for k, v in result.items()
                }
        return found
