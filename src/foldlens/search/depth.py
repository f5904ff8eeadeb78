"""When a searched MSA is deep enough for the network to read its profile.

The network was trained on HHblits profiles of deep alignments; a profile from a few searched
sequences is mostly the query plus pseudocounts, and can do worse than the sequence alone. On the
validation split (``foldlens evaluate --search``, README "MSA search: evaluation") the searched
profile beats single-sequence mode from :data:`NEFF_THRESHOLD` effective sequences on; below it a
job predicts from the sequence alone and says why.
"""

from __future__ import annotations

NEFF_THRESHOLD = 10.0
"""Neff (sequence weights at 80 % identity, the query included) from which a searched MSA's
profile is used."""


def deep_enough(neff: float) -> bool:
    return neff >= NEFF_THRESHOLD
