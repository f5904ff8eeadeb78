"""Folding the distograms into a 3D model, by length, against the prediction that feeds it.

    python -m benchmarks.folding [--examples 1k61C 1ly2A 6c49A 2xyiA] [--threads 2]

For each shipped example (with its profile) and the default network: the prediction itself (the
baseline of the same run, so that the machine's speed cancels out), the 3D model with the product's
settings and with one start only, and the MDS baseline, each with its TM-score against the
example's structure. Issue 16 asks for L = 300 in under 20 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from foldlens.folding.baselines import mds_trace
from foldlens.folding.comparison import tm_score
from foldlens.folding.distograms import predict_distograms
from foldlens.folding.fold import FoldSettings, fold
from foldlens.models import adapter, load
from foldlens.predict import predict
from foldlens.protein.record import Protein
from foldlens.protein.structure import read_structure
from foldlens.service.examples import example


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", nargs="+", default=["1k61C", "1ly2A", "6c49A", "2xyiA"])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_adapter, model = adapter("default"), load("default")
    product, one_start = FoldSettings(), FoldSettings(starts=1, keep=1)
    print(f"default model, {args.threads} threads; product settings {vars(product)}")
    print("| example | L | prediction s (baseline) | 3D model s | × prediction | TM | "
          "one start s | TM | MDS s | TM |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.examples:
        chosen = example(name)
        protein = Protein(chosen.sequence, chosen.profile())
        truth = read_structure(chosen.structure()).ca
        _, predicting = _timed(partial(predict, model, protein, model_adapter))
        distograms = predict_distograms(model, model_adapter, protein)
        folded, folding = _timed(partial(fold, distograms, product))
        single, single_seconds = _timed(partial(fold, distograms, one_start))
        mds, mds_seconds = _timed(partial(mds_trace, distograms))
        scores = [tm_score(trace, truth).score for trace in
                  (folded.atoms["ca"], single.atoms["ca"], mds.numpy())]  # fmt: skip
        print(f"| {name} | {len(protein.sequence)} | {predicting:.2f} | {folding:.1f} | "
              f"{folding / predicting:.1f} | {scores[0]:.3f} | {single_seconds:.1f} | "
              f"{scores[1]:.3f} | {mds_seconds:.2f} | {scores[2]:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
