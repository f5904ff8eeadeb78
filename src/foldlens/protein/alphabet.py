"""The 20 standard amino acids and their one-hot encoding.

The order ``ARNDCQEGHILKMFPSTWYV`` is the one of HHblits profiles and of ProMod3's structure
database, so one-hot and profile columns line up.

>>> one_hot("ACD").shape
torch.Size([20, 3])
"""

from __future__ import annotations

import torch

AMINO_ACIDS = "ARNDCQEGHILKMFPSTWYV"
_INDEX = {aa: i for i, aa in enumerate(AMINO_ACIDS)}
NON_STANDARD = {
    "X": "an unknown amino acid; replace it (e.g. with a homologue's residue) or cut it off",
    "B": "ambiguous (D or N); write the one you mean",
    "Z": "ambiguous (E or Q); write the one you mean",
    "J": "ambiguous (I or L); write the one you mean",
    "U": "selenocysteine, not among the 20 the model knows; C (cysteine) is its closest",
    "O": "pyrrolysine, not among the 20 the model knows; K (lysine) is its closest",
    "*": "a stop codon inside the sequence; predict each chain on its own",
    "-": "a gap; give an alignment as an MSA (A3M, aligned FASTA, Stockholm)",
    ".": "a gap; give an alignment as an MSA (A3M, aligned FASTA, Stockholm)",
}
"""What a letter outside the 20 means, for the message that refuses it."""
NUCLEOTIDES = set("ACGTUN")
NUCLEOTIDE_SHARE = 0.9
SHORTEST_NUCLEOTIDE_SEQUENCE = 20


def validate_sequence(
    sequence: str, name: str = "the sequence", max_length: int | None = None
) -> str:
    """``sequence`` without whitespace, in upper case; a ``ValueError`` says what is wrong where:
    empty, longer than ``max_length``, or a letter outside the 20 amino acids (what X, B, Z, J,
    U, O, ``*`` and gaps mean is said)."""
    upper = "".join(sequence.split()).upper()
    if not upper:
        raise ValueError(f"{name} is empty")
    if max_length is not None and len(upper) > max_length:
        raise ValueError(f"{name} has {len(upper)} residues; the limit is {max_length}")
    for position, letter in enumerate(upper, start=1):
        if letter not in _INDEX:
            meaning = NON_STANDARD.get(letter)
            raise ValueError(
                f"{name} has {letter!r} at position {position}: "
                + (meaning or f"not one of the 20 standard amino acids ({AMINO_ACIDS})")
            )
    return upper


def looks_like_nucleotides(sequence: str) -> bool:
    """Whether an upper-case ``sequence`` reads as DNA/RNA rather than protein: 20 letters or
    more, every one of them A, C, G, T, U or N, at least three different bases among them and
    at least 90 % of them not N. (A protein that long made of A, C, G and T alone is all but
    unheard of, poly-alanine and G/A repeats aside; N, asparagine, is also DNA's "any base".)"""
    letters = set(sequence)
    if len(sequence) < SHORTEST_NUCLEOTIDE_SEQUENCE or not letters <= NUCLEOTIDES:
        return False
    bases = len(letters - {"N"})
    return bases >= 3 and sum(c != "N" for c in sequence) >= NUCLEOTIDE_SHARE * len(sequence)


def one_hot(sequence: str) -> torch.Tensor:
    """``(20, L)`` float tensor with a 1 at each residue's amino acid."""
    sequence = validate_sequence(sequence)
    encoded = torch.zeros(len(AMINO_ACIDS), len(sequence))
    encoded[[_INDEX[aa] for aa in sequence], range(len(sequence))] = 1.0
    return encoded
