"""The pseudo-likelihood Potts fit at the sizes of the issue, against its own cost floor.

    python -m benchmarks.coevolution [--sizes 100x1000 200x2000] [--seed 0]

For each ``L x N``: an MSA of N sequences over L columns is Gibbs-sampled (40 sweeps) from a
Potts model with L/4 planted pairs (each a permutation coupling of strength 2, random fields),
then ``foldlens.coevolution.couplings`` fits it. Reported: the fit's seconds, objective
evaluations and L-BFGS iterations, whether it converged, the precision of the top L/4 APC pairs
(|i − j| ≥ 6) against the planted pairs, and — the baseline of the same run, so that the
machine's speed cancels out — the time of one bare evaluation (the ``(N, L·21) × (L·21, L·21)``
matrix product with its backward pass) and how many such evaluations the fit cost. Goal (issue
13): L = 200 with N = 2,000 in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import torch

from foldlens.coevolution import couplings
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.msa import Alignment

STATES = len(AMINO_ACIDS) + 1
STRENGTH = 2.0
SWEEPS = 40


def planted_alignment(length: int, count: int, seed: int) -> tuple[Alignment, set[tuple[int, int]]]:
    """An MSA sampled from a model whose couplings are L/4 disjoint planted pairs: each column
    has at most one partner, so a Gibbs step reads one other column."""
    generator = torch.Generator().manual_seed(seed)
    fields = 0.5 * torch.randn(length, STATES, generator=generator)
    order = torch.randperm(length, generator=generator).tolist()
    pairs = [tuple(sorted(order[2 * k : 2 * k + 2])) for k in range(length // 4)]
    partner: dict[int, tuple[int, torch.Tensor]] = {}
    for i, j in pairs:
        permutation = torch.randperm(STATES, generator=generator)
        coupling = torch.zeros(STATES, STATES)
        coupling[torch.arange(STATES), permutation] = STRENGTH
        partner[i] = (j, coupling)  # J_ij(a, b): row a of column i, column b of column j
        partner[j] = (i, coupling.T)
    x = torch.randint(STATES, (count, length), generator=generator)
    for _ in range(SWEEPS):
        for i in range(length):
            logits = fields[i].expand(count, STATES).clone()
            if i in partner:
                j, coupling = partner[i]
                logits += coupling[:, x[:, j]].T
            x[:, i] = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]
    letters = AMINO_ACIDS + "-"
    rows = ["".join(letters[int(c)] for c in row) for row in x]
    rows[0] = "".join(c if c != "-" else "A" for c in rows[0])  # the query has no gaps
    return Alignment([f"s{k}" for k in range(count)], rows), {(int(i), int(j)) for i, j in pairs}


def bare_evaluation(length: int, count: int) -> float:
    """Seconds of one objective evaluation's floor: the product and its backward pass."""
    onehot = torch.zeros(count, length * STATES)
    onehot[torch.arange(count)[:, None], torch.arange(length) * STATES] = 1.0
    matrix = torch.zeros(length * STATES, length * STATES, requires_grad=True)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        (onehot @ matrix).sum().backward()  # type: ignore[no-untyped-call]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100x1000", "200x2000"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    header = (
        f"{'L':>5} {'N':>6} {'fit s':>8} {'evals':>6} {'iters':>6} {'converged':>10} "
        f"{'precision':>10} {'1 eval s':>9} {'fit / eval':>11} {'goal':>8}"
    )
    print(header)
    for size in args.sizes:
        length, count = (int(part) for part in size.split("x"))
        alignment, planted = planted_alignment(length, count, args.seed)
        start = time.perf_counter()
        found = couplings(alignment)
        seconds = time.perf_counter() - start
        top = {(i, j) for i, j, _ in found.top(len(planted))}
        precision = len(top & planted) / len(planted)
        floor = bare_evaluation(length, count)
        goal = "< 60 s" if (length, count) == (200, 2000) else ""
        evaluations = seconds / floor
        print(
            f"{length:>5} {count:>6} {seconds:>8.1f} {found.evaluations:>6} "
            f"{found.iterations:>6} {found.converged!s:>10} {precision:>10.2f} "
            f"{floor:>9.3f} {evaluations:>11.0f} {goal:>8}"
        )


if __name__ == "__main__":
    main()
