"""What every search backend returns: its parameters, its result, and the filtering they share.

A backend hands :func:`assemble` the aligned hits as A3M rows over the query's columns (match
columns upper case or ``-``, insertions lower case); rows are then filtered as the field does: a
hit covering fewer than ``coverage`` of the query's columns is dropped (fragments make coevolution
noisy), and so is a row identical over the query's columns to the query or to one kept before,
and any hit named in ``exclude``. The A3M starts with the query. ``neff`` is the sum of the
sequence weights at 80 % identity (:func:`~foldlens.protein.msa.sequence_weights`), ``coverage``
the fraction of rows with a residue in each column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..protein.msa import GAP, Alignment, parse_msa, sequence_weights
from .database import SequenceDatabase


@dataclass(frozen=True)
class SearchParameters:
    iterations: int = 20
    """Iterations at most; the result says whether the search converged. (jackhmmer's own default
    is 5, at which a quarter of the validation split's searches had not converged.)"""
    evalue: float = 1e-3
    """Inclusion threshold: hits (and domains) with a smaller E-value build the next model."""
    coverage: float = 0.5
    """Rows covering fewer of the query's columns are dropped."""

    def __post_init__(self) -> None:
        if not 1 <= self.iterations <= 20:
            raise ValueError(f"iterations must be 1–20, not {self.iterations}")
        if not 0 < self.evalue <= 10:
            raise ValueError(f"the E-value threshold must be in (0, 10], not {self.evalue}")
        if not 0 <= self.coverage <= 1:
            raise ValueError(f"coverage must be a fraction, not {self.coverage}")


@dataclass(frozen=True)
class SearchResult:
    """The A3M text (query first), the alignment over the query's columns it reads as, and how
    the search went."""

    a3m: str
    alignment: Alignment
    iterations: int
    converged: bool | None
    """``None`` when the search program does not say (MMseqs2 runs its iterations to the end)."""
    hits: int
    """Hits (domains) included in the last iteration, before filtering."""
    neff: float
    coverage: list[float]

    def summary(self, database: SequenceDatabase, parameters: SearchParameters) -> dict[str, Any]:
        """What ``search.json`` holds."""
        return {
            "database": database.name,
            "database_digest": database.digest(),
            "program": database.program(),
            "parameters": asdict(parameters),
            "iterations": self.iterations,
            "converged": self.converged,
            "hits": self.hits,
            "sequences": len(self.alignment.rows),
            "neff": self.neff,
            "coverage": self.coverage,
        }


class SearchCancelledError(Exception):
    """The search was cancelled before it finished."""


def a3m_records(text: str) -> list[tuple[str, str]]:
    """``(name, row)`` of each record of an A3M text: the header's first word, the row's lines
    joined."""
    records = []
    for record in text.split(">")[1:]:
        header, _, rows = record.partition("\n")
        records.append((header.split()[0] if header.split() else "", "".join(rows.split())))
    return records


def assemble(
    name: str,
    sequence: str,
    hits: Iterable[tuple[str, str]],
    parameters: SearchParameters,
    iterations: int,
    converged: bool | None,
    exclude: frozenset[str] = frozenset(),
) -> SearchResult:
    """The result of a search whose hits are ``(name, A3M row)``, filtered (module docstring)."""
    rows: list[tuple[str, str]] = []
    seen = {sequence}
    count = 0
    for hit_name, row in hits:
        count += 1
        matched = "".join(c for c in row if not c.islower())
        if len(matched) != len(sequence):
            raise ValueError(f"the hit {hit_name} has {len(matched)} columns, not {len(sequence)}")
        covered = sum(c != "-" for c in matched)
        if hit_name.split("/")[0] in exclude or covered < parameters.coverage * len(sequence):
            continue
        if matched not in seen:
            seen.add(matched)
            rows.append((hit_name, row))
    a3m = f">{name}\n{sequence}\n" + "".join(f">{n}\n{row}\n" for n, row in rows)
    alignment = parse_msa(a3m)
    codes = alignment.codes()
    return SearchResult(
        a3m=a3m,
        alignment=alignment,
        iterations=iterations,
        converged=converged,
        hits=count,
        neff=float(sequence_weights(codes).sum()),
        coverage=(codes != GAP).float().mean(dim=0).tolist(),
    )
