"""Protein structures from PDB or mmCIF text (read with gemmi), and what we compute from them.

A :class:`Backbone` holds one chain's sequence and its N, Cα, C, O and Cβ coordinates. Cβ is the
atom from the file where present; for glycine (and any residue without one) it is placed from N, Cα
and C with ideal geometry (the virtual Cβ of trRosetta / ProMod3):

    b = Cα − N,  c = C − Cα,  a = b × c,
    Cβ = −0.58273431 a + 0.56802827 b − 0.54067466 c + Cα

Modified residues count as their parent amino acid (MSE → M); other hetero groups and waters are
skipped. Secondary structure is assigned with DSSP's hydrogen-bond rules (``pydssp``, 3 states).
"""

from __future__ import annotations

from dataclasses import dataclass

import gemmi
import numpy as np
import torch

from .alphabet import AMINO_ACIDS
from .labels import SS3
from .sequences import MAX_LENGTH

BACKBONE = ("N", "CA", "C", "O")
RESIDUE_NAMES = ("ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
                 "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL")  # fmt: skip


@dataclass(frozen=True)
class Backbone:
    """One chain: ``sequence`` and (L, 3) float32 coordinates in Å."""

    chain: str
    sequence: str
    n: np.ndarray
    ca: np.ndarray
    c: np.ndarray
    o: np.ndarray
    cb: np.ndarray

    def __len__(self) -> int:
        return len(self.sequence)

    def distance_maps(self) -> dict[str, np.ndarray]:
        """The four L×L distance maps in Å, keyed ``dist_ca_ca``, ``dist_ca_cb`` and so on."""
        atoms = {"ca": torch.from_numpy(self.ca), "cb": torch.from_numpy(self.cb)}
        return {
            f"dist_{a}_{b}": torch.cdist(atoms[a], atoms[b]).numpy()
            for a, b in (("ca", "ca"), ("ca", "cb"), ("cb", "ca"), ("cb", "cb"))
        }

    def secondary_structure(self) -> str:
        """3-state DSSP (``H``, ``E``, ``C``) from the backbone hydrogen bonds."""
        import pydssp

        coords = np.stack([self.n, self.ca, self.c, self.o], axis=1)
        states = pydssp.assign(coords, out_type="c3")
        return "".join("C" if s == "-" else str(s) for s in states)

    def to_pdb(self, scores: np.ndarray | None = None) -> str:
        """PDB text of the backbone and Cβ; ``scores`` (L,) go into the B-factor column."""
        three = {gemmi.find_tabulated_residue(n).one_letter_code.upper(): n for n in RESIDUE_NAMES}
        values = np.zeros(len(self)) if scores is None else np.asarray(scores, dtype=float)
        lines, serial = [], 1
        for i, aa in enumerate(self.sequence):
            for name, xyz in (
                ("N", self.n),
                ("CA", self.ca),
                ("C", self.c),
                ("O", self.o),
                ("CB", self.cb),
            ):
                if name == "CB" and aa == "G":
                    continue
                x, y, z = xyz[i]
                chain = self.chain[:1] or "A"
                lines.append(
                    f"ATOM  {serial:5d}  {name:<3s} {three[aa]} {chain}{i + 1:4d}    "
                    f"{x:8.3f}{y:8.3f}{z:8.3f}{1.0:6.2f}{values[i]:6.2f}           {name[0]}"
                )
                serial += 1
        return "\n".join([*lines, "TER", "END", ""])


def virtual_cb(n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Ideal Cβ positions from N, Cα and C (see the module docstring)."""
    b = ca - n
    cc = c - ca
    a = np.cross(b, cc)
    cb: np.ndarray = (-0.58273431 * a + 0.56802827 * b - 0.54067466 * cc + ca).astype(np.float32)
    return cb


def structure_name(stem: str, chain: str) -> str:
    """The name of ``chain`` read from a file called ``stem``: PDB's own form for a PDB id
    (``1k61`` or ``1k61C`` or ``1k61_C``, chain C → ``1k61C``), else ``stem_chain``
    (``AF-P69905-F1-model_v4_A``), ``structure_A`` without a stem."""
    stem = stem.strip() or "structure"
    code, rest = stem[:4], stem[4:]
    if len(code) == 4 and code[0].isdigit() and code.isalnum() and rest in ("", chain, f"_{chain}"):
        return f"{code}{chain}"
    return f"{stem}_{chain}"


def _read(text: str) -> gemmi.Structure:
    stripped = text.lstrip()
    try:
        if stripped.startswith("data_"):
            block = gemmi.cif.read_string(text).sole_block()
            return gemmi.make_structure_from_block(block)
        return gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"cannot read the structure file: {error}") from error


def read_structure(text: str, chain: str | None = None, max_length: int = MAX_LENGTH) -> Backbone:
    """The first protein chain (or ``chain``) of the first model of a PDB or mmCIF text."""
    structure = _read(text)
    if len(structure) == 0:
        raise ValueError("the structure file has no model")
    model = structure[0]
    names = [ch.name for ch in model]
    if chain is not None and chain not in names:
        raise ValueError(f"the structure has no chain {chain!r}; chains: {names}")
    for candidate in model:
        if chain is not None and candidate.name != chain:
            continue
        residues = []
        for residue in candidate:
            info = gemmi.find_tabulated_residue(residue.name)
            if (
                info is None
                or not info.is_amino_acid()
                or info.one_letter_code.upper() not in AMINO_ACIDS
            ):
                continue
            residues.append((info.one_letter_code.upper(), residue))
        if residues:
            return _backbone(candidate.name, residues, max_length)
    raise ValueError("the structure has no protein chain" + (f" {chain!r}" if chain else ""))


def _backbone(name: str, residues: list[tuple[str, gemmi.Residue]], max_length: int) -> Backbone:
    if len(residues) > max_length:
        raise ValueError(f"chain {name} has {len(residues)} residues; the limit is {max_length}")
    coords = {atom: np.zeros((len(residues), 3), dtype=np.float32) for atom in (*BACKBONE, "CB")}
    has_cb = np.zeros(len(residues), dtype=bool)
    for i, (letter, residue) in enumerate(residues):
        for atom in BACKBONE:
            found = residue.find_atom(atom, "*")
            if found is None:
                raise ValueError(
                    f"chain {name} residue {residue.name} {residue.seqid.num} lacks its backbone "
                    f"atom {atom}"
                )
            coords[atom][i] = found.pos.tolist()
        beta = residue.find_atom("CB", "*")
        if beta is not None and letter != "G":
            coords["CB"][i] = beta.pos.tolist()
            has_cb[i] = True
    virtual = virtual_cb(coords["N"], coords["CA"], coords["C"])
    cb = np.where(has_cb[:, None], coords["CB"], virtual)
    sequence = "".join(letter for letter, _ in residues)
    return Backbone(name, sequence, coords["N"], coords["CA"], coords["C"], coords["O"], cb)


__all__ = ["SS3", "Backbone", "read_structure", "virtual_cb"]
