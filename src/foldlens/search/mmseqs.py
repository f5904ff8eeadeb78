"""Iterative profile search of an MMseqs2 database with MMseqs2 itself (Steinegger & Söding 2017).

``mmseqs search --num-iterations N -e E --max-seqs 10000`` (MMseqs2 runs all N iterations; it does
not report convergence), then ``mmseqs result2msa --msa-format-mode 5``: an A3M over the query's
columns, which :func:`~foldlens.search.result.assemble` filters like jackhmmer's hits. Everything
runs in a temporary folder, one thread, the program's output kept for the error message; each
iteration's prefilter start is reported as progress, and a cancel (checked at every line the
program prints) stops it.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from .database import SequenceDatabase
from .result import SearchCancelledError, SearchParameters, SearchResult, assemble

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
        _run(["createdb", str(work / "query.fasta"), str(work / "query")], cancelled)
        started = 0

        def line(text: str) -> None:
            nonlocal started
            if text.startswith(ITERATION_STARTS) and progress is not None:
                started += 1
                progress(started - 1)

        _run(
            [
                "search", str(work / "query"), prefix, str(work / "result"), str(work / "tmp"),
                "--num-iterations", str(parameters.iterations), "-e", str(parameters.evalue),
                "--max-seqs", str(MAX_SEQUENCES), "--threads", "1",
            ],
            cancelled,
            line,
        )  # fmt: skip
        _run(
            [
                "result2msa", str(work / "query"), prefix, str(work / "result"), str(work / "msa"),
                "--msa-format-mode", "5", "--threads", "1",
            ],
            cancelled,
        )  # fmt: skip
        text = (work / "msa").read_bytes().split(b"\0")[0].decode()
    if progress is not None:
        progress(parameters.iterations)
    records = text.split(">")[1:]
    hits = [_record(record) for record in records[1:]]  # the first is the query
    return assemble(name, sequence, hits, parameters, parameters.iterations, None, exclude)


def _record(record: str) -> tuple[str, str]:
    header, _, rows = record.partition("\n")
    return header.split()[0], "".join(rows.split())


def _run(
    arguments: list[str],
    cancelled: Callable[[], bool] | None,
    line: Callable[[str], None] | None = None,
) -> None:
    """Run ``mmseqs ARGUMENTS``, handing each line it prints to ``line``; stop it when
    ``cancelled()``; a ``RuntimeError`` with its last lines when it fails."""
    process = subprocess.Popen(
        ["mmseqs", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    tail: list[str] = []
    for text in process.stdout:
        tail = [*tail[-19:], text.rstrip()]
        if line is not None:
            line(text)
        if cancelled is not None and cancelled():
            process.kill()
            process.wait()
            raise SearchCancelledError
    if process.wait() != 0:
        raise RuntimeError(f"mmseqs {arguments[0]} failed: " + " | ".join(tail[-5:]))
