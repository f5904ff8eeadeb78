"""Protein chains with their labels, stored as ragged arrays.

A :class:`ChainSet` holds C chains and R residues in all: per-residue arrays are the chains
concatenated, chain ``i`` being rows ``offsets[i]:offsets[i + 1]``. The same arrays come from the
full ProMod3 export (``scripts/build_data.sh``, for training) or from the small split committed in
the package (``foldlens/resources``, for evaluation and tests).

Fields: ``chain_id`` (C,), ``offsets`` (C + 1,), ``residues`` (R,) uint8 indices into
``AMINO_ACIDS``, ``profile`` (R, 20) float16, ``ss8`` (R,) uint8 indices into ``DSSP8``, ``rsa``
(R,) float16 relative accessibility, ``ca`` and ``cb`` (R, 3) float16 coordinates in Å, each chain
centred on its mean Cα (float16 then keeps 0.03 Å or better for chains within 64 Å of their centre).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..protein.alphabet import AMINO_ACIDS
from ..protein.labels import relative_accessibility

FIELDS = ("chain_id", "offsets", "residues", "profile", "ss8", "rsa", "ca", "cb")
_CODES = np.full(256, 255, dtype=np.uint8)
_CODES[np.frombuffer(AMINO_ACIDS.encode(), dtype=np.uint8)] = np.arange(20, dtype=np.uint8)


@dataclass(frozen=True)
class Chain:
    """One chain's sequence, profile and labels (float32 arrays)."""

    chain_id: str
    sequence: str
    profile: np.ndarray  # (L, 20)
    ss8: np.ndarray  # (L,)
    rsa: np.ndarray  # (L,)
    ca: np.ndarray  # (L, 3)
    cb: np.ndarray  # (L, 3)

    def __len__(self) -> int:
        return len(self.sequence)


@dataclass(frozen=True)
class ChainSet:
    chain_id: np.ndarray
    offsets: np.ndarray
    residues: np.ndarray
    profile: np.ndarray
    ss8: np.ndarray
    rsa: np.ndarray
    ca: np.ndarray
    cb: np.ndarray

    def __len__(self) -> int:
        return len(self.chain_id)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __getitem__(self, i: int) -> Chain:
        rows = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        return Chain(
            chain_id=str(self.chain_id[i]),
            sequence="".join(AMINO_ACIDS[r] for r in self.residues[rows]),
            profile=self.profile[rows].astype(np.float32),
            ss8=self.ss8[rows].astype(np.int64),
            rsa=self.rsa[rows].astype(np.float32),
            ca=self.ca[rows].astype(np.float32),
            cb=self.cb[rows].astype(np.float32),
        )

    def subset(self, chains: np.ndarray) -> ChainSet:
        """The chains at the given indices, in that order."""
        rows = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in chains])
        lengths = self.lengths()[chains]
        return ChainSet(
            chain_id=self.chain_id[chains],
            offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            residues=self.residues[rows],
            profile=self.profile[rows],
            ss8=self.ss8[rows],
            rsa=self.rsa[rows],
            ca=self.ca[rows],
            cb=self.cb[rows],
        )

    def save(self, path: Path) -> None:
        np.savez_compressed(path, **{name: getattr(self, name) for name in FIELDS})

    @classmethod
    def load(cls, path: Path) -> ChainSet:
        with np.load(path) as stored:
            missing = [name for name in FIELDS if name not in stored.files]
            if missing:
                raise ValueError(f"{path} is not a chain set: it lacks {missing}")
            return cls(**{name: stored[name] for name in FIELDS})

    @classmethod
    def from_export(cls, folder: Path, split: str) -> ChainSet:
        """The chains of one split (``train``, ``valid`` or ``test``) of the ProMod3 export."""
        with np.load(folder / "chains.npz") as chains, np.load(folder / "splits.npz") as splits:
            if list(splits["chain_id"]) != list(chains["chain_id"]):
                raise ValueError(
                    "chains.npz and splits.npz list different chains; rebuild the data"
                )
            offsets = chains["offsets"]
            sequences = chains["sequence"]
            residues = np.concatenate(
                [_CODES[np.frombuffer(s.encode(), dtype=np.uint8)] for s in sequences]
            )
            coords = chains["coords"]
            ca, cb = coords[:, 1], coords[:, 4]
            centres = np.repeat(
                np.add.reduceat(ca, offsets[:-1]) / np.diff(offsets)[:, None],
                np.diff(offsets),
                axis=0,
            )
            everything = cls(
                chain_id=chains["chain_id"],
                offsets=offsets,
                residues=residues,
                profile=chains["profile"],
                ss8=chains["dssp8"],
                rsa=relative_accessibility(chains["accessibility"], residues).astype(np.float16),
                ca=(ca - centres).astype(np.float16),
                cb=(cb - centres).astype(np.float16),
            )
            chosen = np.flatnonzero(splits["split"] == split)
        if chosen.size == 0:
            raise ValueError(f"no chains in split {split!r}; splits are train, valid and test")
        return everything.subset(chosen)
