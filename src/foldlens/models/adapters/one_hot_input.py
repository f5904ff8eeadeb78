"""The input of models that read the sequence alone: its one-hot encoding, ``(1, 20, L)``."""

from __future__ import annotations

import torch

from ...protein.alphabet import AMINO_ACIDS, one_hot
from ...protein.record import Protein
from ..spec import FeatureGroup

ONE_HOT_GROUPS = [FeatureGroup("one-hot", list(AMINO_ACIDS))]


class OneHotInput:
    """Mixin of an adapter whose model reads the one-hot sequence (rows in ``AMINO_ACIDS``
    order); a profile or structure given with the protein is not used."""

    def encode(self, protein: Protein) -> torch.Tensor:
        return one_hot(protein.sequence)[None]
