"""Export ProMod3's offline structure database to one numpy ``.npz`` file.

Source
    The structure database (``loop.LoadStructureDB()``) shipped with ProMod3 in
    Debian's ``promod3-data`` package: 21,119 gap-free PDB chain stretches with
    backbone coordinates, DSSP states, solvent accessibilities, dihedral angles
    and HHblits sequence profiles. ProMod3 is Apache-2.0; the structures are
    PDB data (CC0). Cite: Studer G, Tauriello G, Bienert S, et al. "ProMod3 - A
    versatile homology modelling toolbox." PLoS Comput Biol 17(1): e1008667
    (2021).

Command (needs Debian's interpreter, where ``python3-promod3`` is importable)
    /usr/bin/python3 scripts/export_promod3.py --out data/promod3 [--limit N]

``--limit N`` only looks at the first N chains of the database (quick test).
Chains of 30-1,000 residues are kept, in database order.

Output: ``<out>/chains.npz`` (uncompressed ``np.savez``: about twice the size
of a compressed file but loads several times faster; no pickled objects, so
``np.load(path)`` with the default ``allow_pickle=False`` works).
With C chains and R residues in total; per-residue arrays are the chains
concatenated in order, chain ``i`` being rows ``offsets[i]:offsets[i + 1]``:

    offsets          int64   (C + 1,)
    chain_id         str     (C,)       PDB id in lower case + chain name, "12asA"
    sequence         str     (C,)       one-letter sequence (20 standard amino acids)
    dssp8            uint8   (R,)       index into dssp8_alphabet
    dssp8_alphabet   str     ()         "HGIEBTSC" (C = coil, DSSP's blank)
    accessibility    float32 (R,)       solvent accessibility in square angstrom
    phi, psi         float32 (R,)       backbone dihedrals in radians; the first
                                        phi and last psi of every chain are
                                        undefined and hold the database's
                                        placeholders (-60 and -45 degrees)
    coords           float32 (R, 5, 3)  atom positions in angstrom
    coords_atoms     str     (5,)       "N", "CA", "C", "O", "CB"; the database
                                        stores no side chains, so CB is a
                                        virtual atom (ideal geometry, CA-CB
                                        1.5 angstrom) for every residue,
                                        glycine included
    profile          float16 (R, 20)    HHblits profile frequencies (rows sum to 1)
    profile_alphabet str     ()         "ARNDCQEGHILKMFPSTWYV"
"""

import argparse
import os
import sys
import time

import numpy as np
from promod3 import loop

MIN_LENGTH = 30
MAX_LENGTH = 1000
DSSP8_ALPHABET = "HGIEBTSC"
PROFILE_ALPHABET = "ARNDCQEGHILKMFPSTWYV"
ATOMS = ("N", "CA", "C", "O", "CB")
PROGRESS_SECONDS = 2.0

DSSP8_CODE = np.full(256, 255, dtype=np.uint8)
DSSP8_CODE[np.frombuffer(DSSP8_ALPHABET.encode(), dtype=np.uint8)] = np.arange(
    len(DSSP8_ALPHABET), dtype=np.uint8
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--limit", type=int, default=None, help="only look at the first N chains")
    return parser.parse_args()


def encode_dssp(states):
    codes = DSSP8_CODE[np.frombuffer(states.encode(), dtype=np.uint8)]
    if (codes == 255).any():
        raise ValueError(f"unexpected DSSP letters in {states!r}")
    return codes


def backbone_coords(backbone, length):
    getters = (
        backbone.GetN,
        backbone.GetCA,
        backbone.GetC,
        backbone.GetO,
        backbone.GetCB,
    )
    points = []
    for r in range(length):
        for get in getters:
            vec = get(r)
            points.append((vec[0], vec[1], vec[2]))
    return np.array(points, dtype=np.float32).reshape(length, len(ATOMS), 3)


def profile_freqs(profile):
    rows = [[column.GetFreq(aa) for aa in PROFILE_ALPHABET] for column in profile.columns]
    return np.array(rows, dtype=np.float16)


def export_chain(db, index, info):
    fragment = loop.FragmentInfo(index, 0, info.size)
    sequence = db.GetSequence(fragment)
    dihedrals = np.array(db.GetDihedralAngles(fragment), dtype=np.float32)
    return {
        "chain_id": info.id.lower() + info.chain_name,
        "sequence": sequence,
        "dssp8": encode_dssp(db.GetDSSPStates(fragment)),
        "accessibility": np.array(db.GetSolventAccessibilities(fragment), dtype=np.float32),
        "phi": dihedrals[:, 0],
        "psi": dihedrals[:, 1],
        "coords": backbone_coords(db.GetBackboneList(fragment, sequence), info.size),
        "profile": profile_freqs(db.GetSequenceProfile(fragment)),
    }


def report_progress(done, total, kept, start):
    elapsed = time.monotonic() - start
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else float("nan")
    print(
        f"{done}/{total} chains ({kept} kept), {rate:.0f} chains/s, "
        f"elapsed {elapsed:.0f} s, ETA {eta:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def export_chains(db, total):
    """Collect the per-chain records of the first ``total`` database chains."""
    records = []
    start = last_report = time.monotonic()
    for index in range(total):
        info = db.GetCoordInfo(index)
        if MIN_LENGTH <= info.size <= MAX_LENGTH:
            records.append(export_chain(db, index, info))
        if time.monotonic() - last_report >= PROGRESS_SECONDS:
            report_progress(index + 1, total, len(records), start)
            last_report = time.monotonic()
    report_progress(total, total, len(records), start)
    return records


def assemble(records):
    lengths = [len(record["sequence"]) for record in records]
    arrays = {
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "chain_id": np.array([record["chain_id"] for record in records]),
        "sequence": np.array([record["sequence"] for record in records]),
        "dssp8_alphabet": np.array(DSSP8_ALPHABET),
        "coords_atoms": np.array(ATOMS),
        "profile_alphabet": np.array(PROFILE_ALPHABET),
    }
    for key in ("dssp8", "accessibility", "phi", "psi", "coords", "profile"):
        arrays[key] = np.concatenate([record.pop(key) for record in records])
    return arrays


def save_atomically(path, arrays):
    """Write to a temporary name first so a partial file never looks finished."""
    partial = path + ".partial"
    with open(partial, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(partial, path)


def main():
    args = parse_args()
    db = loop.LoadStructureDB()
    total = db.GetNumCoords()
    if args.limit is not None:
        total = min(total, args.limit)
    records = export_chains(db, total)
    arrays = assemble(records)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "chains.npz")
    save_atomically(path, arrays)
    print(
        f"wrote {path}: {len(arrays['chain_id'])} chains, {arrays['offsets'][-1]} residues",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
