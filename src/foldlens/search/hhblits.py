"""Iterative HMM-HMM search of an HH-suite database with hhblits (Steinegger et al. 2019).

``hhblits -n N -e E -all -oa3m``: each iteration's profile HMM searches the database's HMMs; the
search stops early ("No new hits found … => Stop searching": converged) or after N iterations.
``-all`` keeps every included sequence in the A3M (no diversity filtering: that is
:func:`~foldlens.search.result.assemble`'s, as for the other backends). hhblits writes the query
first and may add secondary-structure rows (names ``ss_…``), which are left out. One thread, in a
temporary folder; each iteration's start is reported as progress, and a cancel (checked at every
line hhblits prints) stops it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .database import SequenceDatabase
from .programs import run
from .result import SearchParameters, SearchResult, a3m_records, assemble

ITERATION = re.compile(r"INFO: Iteration (\d+)")
CONVERGED = "Stop searching"


def search(
    name: str,
    sequence: str,
    database: SequenceDatabase,
    parameters: SearchParameters,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    exclude: frozenset[str] = frozenset(),
) -> SearchResult:
    """Search ``sequence`` in the HH-suite ``database`` (see the module docstring); hits named in
    ``exclude`` are dropped from the result (hhblits cannot leave them out of its profile)."""
    prefix = str(database.paths[0]).removesuffix("_a3m.ffindex")
    iterations, converged = 0, False

    def line(text: str) -> None:
        nonlocal iterations, converged
        found = ITERATION.search(text)
        if found is not None:
            if progress is not None and iterations:
                progress(iterations)
            iterations = int(found.group(1))
        converged = converged or CONVERGED in text

    with tempfile.TemporaryDirectory(prefix="foldlens-hhblits-") as folder:
        work = Path(folder)
        (work / "query.fasta").write_text(f">query\n{sequence}\n")
        run(
            [
                "hhblits", "-i", str(work / "query.fasta"), "-d", prefix,
                "-oa3m", str(work / "msa.a3m"), "-o", str(work / "hits.hhr"),
                "-n", str(parameters.iterations), "-e", str(parameters.evalue),
                "-all", "-cpu", "1", "-v", "2",
            ],
            cancelled,
            line,
        )  # fmt: skip
        text = (work / "msa.a3m").read_text()
    if progress is not None:
        progress(iterations)
    hits = [(n, row) for n, row in a3m_records(text)[1:] if not n.startswith("ss_")]
    return assemble(name, sequence, hits, parameters, iterations, converged, exclude)
