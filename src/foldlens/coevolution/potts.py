"""A Potts model fitted to an MSA by pseudo-likelihood (plmDCA, GREMLIN), in PyTorch.

An alignment of N sequences over L columns, each position in one of q states (20 amino acids and
the gap), is modelled as ``P(x) ∝ exp(Σ_i h_i(x_i) + Σ_{i<j} J_ij(x_i, x_j))``. The fit maximises
the weighted pseudo-likelihood (Besag 1975; Ekeberg et al. 2013; Kamisetty et al. 2013)::

    z_{n,i,a}   = h_i(a) + Σ_{j≠i} J_ij(a, x_{n,j})
    log P_i(a)  = z_{n,i,a} − log Σ_b exp(z_{n,i,b})
    f(h, J)     = −Σ_n w_n Σ_i log P_i(x_{n,i})
                  + λ_h Σ_{i,a} h_i(a)² + (λ_J / 2) Σ_{i≠j} Σ_{a,b} J_ij(a, b)²

with sequence weights ``w_n`` (:func:`~foldlens.protein.msa.sequence_weights`) and GREMLIN's
regularisation ``λ_h = 0.01``, ``λ_J = 0.01 · (q − 1) · (L − 1)`` (scaled with the number of
columns and states, so that the couplings of one residue, L − 1 blocks of q × q, are held back as
a whole as its field is). The couplings are symmetric, ``J_ij(a, b) = J_ji(b, a)``, with zero
i = j blocks, so the ½ in f counts each pair once: they start at zero and their gradient is
symmetrised and masked, so every step keeps them so. f / Σ_n w_n is minimised with L-BFGS (strong
Wolfe line search) from the independent-site model (fields ``log`` of the weighted frequencies,
couplings zero). It has converged when its largest gradient component is below ``tolerance``, or
when it fell by less than a fraction :data:`RELATIVE_DECREASE` over the last :data:`CHUNK`
iterations (or stopped changing at the working precision); otherwise it stops, not converged,
after ``max_iterations``.

For all n at once, ``z = X J + h`` where ``X`` is the ``(N, L·q)`` one-hot alignment and ``J`` the
``(L·q, L·q)`` coupling matrix: one matrix product per evaluation, ``2 N (L q)²`` operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

LAMBDA_FIELDS = 0.01
COUPLING_SCALE = 0.01
"""λ_J = COUPLING_SCALE · (q − 1) · (L − 1)."""
PSEUDOCOUNT = 0.01
"""Added to every weighted state count of the independent-site start (so no log of zero)."""
CHUNK = 10
"""L-BFGS iterations between two convergence checks."""
LINE_SEARCH_EVALUATIONS = 25
"""Objective evaluations one line search may take at most (torch's own limit)."""
RELATIVE_DECREASE = 1e-4
"""Converged when the objective fell by less than this fraction over the last :data:`CHUNK`
iterations (float32 cannot resolve the gradient's last digits at L = 200). CCMpred's default is
looser: 1e-2 over 5 iterations."""


class FitCancelledError(Exception):
    """The fit was cancelled between two evaluations."""


@dataclass(frozen=True)
class PottsFit:
    """The fitted model: ``fields`` ``(L, q)``, ``couplings`` ``(L, q, L, q)`` (symmetric, zero
    blocks on the diagonal), the objective f at the optimum divided by Σ w, and how the optimiser
    ended."""

    fields: torch.Tensor
    couplings: torch.Tensor
    objective: float
    iterations: int
    evaluations: int
    converged: bool


def coupling_lambda(length: int, states: int) -> float:
    return COUPLING_SCALE * (states - 1) * (length - 1)


def pseudo_likelihood_objective(
    codes: torch.Tensor,
    weights: torch.Tensor,
    fields: torch.Tensor,
    couplings: torch.Tensor,
    lambda_fields: float,
    lambda_couplings: float,
    onehot: torch.Tensor | None = None,
) -> torch.Tensor:
    """f(h, J) of the module docstring for codes ``(N, L)``, weights ``(N,)``, fields ``(L, q)``
    and a symmetric coupling matrix ``(L·q, L·q)`` with zero diagonal blocks; ``onehot`` is the
    ``(N, L·q)`` one-hot of the codes when the caller has it."""
    length, states = fields.shape
    if onehot is None:
        onehot = F.one_hot(codes, states).flatten(1).to(couplings.dtype)
    logits = (onehot @ couplings).view(len(codes), length, states) + fields
    log_p = torch.log_softmax(logits, dim=2).gather(2, codes[:, :, None])[:, :, 0]
    likelihood = -(weights[:, None] * log_p).sum()
    squares: torch.Tensor = torch.linalg.vector_norm(couplings).square()  # no (L·q)² temporary
    penalty = lambda_fields * fields.pow(2).sum() + lambda_couplings / 2 * squares
    return likelihood + penalty


def fit_potts(
    codes: torch.Tensor,
    weights: torch.Tensor,
    states: int,
    max_iterations: int = 200,
    tolerance: float = 1e-4,
    lambda_fields: float = LAMBDA_FIELDS,
    lambda_couplings: float | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    dtype: torch.dtype = torch.float32,
    relative_decrease: float = RELATIVE_DECREASE,
) -> PottsFit:
    """The pseudo-likelihood Potts model of ``codes`` ``(N, L)`` (states ``0..states−1``) with
    sequence ``weights`` ``(N,)``, computed in ``dtype`` (``relative_decrease``: see the module
    docstring; 0 leaves the gradient alone to decide); ``progress`` gets the number of
    evaluations so far, and a fit for which ``cancelled()`` turns true stops with
    :class:`FitCancelledError`."""
    count, length = codes.shape
    if count == 0 or length < 2:
        raise ValueError("a Potts model needs at least one sequence of at least two columns")
    lam_j = coupling_lambda(length, states) if lambda_couplings is None else lambda_couplings
    weights = weights.to(dtype)
    scale = float(weights.sum())
    onehot = F.one_hot(codes, states).flatten(1).to(dtype)
    counts = (weights[:, None] * onehot).sum(dim=0).view(length, states)
    frequencies = (counts + PSEUDOCOUNT) / (counts + PSEUDOCOUNT).sum(dim=1, keepdim=True)
    fields = frequencies.log().requires_grad_(True)
    couplings = torch.zeros(length * states, length * states, dtype=dtype, requires_grad=True)
    # The gradient is symmetrised and its i = j blocks zeroed, so every L-BFGS direction is too:
    # the couplings start at zero and stay exactly symmetric with zero diagonal blocks.
    couplings.register_hook(partial(_symmetric_gradient, length, states))  # type: ignore[no-untyped-call]
    optimiser = torch.optim.LBFGS(
        [fields, couplings],
        lr=1.0,
        max_iter=CHUNK,
        tolerance_grad=tolerance,
        tolerance_change=torch.finfo(dtype).eps,
        history_size=5,
        line_search_fn="strong_wolfe",
    )
    evaluations = 0

    def closure() -> torch.Tensor:
        nonlocal evaluations
        if cancelled is not None and cancelled():
            raise FitCancelledError
        optimiser.zero_grad()
        objective = (
            pseudo_likelihood_objective(
                codes, weights, fields, couplings, lambda_fields, lam_j, onehot
            )
            / scale
        )
        objective.backward()  # type: ignore[no-untyped-call]
        evaluations += 1
        if progress is not None:
            progress(evaluations)
        return objective

    settled = False
    before = math.inf
    while not settled and _iterations(optimiser, fields) < max_iterations:
        done = _iterations(optimiser, fields)
        chunk = min(CHUNK, max_iterations - done)
        optimiser.param_groups[0].update(max_iter=chunk, max_eval=LINE_SEARCH_EVALUATIONS * chunk)
        try:
            start = float(optimiser.step(closure).detach())  # type: ignore[no-untyped-call]
        except RuntimeError as error:
            # At the working precision's floor the line search can propose a step too large to
            # represent; torch raises before moving the parameters (the last accepted point).
            if "overflow" not in str(error):
                raise
            break
        settled = before - start <= relative_decrease * abs(start)
        stalled = _iterations(optimiser, fields) - done < chunk
        settled = settled or stalled
        before = start
    objective = closure()  # at the final parameters: the gradient says whether it converged
    gradient = max(float(p.grad.abs().max()) for p in (fields, couplings) if p.grad is not None)
    return PottsFit(
        fields.detach(),
        couplings.detach().view(length, states, length, states),
        float(objective.detach()),
        _iterations(optimiser, fields),
        evaluations,
        gradient <= tolerance or settled,
    )


def _symmetric_gradient(length: int, states: int, grad: torch.Tensor) -> torch.Tensor:
    """``(G + Gᵀ) / 2`` with the i = j blocks zeroed: the gradient with respect to symmetric
    couplings with zero diagonal blocks."""
    symmetric = (grad + grad.T).mul_(0.5)
    blocks = symmetric.view(length, states, length, states)
    column = torch.arange(length)
    blocks[column, :, column, :] = 0
    return symmetric


def _iterations(optimiser: torch.optim.LBFGS, first: torch.Tensor) -> int:
    return int(optimiser.state[first].get("n_iter", 0))
