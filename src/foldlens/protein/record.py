"""What is known of one protein when a model is asked about it.

A model adapter (:mod:`foldlens.models.adapter`) builds its network's input from a
:class:`Protein`: the sequence always, an alignment's profile and a known structure when given.
Models that need more (an MSA, couplings) read the fields they need and refuse a protein without
them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .structure import Backbone


@dataclass(frozen=True)
class Protein:
    """``sequence`` (letters of :data:`~foldlens.protein.alphabet.AMINO_ACIDS`), ``profile``
    ``(L, 20)`` amino-acid frequencies of an alignment's columns, ``structure`` its backbone."""

    sequence: str
    profile: np.ndarray | None = None
    structure: Backbone | None = None

    def mutant(self, position: int, letter: str) -> Protein:
        """The same protein with residue ``position`` (0-based) replaced by ``letter``; the
        profile and structure are kept (they describe the family, not this one sequence)."""
        sequence = self.sequence[:position] + letter + self.sequence[position + 1 :]
        return replace(self, sequence=sequence)
