"""Amino-acid patterns of attribution maps: for one target, the mean per-residue attribution by
amino-acid type; for pair targets also by the amino-acid pair of the target's own residues, over
the head's most confident predicted pairs; and the same summed over many proteins.

Per map, ``s_k`` is the signed per-residue attribution. By type a: the mean of ``s_k`` over the
residues k of type a. By pair (a, b): the mean of ``s_i + s_j`` over the pair targets (i, j) whose
residues are of types a and b, counted both ways, so the table is symmetric.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from torch import nn

from ..models.adapter import ModelAdapter
from ..models.views import OutputTarget
from ..protein.alphabet import AMINO_ACIDS
from ..protein.record import Protein
from .analysis_subject import Progress, Subject, map_of, residues_of
from .explain import ExplanationCancelledError, explain
from .method_options import check_options

MIN_PAIR_SEPARATION = 6


def _nan_means(sums: np.ndarray, counts: np.ndarray) -> list[float | None]:
    return [None if n == 0 else float(s / n) for s, n in zip(sums, counts, strict=True)]


class _TypeTotals:
    """Running sums of per-residue attribution by amino-acid type (and, for pair targets, of
    ``s_i + s_j`` by the type pair of the target's residues, counted both ways)."""

    def __init__(self) -> None:
        size = len(AMINO_ACIDS)
        self.sums, self.counts = np.zeros(size), np.zeros(size)
        self.pair_sums, self.pair_counts = np.zeros((size, size)), np.zeros((size, size))

    def addmap_of(self, signed: np.ndarray, types: np.ndarray) -> None:
        self.sums += np.bincount(types, weights=signed, minlength=len(AMINO_ACIDS))
        self.counts += np.bincount(types, minlength=len(AMINO_ACIDS))

    def add_pair(self, signed: np.ndarray, types: np.ndarray, i: int, j: int) -> None:
        for row, col in ((types[i], types[j]), (types[j], types[i])):
            self.pair_sums[row, col] += signed[i] + signed[j]
            self.pair_counts[row, col] += 1

    def by_type(self) -> list[float | None]:
        return _nan_means(self.sums, self.counts)

    def pair_table(self) -> list[list[float | None]]:
        return [_nan_means(s, n) for s, n in zip(self.pair_sums, self.pair_counts, strict=True)]


def _types(sequence: str) -> np.ndarray:
    return np.array([AMINO_ACIDS.index(c) for c in sequence])


def aa_patterns(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    types = _types(subject.sequence)
    pairs = confident_pairs(subject, options["pairs"])
    totals = {method: _TypeTotals() for method in options["methods"]}
    steps, done = len(totals) * (1 + len(pairs)), 0
    for method, total in totals.items():
        total.addmap_of(map_of(subject, method).residue_scores()[0], types)
        done += 1
        for pair in pairs:
            if cancel.is_set():
                raise ExplanationCancelledError
            assert pair.j is not None
            total.add_pair(map_of(subject, method, pair).residue_scores()[0], types, pair.i, pair.j)
            done += 1
            progress(done / steps)
        progress(done / steps)
    answer = _patterns_json(totals, bool(pairs))
    answer["counts"] = np.bincount(types, minlength=len(AMINO_ACIDS)).tolist()
    if pairs:
        answer["pairs"] = [residues_of(t) for t in pairs]
    return answer


def _patterns_json(totals: dict[str, _TypeTotals], pairs: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "alphabet": AMINO_ACIDS,
        "by_type": {method: total.by_type() for method, total in totals.items()},
    }
    if pairs:
        answer["pair_table"] = {method: total.pair_table() for method, total in totals.items()}
        answer["pair_value"] = "mean of s_i + s_j, the attribution to the pair's own residues"
    return answer


def aa_patterns_over(
    model: nn.Module,
    adapter: ModelAdapter,
    proteins: list[tuple[Protein, dict[str, Any]]],
    head: str,
    index: int,
    methods: list[str],
    targets: int,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Amino-acid patterns over many proteins ``(protein, prediction)``: for each,
    ``targets`` targets of ``head`` (class ``index``) — evenly spaced residues for a per-residue
    head, the most confident pairs for a pair head — explained by every method, and their
    per-residue attributions summed by amino-acid type (pair heads: also by the type pair)."""
    pair_head = adapter.spec.head(head).kind == "pair"
    totals = {method: _TypeTotals() for method in methods}
    counts = np.zeros(len(AMINO_ACIDS), dtype=np.int64)
    for done, (protein, prediction) in enumerate(proteins, 1):
        sequence = protein.sequence
        types = _types(sequence)
        inputs = adapter.encoded(protein)
        if pair_head:
            probe = Subject(model, adapter, inputs, OutputTarget(head, 0, 1), prediction)
            chosen: list[OutputTarget] = confident_pairs(probe, targets)
        else:
            where = np.unique(np.linspace(0, len(sequence) - 1, targets).round().astype(int))
            chosen = [OutputTarget(head, int(i), None, index) for i in where]
        for method, total in totals.items():
            for target in chosen:
                found = explain(model, adapter, inputs, target, method, check_options(method, {}))
                signed = found.residue_scores()[0]
                total.addmap_of(signed, types)
                if target.j is not None:
                    total.add_pair(signed, types, target.i, target.j)
        counts += np.bincount(types, minlength=len(AMINO_ACIDS))
        if progress is not None:
            progress(done / len(proteins))
    answer = _patterns_json(totals, pair_head)
    answer.update(
        analysis="aa_patterns",
        options={"methods": methods, "targets per protein": targets},
        proteins=len(proteins),
        counts=counts.tolist(),
    )
    return answer


def confident_pairs(subject: Subject, count: int) -> list[OutputTarget]:
    """The ``count`` pairs (i < j, |i − j| ≥ 6) of the target's pair head the model is most sure
    of: the highest probability (contacts) or the shortest distance."""
    target = subject.target
    if count == 0 or not isinstance(target, OutputTarget) or target.j is None:
        return []
    if subject.prediction is None or target.head not in subject.prediction:
        return []
    values = np.asarray(subject.prediction[target.head], dtype=float)
    head = subject.model_spec.head(target.head)
    score = values if head.units != "Å" else -values
    rows, cols = np.triu_indices(len(values), MIN_PAIR_SEPARATION)
    best = np.argsort(-score[rows, cols], kind="stable")[:count]
    return [OutputTarget(target.head, int(rows[k]), int(cols[k]), target.index) for k in best]
