"""Search results kept on disk by (sequence, database digest, parameters, program).

A result is two files named by the SHA-256 of that key: ``KEY.a3m`` and ``KEY.json`` (the
summary of :meth:`~foldlens.search.result.SearchResult.summary`), each written to a temporary
file and renamed, so a reader never sees half of one. The default folder is
``$XDG_CACHE_HOME/foldlens/search`` (``~/.cache/foldlens/search``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ..protein.msa import parse_msa
from . import hhblits, jackhmmer, mmseqs
from .database import SequenceDatabase
from .result import SearchParameters, SearchResult


def default_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "foldlens" / "search"


def cache_key(
    sequence: str,
    database: SequenceDatabase,
    parameters: SearchParameters,
    exclude: frozenset[str] = frozenset(),
) -> str:
    """SHA-256 of what decides a search's result (the search program's version included)."""
    key = {
        "sequence": sequence,
        "database": database.digest(),
        "exclude": sorted(exclude),
        "parameters": asdict(parameters),
        "program": database.program(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def cached_search(
    name: str,
    sequence: str,
    database: SequenceDatabase,
    parameters: SearchParameters,
    folder: Path | None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> tuple[SearchResult, bool]:
    """The search's result from ``folder`` when it holds one, else searched and stored there
    (no caching when ``folder`` is ``None``); and whether it came from the cache."""
    key = cache_key(sequence, database, parameters, exclude)
    if folder is not None:
        a3m, summary = folder / f"{key}.a3m", folder / f"{key}.json"
        if a3m.is_file() and summary.is_file():
            return _loaded(a3m.read_text(), json.loads(summary.read_text())), True
    backend = {"fasta": jackhmmer.search, "mmseqs2": mmseqs.search, "hhsuite": hhblits.search}[
        database.kind
    ]
    result = backend(name, sequence, database, parameters, progress, cancelled, exclude)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / f"{key}.a3m", result.a3m)
        _write(folder / f"{key}.json", json.dumps(result.summary(database, parameters)))
    return result, False


def _loaded(a3m: str, summary: dict[str, object]) -> SearchResult:
    coverage = summary["coverage"]
    assert isinstance(coverage, list)
    converged = summary["converged"]
    return SearchResult(
        a3m=a3m,
        alignment=parse_msa(a3m),
        iterations=int(str(summary["iterations"])),
        converged=None if converged is None else bool(converged),
        hits=int(str(summary["hits"])),
        neff=float(str(summary["neff"])),
        coverage=[float(value) for value in coverage],
    )


def _write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)
