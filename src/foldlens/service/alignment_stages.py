"""The stages a job runs on its alignment before the network: search, then couplings.

- **search** (a job that asked for it, ``search: true``): jackhmmer in the server's sequence
  database (:mod:`foldlens.search`), cached by (sequence, database digest, parameters). Its
  profile is the network's input when the MSA is deep enough
  (:func:`~foldlens.search.depth.deep_enough`); else the job predicts from the sequence alone and
  its summary says why.
- **couplings** (any job with an alignment of two rows or more, searched or uploaded, of at most
  :data:`~foldlens.coevolution.couplings.MAX_COLUMNS` residues): the pseudo-likelihood Potts
  model's APC map (:mod:`foldlens.coevolution`), for the page's coevolution view and the
  coevolution analysis.

Both report progress and stop at the job's next check (cancel, time budget, server stop).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..coevolution.couplings import MAX_COLUMNS, PROGRESS_EVALUATIONS, couplings
from ..coevolution.potts import FitCancelledError
from ..protein.msa import Alignment, sequence_weights
from ..search.cache import cached_search
from ..search.database import SequenceDatabase, find_database
from ..search.depth import NEFF_THRESHOLD, deep_enough
from ..search.result import SearchCancelledError, SearchParameters, SearchResult
from .errors import InvalidInputError

Report = Callable[[float, str], None]
"""``(fraction of the job done, stage)``."""
Interruption = Callable[[], Exception | None]
"""Why the job must stop now, if it must."""

SEARCH_SPAN = (0.02, 0.3)
COUPLINGS_SPAN = (0.3, 0.6)
"""The parts of the job's progress bar the stages take."""
SMALL_DATABASE = (
    "a small database: real depth needs a UniRef-class one, given to the server with "
    "`foldlens serve --seqdb PATH` or FOLDLENS_SEQDB"
)


@dataclass(frozen=True)
class SearchSettings:
    """The server's MSA search: its database (``None`` with the reason it has none), the
    parameters every job uses, and the folder of cached results."""

    database: SequenceDatabase | None
    unavailable: str | None = None
    parameters: SearchParameters = field(default_factory=SearchParameters)
    cache: Path | None = None

    def request(self) -> dict[str, Any]:
        """What a job asking for a search stores (and its id hashes): the database's name and
        digest, and the parameters; :class:`InvalidInputError` when this server cannot search."""
        if self.database is None:
            raise InvalidInputError(f"this server cannot search for MSAs: {self.unavailable}")
        return {
            "database": self.database.name,
            "digest": self.database.digest(),
            "parameters": asdict(self.parameters),
        }

    def info(self) -> dict[str, Any]:
        """What the page shows about the search (``GET /api/search``)."""
        return {
            "available": self.database is not None,
            "database": None if self.database is None else self.database.name,
            "program": None if self.database is None else self.database.program(),
            "unavailable": self.unavailable,
            "parameters": asdict(self.parameters),
            "neff_threshold": NEFF_THRESHOLD,
            "note": SMALL_DATABASE if self.database and self.database.is_default else None,
        }


def search_settings(seqdb: str | None, cache: Path) -> SearchSettings:
    """The search of a server started with ``--seqdb seqdb`` (a ``ValueError`` when that
    database cannot be searched); without one, ``$FOLDLENS_SEQDB`` or the default database, and
    no search (with the reason) when neither can be."""
    try:
        database = find_database(seqdb)
    except ValueError as error:
        if seqdb is not None:
            raise
        return SearchSettings(None, str(error))
    return SearchSettings(database, cache=cache)


def search_stage(
    name: str,
    sequence: str,
    request: dict[str, Any],
    settings: SearchSettings,
    report: Report,
    interruption: Interruption,
) -> tuple[Alignment, dict[str, Any], bytes]:
    """The searched alignment, its summary (with the prediction mode it leads to) and its A3M
    (gzip-compressed)."""
    database = settings.database
    if database is None or database.digest() != request["digest"]:
        raise ValueError(
            f"this server's sequence database is no longer {request['database']} as when the job "
            "was submitted; submit it again"
        )
    parameters = SearchParameters(**request["parameters"])
    low, high = SEARCH_SPAN

    def progress(iteration: int) -> None:
        fraction = low + (high - low) * iteration / parameters.iterations
        report(fraction, f"searching {database.name}: iteration {iteration} done")

    report(low, f"searching {database.name}")
    try:
        result, cached = cached_search(
            name,
            sequence,
            database,
            parameters,
            settings.cache,
            progress,
            lambda: interruption() is not None,
        )
    except SearchCancelledError as error:
        raise (interruption() or error) from error
    summary = searched_summary(result, database, parameters, cached)
    return result.alignment, summary, gzip.compress(result.a3m.encode(), 6)


def searched_summary(
    result: SearchResult, database: SequenceDatabase, parameters: SearchParameters, cached: bool
) -> dict[str, Any]:
    """What a search found (:meth:`SearchResult.summary`) and the prediction mode it leads to,
    with the reason in words."""
    deep = deep_enough(result.neff)
    return result.summary(database, parameters) | {
        "source": "search",
        "from_cache": cached,
        "mode": "profile" if deep else "single",
        "neff_threshold": NEFF_THRESHOLD,
        "why": (
            f"Neff {result.neff:.1f} ≥ {NEFF_THRESHOLD:g}: the network reads the searched MSA's "
            "profile"
            if deep
            else f"Neff {result.neff:.1f} < {NEFF_THRESHOLD:g}: too shallow for a profile, so the "
            "prediction is single-sequence and therefore weaker"
        ),
        "note": SMALL_DATABASE if database.is_default else None,
    }


def upload_summary(alignment: Alignment) -> dict[str, Any]:
    """The summary of an uploaded alignment: its depth and coverage (the network reads its
    profile, as the user asked)."""
    codes = alignment.codes()
    return {
        "source": "upload",
        "sequences": len(alignment.rows),
        "neff": float(sequence_weights(codes).sum()),
        "coverage": (codes != 20).float().mean(dim=0).tolist(),
        "mode": "profile",
        "why": "the uploaded MSA's profile",
    }


def couplings_stage(
    alignment: Alignment, report: Report, interruption: Interruption
) -> tuple[bytes | None, dict[str, Any]]:
    """The coupling maps (NPZ) and how the fit went, or ``None`` and why none were fitted."""
    if len(alignment.rows) < 2:
        return None, {"fitted": False, "why": "the MSA holds the query alone"}
    length = len(alignment.query)
    if length > MAX_COLUMNS:
        return None, {
            "fitted": False,
            "why": f"couplings are fitted for proteins of up to {MAX_COLUMNS} residues",
        }
    low, high = COUPLINGS_SPAN

    def progress(evaluations: int) -> None:
        fraction = low + (high - low) * min(1.0, evaluations / PROGRESS_EVALUATIONS)
        report(fraction, f"coevolution: fitting the Potts model ({evaluations} evaluations)")

    report(low, "coevolution: fitting the Potts model")
    try:
        found = couplings(
            alignment, progress=progress, cancelled=lambda: interruption() is not None
        )
    except FitCancelledError as error:
        raise (interruption() or error) from error
    except ValueError as error:  # too few columns with few enough gaps
        return None, {"fitted": False, "why": str(error)}
    return found.to_npz(), {
        "fitted": True,
        "columns": int(found.fitted.sum()),
        "neff": found.neff,
        "sequences": found.sequences,
        "iterations": found.iterations,
        "converged": found.converged,
    }
