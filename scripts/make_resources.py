"""Write the small data files that ship inside the package, from the full ProMod3 export.

    .venv/bin/python scripts/make_resources.py [--data data/promod3]

Writes into ``src/foldlens/resources/``:

- ``test_split.npz``: every chain of the held-out test split as a ``foldlens.data.ChainSet``
  (sequences, HHblits profiles, DSSP, relative accessibility, Cα/Cβ; float16 where that loses
  nothing that matters), for ``foldlens evaluate``;
- ``fixture.npz``: 12 short training chains, for the unit tests;
- ``examples/``: a handful of test-split proteins for the web page, each a backbone PDB
  (``<id>.pdb``, N/Cα/C/O/Cβ from the stored coordinates) and a profile, listed in
  ``examples.json``.

Run ``scripts/build_data.sh`` first. The source data is ProMod3's structure database (Apache-2.0;
PDB data, CC0; Studer et al., PLoS Comput Biol 2021).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from foldlens.data.chains import ChainSet
from foldlens.protein.labels import DSSP8, SS8_TO_SS3
from foldlens.protein.structure import Backbone

RESOURCES = Path(__file__).resolve().parents[1] / "src" / "foldlens" / "resources"
FIXTURE_CHAINS = 12
EXAMPLE_LENGTHS = (60, 90, 130, 180, 240, 300)


def _composition(ss8: np.ndarray) -> str:
    ss3 = SS8_TO_SS3[ss8]
    helix, strand = float(np.mean(ss3 == 0)), float(np.mean(ss3 == 1))
    if helix > 0.4 and strand < 0.1:
        return "mainly α"
    if strand > 0.3 and helix < 0.1:
        return "mainly β"
    return "α/β"


def write_examples(data: Path, test: ChainSet, out: Path) -> None:
    """The test chain nearest each length in EXAMPLE_LENGTHS, folds alternating α, α/β, β."""
    out.mkdir(parents=True, exist_ok=True)
    kinds = ("mainly α", "α/β", "mainly β")
    lengths = test.lengths()
    with np.load(data / "chains.npz") as chains:
        index = {str(name): i for i, name in enumerate(chains["chain_id"])}
        offsets, coords = chains["offsets"], chains["coords"]
        listed, profiles = [], {}
        for n, target in enumerate(EXAMPLE_LENGTHS):
            order = np.argsort(np.abs(lengths - target))[:200]
            pick = next(
                (int(i) for i in order if _composition(test[int(i)].ss8) == kinds[n % 3]),
                int(order[0]),
            )
            chain = test[pick]
            k = index[chain.chain_id]
            atoms = coords[int(offsets[k]) : int(offsets[k + 1])]
            backbone = Backbone(
                chain.chain_id[4:], chain.sequence, *(atoms[:, a] for a in range(5))
            )
            (out / f"{chain.chain_id}.pdb").write_text(backbone.to_pdb())
            profiles[chain.chain_id] = chain.profile.astype(np.float16)
            fold = _composition(chain.ss8)
            listed.append({
                "id": chain.chain_id,
                "name": f"PDB {chain.chain_id[:4].upper()} chain {chain.chain_id[4:]} ({fold})",
                "fold": fold,
                "length": len(chain),
                "sequence": chain.sequence,
                "structure": f"{chain.chain_id}.pdb",
                "dssp": "".join(DSSP8[k] for k in chain.ss8),
            })  # fmt: skip
    np.savez_compressed(out / "profiles.npz", **profiles)
    (out / "examples.json").write_text(json.dumps(listed, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/promod3"))
    args = parser.parse_args()
    RESOURCES.mkdir(parents=True, exist_ok=True)
    test = ChainSet.from_export(args.data, "test")
    test.save(RESOURCES / "test_split.npz")
    train = ChainSet.from_export(args.data, "train")
    short = np.flatnonzero((train.lengths() >= 40) & (train.lengths() <= 90))
    fixture = train.subset(np.random.default_rng(0).choice(short, FIXTURE_CHAINS, replace=False))
    fixture.save(RESOURCES / "fixture.npz")
    write_examples(args.data, test, RESOURCES / "examples")
    for path in sorted(RESOURCES.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(RESOURCES)}  {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
