"""Proteins: the amino-acid alphabet and per-residue features."""

from .alphabet import AMINO_ACIDS, one_hot, validate_sequence

__all__ = ["AMINO_ACIDS", "one_hot", "validate_sequence"]
