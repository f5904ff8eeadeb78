"""The categorical Jacobian analysis at L ≈ 300, against running its mutants one at a time.

    python -m benchmarks.jacobian [--example 2xyiA] [--batches 16 64 256] [--threads 2]

On a shipped example (default: 2xyiA, 298 residues, with its profile) and the default network, the
coupling map of :func:`foldlens.analysis.categorical_jacobian.jacobian_couplings` over all
19 · L single mutants, for each batch size; the baseline of the same run is the per-residue forward
of one mutant at a time (timed on 40 mutants, scaled to 19 · L), so that the machine's speed
cancels out. Issue 13 asks for the cost at L = 300 to be stated.
"""

from __future__ import annotations

import argparse
import time

import torch

from foldlens.analysis.categorical_jacobian import jacobian_couplings
from foldlens.models import adapter, load
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.record import Protein
from foldlens.service.examples import example

BASELINE_MUTANTS = 40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--example", default="2xyiA")
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    chosen = example(args.example)
    model_adapter, model = adapter("default"), load("default")
    inputs = model_adapter.encoded(Protein(chosen.sequence, chosen.profile()))
    heads = [h.name for h in model_adapter.spec.heads if h.kind == "per-residue" and not h.source]
    wild_type = [AMINO_ACIDS.index(letter) for letter in chosen.sequence]
    length = len(wild_type)

    @torch.no_grad()
    def outputs(x: torch.Tensor) -> torch.Tensor:
        out = model_adapter.outputs(model, x, pairs=False)
        return torch.cat([out[name].float() for name in heads], dim=1)

    def mutants(changes: list[tuple[int, int]]) -> torch.Tensor:
        return model_adapter.mutants(inputs, changes)

    sample = [(i, (wild_type[i] + 1) % 20) for i in range(0, length, length // BASELINE_MUTANTS)]
    sample = sample[:BASELINE_MUTANTS]
    started = time.perf_counter()
    for change in sample:
        outputs(mutants([change]))
    one_at_a_time = (time.perf_counter() - started) / len(sample) * 19 * length
    print(f"{args.example}: L = {length}, {19 * length} mutants, heads {', '.join(heads)}, "
          f"{args.threads} threads")  # fmt: skip
    print("| way | seconds | ms per mutant | × one at a time |")
    print("| --- | --- | --- | --- |")
    print(f"| one at a time (baseline, from {len(sample)}) | {one_at_a_time:.1f} | "
          f"{1000 * one_at_a_time / (19 * length):.2f} | 1.00 |")  # fmt: skip
    for batch in args.batches:
        started = time.perf_counter()
        jacobian_couplings(outputs, mutants, inputs.x, wild_type, batch=batch)
        seconds = time.perf_counter() - started
        print(f"| batches of {batch} | {seconds:.1f} | {1000 * seconds / (19 * length):.2f} | "
              f"{seconds / one_at_a_time:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
