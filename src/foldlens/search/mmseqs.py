"""Iterative profile search of an MMseqs2 database with MMseqs2 itself (Steinegger & Söding 2017).

``mmseqs search --num-iterations N -e E --max-seqs 10000`` (MMseqs2 runs all N iterations; it does
not report convergence), then ``mmseqs result2msa --msa-format-mode 5``: an A3M over the query's
columns, which :func:`~foldlens.search.result.assemble` filters like jackhmmer's hits. Everything
runs in a temporary folder, one thread, the program's output kept for the error message; each
iteration's prefilter start is reported as progress, and a cancel (checked at every line the
program prints) stops it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from .database import SequenceDatabase
from .programs import run
from .result import SearchParameters, SearchResult, a3m_records, assemble

MAX_SEQUENCES = 10_000
ITERATION_STARTS = "Starting prefiltering scores calculation"


def search(
    name: str,
    sequence: str,
    database: SequenceDatabase,
    parameters: SearchParameters,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> SearchResult:
    """Search ``sequence`` in the MMseqs2 ``database`` (see the module docstring); hits named in
    ``exclude`` are dropped from the result (MMseqs2 cannot leave them out of its profile)."""
    prefix = str(database.paths[0]).removesuffix(".index")
    with tempfile.TemporaryDirectory(prefix="foldlens-mmseqs-") as folder:
        work = Path(folder)
        (work / "query.fasta").write_text(f">query\n{sequence}\n")
        query, result = str(work / "query"), str(work / "result")
        run(["mmseqs", "createdb", str(work / "query.fasta"), query], cancelled)
        started = 0

        def line(text: str) -> None:
            nonlocal started
            if text.startswith(ITERATION_STARTS) and progress is not None:
                started += 1
                progress(started - 1)

        run(
            [
                "mmseqs", "search", query, prefix, result, str(work / "tmp"),
                "--num-iterations", str(parameters.iterations), "-e", str(parameters.evalue),
                "--max-seqs", str(MAX_SEQUENCES), "--threads", "1",
            ],
            cancelled,
            line,
        )  # fmt: skip
        run(
            [
                "mmseqs", "result2msa", query, prefix, result, str(work / "msa"),
                "--msa-format-mode", "5", "--threads", "1",
            ],
            cancelled,
        )  # fmt: skip
        text = (work / "msa").read_bytes().split(b"\0")[0].decode()
    if progress is not None:
        progress(parameters.iterations)
    hits = a3m_records(text)[1:]  # the first is the query
    return assemble(name, sequence, hits, parameters, parameters.iterations, None, exclude)
