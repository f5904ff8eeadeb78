"""The coupling map of an MSA: ``foldlens couplings`` and the job stage that needs it.

The alignment's rows (the first :data:`MAX_ROWS`) are weighted at 80 % identity; its columns with
more than :data:`MAX_GAP_FRACTION` gaps are left out (as GREMLIN does: a column of mostly gaps
couples through its gap pattern, not its residues); a pseudo-likelihood Potts model is fitted to
the rest (:mod:`.potts`), and its couplings become the Frobenius and APC-corrected maps
(:mod:`.coupling_maps`), zero for the columns left out (``fitted`` says which were kept).
``Neff = Σ_n w_n`` says how much independent evidence the alignment holds; with Neff much below L
the map is mostly noise.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from ..protein.msa import GAP, STATES, Alignment, sequence_weights
from .coupling_maps import average_product_correction, frobenius
from .potts import fit_potts

MAX_ROWS = 10_000
"""Rows fitted at most (the first ones): the one-hot alignment holds N · L · 21 numbers."""
MAX_COLUMNS = 300
"""Columns fitted at most: the fit holds about 16 copies of the (21 L)² couplings (L-BFGS history
included), 2.5 GB at L = 300."""
MAX_GAP_FRACTION = 0.5
"""Columns with a larger fraction of gaps are not fitted."""
MIN_SEPARATION = 6
"""Pairs closer in sequence than this are left out of :meth:`Couplings.top` (they couple by
chain proximity, not by contact)."""


@dataclass(frozen=True)
class Couplings:
    """``apc`` and ``frobenius`` ``(L, L)`` maps (symmetric, zero diagonal), the alignment's
    ``neff`` and ``sequences`` (rows fitted), and how the fit ended (L-BFGS iterations, objective
    evaluations, converged or stopped at the limit)."""

    apc: np.ndarray
    frobenius: np.ndarray
    fitted: np.ndarray
    """``(L,)`` bool: the columns fitted (the others have too many gaps; their rows are zero)."""
    neff: float
    sequences: int
    iterations: int
    evaluations: int
    converged: bool

    def top(self, count: int, min_separation: int = MIN_SEPARATION) -> list[tuple[int, int, float]]:
        """The ``count`` strongest pairs ``(i, j, apc)``, i < j, at least ``min_separation``
        apart, strongest first."""
        rows, cols = np.triu_indices(len(self.apc), min_separation)
        order = np.argsort(-self.apc[rows, cols], kind="stable")[:count]
        return [(int(rows[k]), int(cols[k]), float(self.apc[rows[k], cols[k]])) for k in order]

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            apc=self.apc.astype(np.float32),
            frobenius=self.frobenius.astype(np.float32),
            fitted=self.fitted.astype(bool),
            neff=np.float64(self.neff),
            sequences=np.int64(self.sequences),
            iterations=np.int64(self.iterations),
            evaluations=np.int64(self.evaluations),
            converged=np.bool_(self.converged),
        )
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> Couplings:
        with np.load(io.BytesIO(data)) as arrays:
            return cls(
                apc=arrays["apc"],
                frobenius=arrays["frobenius"],
                fitted=arrays["fitted"],
                neff=float(arrays["neff"]),
                sequences=int(arrays["sequences"]),
                iterations=int(arrays["iterations"]),
                evaluations=int(arrays["evaluations"]),
                converged=bool(arrays["converged"]),
            )


MAX_ITERATIONS = 200
"""L-BFGS iterations at most, by default."""
PROGRESS_EVALUATIONS = 4 * MAX_ITERATIONS
"""Objective evaluations a progress bar counts to (about 4 per iteration, line search included)."""


def couplings(
    alignment: Alignment,
    max_iterations: int = MAX_ITERATIONS,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Couplings:
    """The coupling maps of ``alignment`` (see the module docstring); ``progress`` gets the
    objective evaluations so far."""
    every = alignment.codes(MAX_ROWS)
    length = every.shape[1]
    if length > MAX_COLUMNS:
        gigabytes = 64 * (STATES * length) ** 2 / 1e9
        raise ValueError(
            f"couplings of {length} columns would hold about {gigabytes:.0f} GB; this "
            f"fit takes at most {MAX_COLUMNS} columns (crop the alignment to a domain)"
        )
    fitted = (every == GAP).float().mean(dim=0) <= MAX_GAP_FRACTION
    codes = every[:, fitted]
    if codes.shape[1] < 3:
        raise ValueError(
            f"the alignment has {codes.shape[1]} columns with at most {MAX_GAP_FRACTION:.0%} "
            "gaps; couplings need at least 3"
        )
    weights = sequence_weights(codes)
    fit = fit_potts(codes, weights, STATES, max_iterations, progress=progress, cancelled=cancelled)
    norms = frobenius(fit.couplings)
    kept = np.flatnonzero(fitted.numpy())
    apc, full = np.zeros((length, length), np.float32), np.zeros((length, length), np.float32)
    apc[np.ix_(kept, kept)] = average_product_correction(norms).numpy()
    full[np.ix_(kept, kept)] = norms.numpy()
    return Couplings(
        apc=apc,
        frobenius=full,
        fitted=fitted.numpy(),
        neff=float(weights.sum()),
        sequences=len(codes),
        iterations=fit.iterations,
        evaluations=fit.evaluations,
        converged=fit.converged,
    )


def couplings_figure(found: Couplings, title: str) -> Figure:
    """The APC map (upper triangle) beside the Frobenius map (lower), with the top L/5 pairs
    circled."""
    import matplotlib.pyplot as plt

    from ..figures import residue_extent

    length = len(found.apc)
    upper = np.triu(np.ones((length, length), dtype=bool), 1)
    shown = np.where(upper, found.apc, found.frobenius)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
    image = ax.imshow(shown, cmap="Greys", interpolation="nearest", extent=residue_extent(length))
    top = found.top(max(1, length // 5))
    label = f"top L/5 by APC (|i − j| ≥ {MIN_SEPARATION})"
    ax.scatter([j + 1 for _, j, _ in top], [i + 1 for i, _, _ in top], s=18, facecolors="none",
               edgecolors="tab:red", linewidths=0.8, label=label)  # fmt: skip
    ax.set_title(f"{title}: APC (upper), Frobenius (lower); Neff {found.neff:.1f}")
    ax.set_xlabel("residue j")
    ax.set_ylabel("residue i")
    ax.legend(loc="lower left", fontsize=8)
    fig.colorbar(image, ax=ax, label="coupling strength")
    return fig
