"""Split the exported ProMod3 chains into train/valid/test by 30 % identity clusters.

Source
    ``<data>/chains.npz`` written by ``scripts/export_promod3.py`` from ProMod3's
    structure database (Debian ``promod3-data``; ProMod3 is Apache-2.0, the
    structures are PDB data, CC0; cite Studer et al., PLoS Comput Biol 2021).

Command (numpy only; needs ``mmseqs`` on PATH)
    .venv/bin/python scripts/split_promod3.py --data data/promod3 [--threads 1]

The sequences are clustered with
``mmseqs easy-cluster --min-seq-id 0.3 -c 0.8`` in a temporary directory under
``--data`` (removed afterwards). Whole clusters are assigned to splits: the
clusters, ordered by their representative's chain id, are shuffled with a fixed
seed and the first 80 % go to train, the next 10 % to valid, the rest to test.
Chain fractions therefore differ slightly from 80/10/10.

Output: ``<data>/splits.npz`` (uncompressed ``np.savez``), one row per chain
in the order of ``chains.npz``:

    chain_id    str    (C,)  same as chains.npz
    cluster_id  int64  (C,)  row index of the cluster's representative chain
    split       str    (C,)  "train", "valid" or "test"
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

MIN_SEQ_ID = 0.3
COVERAGE = 0.8
SEED = 20210129
FRACTIONS = (("train", 0.8), ("valid", 0.1), ("test", 0.1))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="directory with chains.npz")
    parser.add_argument("--threads", type=int, default=1, help="mmseqs threads")
    return parser.parse_args()


def write_fasta(path, chain_ids, sequences):
    with open(path, "w") as handle:
        for chain_id, sequence in zip(chain_ids, sequences, strict=True):
            handle.write(f">{chain_id}\n{sequence}\n")


def run_mmseqs(fasta, workdir, threads):
    """Cluster ``fasta``; return the (representative, member) id pairs."""
    prefix = os.path.join(workdir, "clusters")
    command = [
        "mmseqs",
        "easy-cluster",
        fasta,
        prefix,
        os.path.join(workdir, "tmp"),
        "--min-seq-id",
        str(MIN_SEQ_ID),
        "-c",
        str(COVERAGE),
        "--threads",
        str(threads),
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    with open(prefix + "_cluster.tsv") as handle:
        return [line.split() for line in handle]


def cluster_ids(chain_ids, pairs):
    """Map every chain to the row index of its cluster representative."""
    row = {chain_id: index for index, chain_id in enumerate(chain_ids)}
    clusters = np.full(len(chain_ids), -1, dtype=np.int64)
    for representative, member in pairs:
        clusters[row[member]] = row[representative]
    if (clusters < 0).any():
        raise RuntimeError("mmseqs left some chains unclustered")
    return clusters


def assign_splits(chain_ids, clusters):
    """Shuffle whole clusters with a fixed seed and cut them 80/10/10."""
    representatives = np.unique(clusters)
    representatives = representatives[np.argsort(chain_ids[representatives])]
    shuffled = np.random.default_rng(SEED).permutation(representatives)
    names = [name for name, _ in FRACTIONS]
    bounds = np.cumsum([fraction for _, fraction in FRACTIONS]) * len(shuffled)
    cluster_split = {}
    for position, representative in enumerate(shuffled):
        cluster_split[representative] = names[np.searchsorted(bounds, position, "right")]
    return np.array([cluster_split[cluster] for cluster in clusters])


def print_counts(clusters, splits):
    for name, _ in FRACTIONS:
        chosen = splits == name
        n_clusters = len(np.unique(clusters[chosen]))
        print(f"{name}: {chosen.sum()} chains, {n_clusters} clusters")
    print(f"total: {len(clusters)} chains, {len(np.unique(clusters))} clusters")


def main():
    args = parse_args()
    with np.load(os.path.join(args.data, "chains.npz")) as chains:
        chain_ids = chains["chain_id"]
        sequences = chains["sequence"]
    with tempfile.TemporaryDirectory(prefix="mmseqs-", dir=args.data) as workdir:
        fasta = os.path.join(workdir, "chains.fasta")
        write_fasta(fasta, chain_ids, sequences)
        pairs = run_mmseqs(fasta, workdir, args.threads)
    clusters = cluster_ids(chain_ids, pairs)
    splits = assign_splits(chain_ids, clusters)
    path = os.path.join(args.data, "splits.npz")
    np.savez(path, chain_id=chain_ids, cluster_id=clusters, split=splits)
    print_counts(clusters, splits)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
