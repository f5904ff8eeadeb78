"""Iterative profile search (jackhmmer) of a FASTA database with pyhmmer, as an A3M over the query.

The query is searched against the database; the hits with E-value ≤ ``evalue`` are aligned to
the model and build the next one, until an iteration includes no new sequence (converged) or
``iterations`` have run (Eddy 2011; HMMER 3's jackhmmer, in-process through pyhmmer). jackhmmer's
model keeps one match state per query residue (checked), so each included domain becomes an A3M
row over the query's columns: the residue aligned to match state k in column k (upper case), ``-``
where the domain skips k or does not reach it, and the residues between match states (insert
states) in lower case after the column they follow; :func:`~foldlens.search.result.assemble`
filters them. The sequences named in ``exclude`` are left out of the database itself, so they never
shape the model either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyhmmer import easel, hmmer

from .database import ALPHABET, SequenceDatabase
from .result import SearchCancelledError, SearchParameters, SearchResult, assemble


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
    domains = (
        (
            f"{hit.name}/{domain.alignment.target_from}-{domain.alignment.target_to}",
            _a3m_row(
                domain.alignment.hmm_from,
                domain.alignment.hmm_sequence,
                domain.alignment.target_sequence,
                len(sequence),
            ),
        )
        for hit in last.hits
        if hit.included
        for domain in hit.domains
        if domain.included
    )
    return assemble(
        name, sequence, domains, parameters, last.iteration, bool(last.converged), exclude
    )


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
