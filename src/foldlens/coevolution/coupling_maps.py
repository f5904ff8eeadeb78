"""From couplings to a contact map: Frobenius norms and the average product correction.

For the couplings ``J_ij(a, b)`` of a Potts model (:mod:`foldlens.coevolution.potts`), restricted
to the 20 amino-acid states (the gap state left out, as CCMpred and GREMLIN do) and shifted to the
zero-sum gauge over them (``Σ_a J_ij(a, b) = Σ_b J_ij(a, b) = 0``, which leaves the model's
probabilities unchanged), the coupling strength of columns i and j is the Frobenius norm

    F_ij = ( Σ_{a,b} J̃_ij(a, b)² )^½,   F_ii = 0.

The average product correction (Dunn et al. 2008) removes the part of F explained by how strongly
each column couples to all others: with means over the off-diagonal entries,

    APC_ij = F_ij − F̄_i F̄_j / F̄,
    F̄_i = (1 / (L − 1)) Σ_{j≠i} F_ij,   F̄ = (1 / (L(L − 1))) Σ_{i≠j} F_ij,

and ``APC_ii = 0``.
"""

from __future__ import annotations

import torch

AMINO_ACID_STATES = 20


def frobenius(couplings: torch.Tensor, states: int = AMINO_ACID_STATES) -> torch.Tensor:
    """``(L, L)`` norms ``F`` of couplings ``(L, q, L, q)`` over their first ``states`` states,
    in the zero-sum gauge (see the module docstring); symmetric for symmetric couplings."""
    block = couplings[:, :states, :, :states].to(torch.float64)
    block = (
        block
        - block.mean(dim=1, keepdim=True)
        - block.mean(dim=3, keepdim=True)
        + block.mean(dim=(1, 3), keepdim=True)
    )
    norms = block.pow(2).sum(dim=(1, 3)).sqrt()
    return norms.fill_diagonal_(0.0)


def average_product_correction(norms: torch.Tensor) -> torch.Tensor:
    """``APC`` of a symmetric ``(L, L)`` map with zero diagonal (see the module docstring)."""
    length = norms.shape[0]
    if length < 3:
        raise ValueError("the average product correction needs at least three columns")
    off = ~torch.eye(length, dtype=torch.bool)
    row_means = (norms * off).sum(dim=1) / (length - 1)
    mean = norms[off].mean()
    corrected = norms - row_means[:, None] * row_means[None, :] / mean
    return corrected.fill_diagonal_(0.0)
