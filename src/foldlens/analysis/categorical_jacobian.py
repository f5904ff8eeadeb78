"""The model's own coupling map, from its categorical Jacobian (Zhang et al., PNAS 2024).

For every position i and every amino acid a other than the wild type, the network runs on the
single mutant x^{i→a}; the change of its per-residue outputs (raw head outputs, C channels) at
every position j,

    J[i, a, j, c] = f(x^{i→a})[j, c] − f(x)[j, c]    (J[i, wild type, ·, ·] = 0),

is the categorical Jacobian. Its 20 × C block for (i, j) is centred over a and over c (the
substitution and output "gauges", as a zero-sum gauge for Potts couplings), and the block's
Frobenius norm is the coupling of i and j:

    F[i, j] = ‖ B − B̄_a − B̄_c + B̄ ‖_F,    B = J[i, :, j, :],

symmetrised ``(F + Fᵀ) / 2`` with a zero diagonal and corrected by the average product (APC),
exactly as a DCA map (:mod:`foldlens.coevolution.coupling_maps`). Cost: 19 · L forward passes
(batched, the wild type in every batch); memory O(batch · C · L) — the Jacobian is reduced
position by position as its mutants complete, never held whole.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..coevolution.coupling_maps import average_product_correction

AMINO_ACIDS = 20

Outputs = Callable[[torch.Tensor], torch.Tensor]
"""Inputs ``(N, …)`` → per-residue outputs ``(N, C, L)``."""
Mutants = Callable[[list[tuple[int, int]]], torch.Tensor]
"""Changes ``[(position, amino acid index)]`` → the mutant inputs, one per change."""


class JacobianCancelledError(Exception):
    """The computation was cancelled between two batches."""


@torch.no_grad()
def jacobian_couplings(
    outputs: Outputs,
    mutants: Mutants,
    x: torch.Tensor,
    wild_type: list[int],
    batch: int = 64,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw coupling norms ``F`` (before symmetrising) and the APC map ``(L, L)`` of the
    module docstring; ``x`` is the wild-type input ``(1, …)`` and ``wild_type`` its amino-acid
    index per position. ``progress(done, total)`` counts mutants."""
    channels = outputs(x).shape[1]
    length = len(wild_type)
    changes = [(i, a) for i in range(length) for a in range(AMINO_ACIDS) if a != wild_type[i]]
    rows: dict[int, torch.Tensor] = {}  # J[i] (20, C, L) for the positions in flight
    shape = (AMINO_ACIDS, channels, length)
    norms = torch.zeros(length, length, dtype=torch.float64)
    for start in range(0, len(changes), batch):
        if cancelled is not None and cancelled():
            raise JacobianCancelledError
        chunk = changes[start : start + batch]
        # the wild type runs in every batch, so that a position the change cannot reach differs
        # by exactly zero (a batch of another size may sum in another order)
        out = outputs(torch.cat([x, mutants(chunk)])).double()
        delta = out[1:] - out[:1]  # (n, C, L)
        for (i, a), change in zip(chunk, delta, strict=True):
            rows.setdefault(i, torch.zeros(shape, dtype=torch.float64))[a] = change
        done = start + len(chunk)
        following = changes[done][0] if done < len(changes) else None
        for i in [i for i in rows if i != following]:  # complete: reduce it and let it go
            norms[i] = _centred_norms(rows.pop(i))
        if progress is not None:
            progress(done, len(changes))
    symmetric = (norms + norms.T) / 2
    symmetric.fill_diagonal_(0)
    return norms, average_product_correction(symmetric)


def _centred_norms(block: torch.Tensor) -> torch.Tensor:
    """``(L,)``: for each j the Frobenius norm of ``block[:, :, j]`` ``(20, C)`` centred over
    both axes (the wild type's row, all zero, included in the means)."""
    centred = block - block.mean(dim=0, keepdim=True) - block.mean(dim=1, keepdim=True)
    centred = centred + block.mean(dim=(0, 1), keepdim=True)
    return centred.pow(2).sum(dim=(0, 1)).sqrt()
