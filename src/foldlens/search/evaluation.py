"""Searched MSAs for the chains of an evaluation, each search leaving out the query's own cluster.

The default database holds the training source's PDB chains, the held-out chains among them: a
held-out chain would find itself and the chains it was split with, which no real query has. So a
chain of the training source is searched with its own 30 % identity cluster left out
(:func:`~foldlens.search.database.same_cluster`) whenever the database holds those chains; a
database given by path is searched whole (it may hold the chain too: say so when reporting).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..coevolution.couplings import Couplings, couplings
from ..data.chains import ChainSet
from ..protein.msa import Alignment
from .cache import cached_search
from .database import PDB_CHAINS, SequenceDatabase, pdb_clusters, same_cluster
from .result import SearchParameters


@dataclass(frozen=True)
class SearchedMsa:
    alignment: Alignment
    neff: float
    iterations: int
    converged: bool | None
    left_out: int
    """Sequences of the query's own cluster left out of the database."""

    def profile(self) -> np.ndarray:
        return self.alignment.profile()


def searched_msas(
    chains: ChainSet,
    database: SequenceDatabase,
    parameters: SearchParameters,
    folder: Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> list[SearchedMsa]:
    """One search per chain, in order (cached in ``folder``); ``progress(done, total)``."""
    holds_training_source = PDB_CHAINS in database.paths
    results = []
    for k in range(len(chains)):
        chain = chains[k]
        exclude: frozenset[str] = frozenset()
        if holds_training_source and chain.chain_id in pdb_clusters():
            exclude = same_cluster(chain.chain_id)
        found, _ = cached_search(
            chain.chain_id, chain.sequence, database, parameters, folder, exclude=exclude
        )
        msa = SearchedMsa(
            found.alignment, found.neff, found.iterations, found.converged, len(exclude)
        )
        results.append(msa)
        if progress is not None:
            progress(k + 1, len(chains))
    return results


def dca_map(alignment: Alignment, folder: Path | None) -> np.ndarray:
    """The APC map of the alignment's Potts model, kept in ``folder`` by the alignment's
    SHA-256 (a rerun of an evaluation fits nothing twice); zeros for the query alone, whose
    couplings say nothing, and for an alignment with too few columns of few enough gaps."""
    length = len(alignment.query)
    if len(alignment.rows) < 2:
        return np.zeros((length, length), dtype=np.float32)
    try:
        return _fitted_map(alignment, folder)
    except ValueError:
        return np.zeros((length, length), dtype=np.float32)


def _fitted_map(alignment: Alignment, folder: Path | None) -> np.ndarray:
    if folder is None:
        return couplings(alignment).apc
    key = hashlib.sha256("\n".join(alignment.rows).encode()).hexdigest()
    path = folder / f"{key}.npz"
    if path.is_file():
        return Couplings.from_npz(path.read_bytes()).apc
    found = couplings(alignment)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(found.to_npz())
    partial.replace(path)
    return found.apc


def depth_summary(msas: list[SearchedMsa]) -> dict[str, object]:
    """The distribution of MSA depth (rows and Neff: quartiles), iterations to convergence and
    the share of searches that converged."""
    rows = np.array([len(m.alignment.rows) for m in msas])
    neff = np.array([m.neff for m in msas])
    iterations = np.array([m.iterations for m in msas])
    quartiles = [0, 25, 50, 75, 100]
    return {
        "rows quartiles": np.percentile(rows, quartiles).tolist(),
        "neff quartiles": np.percentile(neff, quartiles).round(2).tolist(),
        "query only": int((rows == 1).sum()),
        "iterations": {int(n): int((iterations == n).sum()) for n in np.unique(iterations)},
        "converged": float(np.mean([m.converged is True for m in msas])),
        "left out per query (median)": float(np.median([m.left_out for m in msas])),
    }
