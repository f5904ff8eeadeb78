"""The atlas's throughput: one process against Ray workers, on the test split's first chains.

    python -m benchmarks.atlas [--proteins 20] [--targets SPEC] [--methods M ...]
                               [--chains 100000] [--cores 16]

Runs (each into a fresh folder, the same proteins, recipe and files):

1. one process, one torch thread (the baseline);
2. one process, two torch threads (what a plain run on this machine does);
3. an embedded Ray with two workers of one torch thread each (``--workers 2 --threads 1``).

For each: wall seconds (Ray's start and the workers' model loading included), proteins per
minute, the speed-up over the baseline, and the largest difference of any stored array from the
baseline's, relative to that array's largest value (float16 contact maps to their own step).
Then the projection: the baseline's core-seconds per protein times ``--chains`` proteins of
the same length distribution, over ``N`` nodes of ``--cores`` cores each, with the 2-worker
run's parallel efficiency.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from foldlens.atlas import DEFAULT_TARGETS
from foldlens.atlas.execution import Placement
from foldlens.atlas.inputs import TEST_SPLIT
from foldlens.atlas.protein_work import Recipe
from foldlens.atlas.run import run_atlas
from foldlens.text_table import text_table

NODES = (1, 10, 100)


def largest_difference(folder: Path, baseline: Path) -> float:
    """The largest ``max |a − b| / max |b|`` over the arrays of every protein file (float16
    arrays in units of their step near 1, 2⁻¹¹)."""
    worst = 0.0
    for path in sorted((baseline / "proteins").glob("*.npz")):
        ours, theirs = np.load(folder / "proteins" / path.name), np.load(path)
        for key in theirs.files:
            if theirs[key].dtype.kind != "f":
                continue
            a, b = ours[key].astype(np.float64), theirs[key].astype(np.float64)
            scale = max(float(np.abs(b).max(initial=0.0)), 1e-30)
            difference = float(np.abs(a - b).max(initial=0.0)) / scale
            if theirs[key].dtype == np.float16:
                difference *= 1e-5 / 2**-11  # one float16 step counts as 1e-5
            worst = max(worst, difference)
    return worst


def timed_run(recipe: Recipe, placement: Placement, proteins: int, folder: Path) -> float:
    start = time.perf_counter()
    run = run_atlas(TEST_SPLIT, folder, recipe, placement, limit=proteins)
    seconds = time.perf_counter() - start
    assert not run.failures, run.failures
    assert len(run.written) == proteins, "a fresh folder: every protein explained"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proteins", type=int, default=20)
    parser.add_argument("--targets", default=DEFAULT_TARGETS)
    parser.add_argument("--methods", nargs="+", default=["gradient", "guided_backprop"])
    parser.add_argument("--chains", type=int, default=100_000, help="proteins to project for")
    parser.add_argument("--cores", type=int, default=16, help="cores per node in the projection")
    args = parser.parse_args()
    recipe = Recipe("default", args.targets, tuple(args.methods))
    runs = {
        "1 process × 1 thread": Placement(1, 1),
        "1 process × 2 threads": Placement(1, 2),
        "Ray, 2 workers × 1 thread": Placement(2, 1),
    }
    root = Path(tempfile.mkdtemp(prefix="atlas-bench"))
    print(
        f"atlas benchmark: the test split's first {args.proteins} chains, targets {args.targets}, "
        f"methods {', '.join(args.methods)}"
    )
    try:
        seconds = {}
        for number, (name, placement) in enumerate(runs.items()):
            seconds[name] = timed_run(recipe, placement, args.proteins, root / str(number))
            print(f"  {name}: {seconds[name]:.1f} s", flush=True)
        baseline = next(iter(seconds.values()))
        rows = []
        for number, (name, value) in enumerate(seconds.items()):
            difference = largest_difference(root / str(number), root / "0")
            rows.append([
                name, f"{value:.1f}", f"{60 * args.proteins / value:.2f}",
                f"{baseline / value:.2f}×", f"{difference:.1e}",
            ])  # fmt: skip
        print()
        print(
            text_table(["run", "seconds", "proteins/min", "speed-up", "max rel. difference"], rows)
        )
        per_protein = baseline / args.proteins
        efficiency = baseline / seconds["Ray, 2 workers × 1 thread"] / 2
        print(
            f"\none core explains a protein in {per_protein:.1f} s (these chains: mean length "
            f"{_mean_length(root / '0'):.0f}); two workers on two cores run at "
            f"{100 * efficiency:.0f} % parallel efficiency."
        )
        projection = []
        for nodes in NODES:
            hours = args.chains * per_protein / (nodes * args.cores * efficiency) / 3600
            projection.append([str(nodes), str(nodes * args.cores), f"{hours:,.1f}"])
        print(f"\nprojected for {args.chains:,} chains of this length distribution:")
        print(text_table(["nodes", f"cores ({args.cores}/node)", "hours"], projection))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _mean_length(folder: Path) -> float:
    return float(
        np.mean([len(str(np.load(p)["sequence"])) for p in (folder / "proteins").glob("*.npz")])
    )


if __name__ == "__main__":
    main()
