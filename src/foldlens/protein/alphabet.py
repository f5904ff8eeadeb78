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


def validate_sequence(
    sequence: str, name: str = "the sequence", max_length: int | None = None
) -> str:
    """``sequence`` without whitespace, in upper case; a ``ValueError`` says what is wrong where:
    empty, longer than ``max_length``, or a letter outside the 20 amino acids."""
    upper = "".join(sequence.split()).upper()
    if not upper:
        raise ValueError(f"{name} is empty")
    if max_length is not None and len(upper) > max_length:
        raise ValueError(f"{name} has {len(upper)} residues; the limit is {max_length}")
    for position, letter in enumerate(upper, start=1):
        if letter not in _INDEX:
            raise ValueError(
                f"{name} has {letter!r} at position {position}, which is not one of the 20 "
                f"standard amino acids ({AMINO_ACIDS})"
            )
    return upper


def one_hot(sequence: str) -> torch.Tensor:
    """``(20, L)`` float tensor with a 1 at each residue's amino acid."""
    sequence = validate_sequence(sequence)
    encoded = torch.zeros(len(AMINO_ACIDS), len(sequence))
    encoded[[_INDEX[aa] for aa in sequence], range(len(sequence))] = 1.0
    return encoded
