"""From an attribution tensor to the 2D map that :mod:`.metrics` compares."""

from __future__ import annotations

import numpy as np
import torch

from .metrics import Array


def as_map(attribution: torch.Tensor) -> Array:
    """The attribution as a float64 2D array: its size-1 dimensions dropped, then

    - a 1D map of ``n`` elements becomes one row, ``(1, n)``;
    - a 2D map is kept, e.g. ``(C, L)`` for an input ``(1, C, L)``;
    - more dimensions are stacked into rows, ``(C, H, W) -> (C·H, W)``, so that structural
      similarity still sees neighbouring elements of the last two axes as neighbours.
    """
    values = attribution.detach().to("cpu", torch.float64).numpy().squeeze()
    if values.ndim == 0:
        raise ValueError("the attribution has a single element; there is no map to compare")
    return np.asarray(values.reshape(-1, values.shape[-1]), dtype=np.float64)
