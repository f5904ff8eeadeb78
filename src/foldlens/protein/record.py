"""What is known of one protein when a model is asked about it.

A model adapter (:mod:`foldlens.models.adapter`) builds its network's input from a
:class:`Protein`: the sequence always; an alignment, its profile and a known structure when given.
A model that needs one of them (an MSA for coevolution features, a structure) reads the field and
refuses a protein without it, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .msa import Alignment
from .structure import Backbone


@dataclass(frozen=True)
class Protein:
    """``sequence`` (letters of :data:`~foldlens.protein.alphabet.AMINO_ACIDS`), ``profile``
    ``(L, 20)`` amino-acid frequencies of an alignment's columns, ``structure`` its backbone,
    ``alignment`` the MSA itself (query first) when one was given."""

    sequence: str
    profile: np.ndarray | None = None
    structure: Backbone | None = None
    alignment: Alignment | None = None

    def mutant(self, position: int, letter: str) -> Protein:
        """The same protein with residue ``position`` (0-based) replaced by ``letter``; the
        profile, structure and alignment are kept (they describe the family, not this one
        sequence)."""
        sequence = self.sequence[:position] + letter + self.sequence[position + 1 :]
        return replace(self, sequence=sequence)
