"""Proteins: the amino-acid alphabet, per-residue features and structure labels."""

from .alphabet import AMINO_ACIDS, one_hot, validate_sequence
from .features import FEATURE_NAMES, FEATURES, residue_features

__all__ = [
    "AMINO_ACIDS",
    "FEATURES",
    "FEATURE_NAMES",
    "one_hot",
    "residue_features",
    "validate_sequence",
]
