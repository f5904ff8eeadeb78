"""Fit the default model's pLDDT calibration on the validation split and plot it.

Folds ``--sample`` validation chains (≤ ``--max-length`` residues, drawn with seed 0) in profile
and single-sequence mode, pools every residue's raw predicted lDDT with the true lDDT of its
model, fits :func:`foldlens.folding.confidence.fit_calibration` and writes it beside the weights
(``src/foldlens/models/weights/default.confidence.json``, naming the weights' digest) with the
reliability plot ``docs/confidence-calibration.png``. Needs the export of ``scripts/build_data.sh``.

    python scripts/calibrate_confidence.py --sample 60
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from foldlens.data.chains import ChainSet
from foldlens.folding.confidence import fit_calibration
from foldlens.folding.evaluation import ChainResult, evaluate_structures
from foldlens.folding.fold import FoldSettings
from foldlens.models import adapter, load

WEIGHTS = Path(__file__).parents[1] / "src" / "foldlens" / "models" / "weights"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/promod3"))
    parser.add_argument("--sample", type=int, default=60)
    parser.add_argument("--max-length", type=int, default=300)
    parser.add_argument("--out", type=Path, default=WEIGHTS / "default.confidence.json")
    parser.add_argument("--figure", type=Path, default=Path("docs/confidence-calibration.png"))
    args = parser.parse_args()

    chains = ChainSet.from_export(args.data, "valid")
    eligible = np.flatnonzero(chains.lengths() <= args.max_length)
    drawn = np.sort(np.random.default_rng(0).choice(eligible, args.sample, replace=False))
    sample = [chains[int(i)] for i in drawn]
    bar = tqdm(total=2 * len(sample), unit="model", desc="folding validation chains")

    def progress(result: ChainResult) -> None:
        bar.update()
        bar.set_postfix(chain=result.chain_id)

    found = adapter("default")
    results = evaluate_structures(load("default"), found, sample, progress=progress)
    bar.close()
    raw = np.concatenate([r.raw_plddt for r in results])
    true = np.concatenate([r.true_lddt for r in results])
    keep = np.isfinite(true)
    calibration = dataclasses.replace(
        fit_calibration(raw[keep], true[keep]),
        fitted_on={
            "weights": found.digest(),
            "split": "valid",
            "chains": [chain.chain_id for chain in sample],
            "modes": ["profile", "single"],
            "residues": int(keep.sum()),
            "fold settings": vars(FoldSettings()),
        },
    )
    args.out.write_text(calibration.to_json() + "\n")

    fig, ax = plt.subplots(figsize=(5.6, 4.6), layout="constrained")
    order = np.argsort(raw[keep])
    for part in np.array_split(order, 25):
        ax.plot(raw[keep][part].mean(), true[keep][part].mean(), "o", color="tab:blue")
    ax.plot(calibration.raw, calibration.lddt, "-", color="tab:orange", label="fitted calibration")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    ax.set(
        xlabel="raw predicted lDDT (from the Cα–Cα distogram)",
        ylabel="true lDDT of the folded model",
        title=f"{len(sample)} validation chains × 2 modes, {int(keep.sum())} residues",
    )
    ax.legend(loc="upper left")
    fig.savefig(args.figure, dpi=110)
    print(f"wrote {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
