"""Write the PDB part of foldlens's default sequence database, from the full ProMod3 export.

    .venv/bin/python scripts/make_seqdb.py [--data data/promod3]

Writes ``src/foldlens/resources/pdb_chains.fasta.gz``: every exported chain (the training source:
train, validation and test splits alike) as one FASTA record,

    >12asA cluster=12asA split=train
    AYIAKQRQISFVKSHFSRQ...

``cluster`` is the chain id of the representative of the chain's 30 % identity cluster and
``split`` the split the chain belongs to (``scripts/split_promod3.py``). MSA search reads the
sequences; evaluation reads the clusters, to leave out hits of the query's own cluster
(:mod:`foldlens.search.database`). Run ``scripts/build_data.sh`` first. The source data is
ProMod3's structure database (Apache-2.0; PDB data, CC0; Studer et al., PLoS Comput Biol 2021).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

from foldlens.search.database import PDB_CHAINS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/promod3"))
    args = parser.parse_args()
    chains = np.load(args.data / "chains.npz")
    splits = np.load(args.data / "splits.npz")
    chain_ids, sequences = chains["chain_id"], chains["sequence"]
    if not np.array_equal(splits["chain_id"], chain_ids):
        raise SystemExit("splits.npz does not list the chains of chains.npz in order")
    representatives = chain_ids[splits["cluster_id"]]
    with gzip.open(PDB_CHAINS, "wt", compresslevel=9) as out:
        for chain_id, sequence, cluster, split in zip(
            chain_ids, sequences, representatives, splits["split"], strict=True
        ):
            out.write(f">{chain_id} cluster={cluster} split={split}\n{sequence}\n")
    print(f"{PDB_CHAINS}: {len(chain_ids)} chains, {PDB_CHAINS.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
