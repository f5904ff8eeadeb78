"""Proteins: the amino-acid alphabet, what is known of one protein, structure labels."""

from .alphabet import AMINO_ACIDS, one_hot, validate_sequence
from .record import Protein

__all__ = [
    "AMINO_ACIDS",
    "Protein",
    "one_hot",
    "validate_sequence",
]
