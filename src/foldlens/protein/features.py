"""Per-residue input features of the default network.

41 channels per residue: 20 one-hot amino-acid channels, 20 profile frequencies (zero when no
profile is known) and 1 flag that is 1 when a profile is present. Channels follow ``AMINO_ACIDS``.
"""

from __future__ import annotations

import numpy as np
import torch

from .alphabet import AMINO_ACIDS, one_hot

FEATURE_NAMES = (
    [f"one-hot {aa}" for aa in AMINO_ACIDS]
    + [f"profile {aa}" for aa in AMINO_ACIDS]
    + ["has profile"]
)
FEATURES = len(FEATURE_NAMES)


def residue_features(
    sequence: str, profile: np.ndarray | torch.Tensor | None = None
) -> torch.Tensor:
    """``(41, L)`` features; ``profile``: ``(L, 20)`` frequencies, or ``None`` (single sequence)."""
    encoded = one_hot(sequence)
    length = encoded.shape[1]
    features = torch.zeros(FEATURES, length)
    features[:20] = encoded
    if profile is not None:
        values = torch.as_tensor(np.asarray(profile, dtype=np.float32))
        if values.shape != (length, 20):
            raise ValueError(
                f"the profile has shape {tuple(values.shape)}, expected ({length}, 20)"
            )
        features[20:40] = values.T
        features[40] = 1.0
    return features
