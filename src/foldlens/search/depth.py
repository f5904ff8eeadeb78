"""When a searched MSA is deep enough for the network to read its profile.

The network was trained on HHblits profiles of deep alignments; a profile from a few searched
sequences is mostly the query plus pseudocounts, and can do worse than the sequence alone. On 200
chains of the validation split searched in the default database (``foldlens evaluate --search``,
README "MSA search: evaluation"), the searched profile did worse than the sequence alone below
Neff 2 (Q3 −0.09, long-range top-L/5 precision −0.10), no better for Neff 2–5, and better in every
bin from 5 on (Q3 +0.06 to +0.10, top-L/5 +0.11 to +0.21, each 95 % interval above 0). So from
:data:`NEFF_THRESHOLD` on a job predicts from the searched profile; below, from the sequence alone,
saying why.
"""

from __future__ import annotations

NEFF_THRESHOLD = 5.0
"""Neff (sequence weights at 80 % identity, the query included) from which a searched MSA's
profile is used."""


def deep_enough(neff: float) -> bool:
    return neff >= NEFF_THRESHOLD
