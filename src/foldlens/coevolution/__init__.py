"""Coevolution: a pseudo-likelihood Potts model of an MSA and its coupling map.

:func:`couplings` fits :mod:`.potts` to an alignment (sequence weights at 80 % identity) and
turns its couplings into the Frobenius and APC-corrected maps of :mod:`.coupling_maps`.
"""

from .couplings import Couplings, couplings

__all__ = ["Couplings", "couplings"]
