"""Iterative profile search (jackhmmer) of a FASTA database with pyhmmer, as an A3M over the query.

The query is searched against the database; the hits with E-value ≤ ``evalue`` are aligned to
the model and build the next one, until an iteration includes no new sequence (converged) or
``iterations`` have run (Eddy 2011; HMMER 3's jackhmmer, in-process through pyhmmer). jackhmmer's
model keeps one match state per query residue (checked), so each included domain becomes an A3M
row over the query's columns: the residue aligned to match state k in column k (upper case), ``-``
where the domain skips k or does not reach it, and the residues between match states (insert
states) in lower case after the column they follow.

Rows are then filtered as the field does: a domain covering fewer than ``coverage`` of the query's
columns is dropped (fragments make coevolution noisy), and so is a row identical over the query's
columns to the query or to one kept before. The A3M starts with the query. ``neff`` is the sum of
the sequence weights at 80 % identity (:func:`~foldlens.protein.msa.sequence_weights`),
``coverage`` the fraction of rows with a residue in each column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pyhmmer import easel, hmmer

from ..protein.msa import Alignment, parse_msa, sequence_weights
from .database import ALPHABET, SequenceDatabase


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
    converged: bool
    hits: int
    """Domains included in the last iteration, before filtering."""
    neff: float
    coverage: list[float]

    def summary(self, database: SequenceDatabase, parameters: SearchParameters) -> dict[str, Any]:
        """What ``search.json`` holds."""
        return {
            "database": database.name,
            "database_digest": database.digest(),
            "parameters": asdict(parameters),
            "iterations": self.iterations,
            "converged": self.converged,
            "hits": self.hits,
            "sequences": len(self.alignment.rows),
            "neff": self.neff,
            "coverage": self.coverage,
        }


class SearchCancelledError(Exception):
    """The search was cancelled between two iterations."""


def search(
    name: str,
    sequence: str,
    database: SequenceDatabase,
    parameters: SearchParameters,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> SearchResult:
    """Search ``sequence`` (its A3M row named ``name``) in ``database`` less the sequences named
    in ``exclude`` (see the module docstring); ``progress`` gets each finished iteration's
    number, and ``cancelled()`` is checked between iterations."""
    query: Any = easel.TextSequence(name=name.encode(), sequence=sequence).digitize(ALPHABET)
    last: Any = None
    with database.targets(exclude) as targets:
        for result in hmmer.jackhmmer(
            query,
            targets,
            max_iterations=parameters.iterations,
            checkpoints=True,
            E=parameters.evalue,
            domE=parameters.evalue,
            incE=parameters.evalue,
            incdomE=parameters.evalue,
            cpus=1,
        ):
            steps: Any = result if isinstance(result, list) else [result]
            for step in steps:
                last = step
                if progress is not None:
                    progress(step.iteration)
                if cancelled is not None and cancelled():
                    raise SearchCancelledError
    assert last is not None
    if len(sequence) != last.hmm.M:
        raise RuntimeError(
            f"jackhmmer's model has {last.hmm.M} match states for {len(sequence)} residues"
        )
    rows = _rows(last.hits, sequence, parameters.coverage)
    a3m = f">{name}\n{sequence}\n" + "".join(f">{row_name}\n{row}\n" for row_name, row in rows)
    alignment = parse_msa(a3m)
    codes = alignment.codes()
    residues = (codes != 20).float()
    return SearchResult(
        a3m=a3m,
        alignment=alignment,
        iterations=last.iteration,
        converged=bool(last.converged),
        hits=len(
            [
                domain
                for hit in last.hits
                if hit.included
                for domain in hit.domains
                if domain.included
            ]
        ),
        neff=float(sequence_weights(codes).sum()),
        coverage=residues.mean(dim=0).tolist(),
    )


def _rows(hits: Any, query: str, coverage: float) -> list[tuple[str, str]]:
    """The A3M rows of the included domains, filtered (see the module docstring)."""
    rows: list[tuple[str, str]] = []
    seen = {query}
    length = len(query)
    for hit in hits:
        if not hit.included:
            continue
        for domain in hit.domains:
            if not domain.included:
                continue
            alignment = domain.alignment
            row = _a3m_row(
                alignment.hmm_from, alignment.hmm_sequence, alignment.target_sequence, length
            )
            matched = "".join(c for c in row if not c.islower())
            if sum(c != "-" for c in matched) < coverage * length or matched in seen:
                continue
            seen.add(matched)
            name = f"{hit.name}/{alignment.target_from}-{alignment.target_to}"
            rows.append((name, row))
    return rows


def _a3m_row(hmm_from: int, hmm_line: str, target_line: str, length: int) -> str:
    """One domain's A3M row: match state k (1-based from ``hmm_from``) → column k, insert states
    (``.`` in the model's line) as lower-case letters after the preceding column."""
    columns = ["-"] * length
    insertions = [""] * (length + 1)
    k = hmm_from - 1
    for model, target in zip(hmm_line, target_line, strict=True):
        if model == ".":
            if target != "-":
                insertions[k] += target.lower()
        else:
            columns[k] = target.upper() if target != "-" else "-"
            k += 1
    return insertions[0] + "".join(c + insertions[i + 1] for i, c in enumerate(columns))
