"""Attribution to the input of a layer (the engine's ``wrt=``), read as a person reads it.

- a 1D layer's input ``(C, L)``: channels × residues, shown like the input features;
- a 2D layer's input ``(C, rows, cols)`` over windows of the pair map: summed over channels and
  placed on the L × L map, ``P_rc = Σ_c A_crc`` (zero where the view computes nothing: those
  cells cannot change the target). Per residue, every cell gives half of its value to each of its
  two residues, ``s_k = ½ (Σ_c P_kc + Σ_r P_rk)`` so that ``Σ_k s_k = Σ P``; the magnitude ``m_k``
  is the same over ``Σ_c |A_crc|``;
- a layer whose input channels are pairs of states (the 2018 network's ``conv1``): also the
  2018 view, the ``n × n`` grid of state pairs, each a window of cells around the target.

Generalises the 2018 "Jacobian window": the gradient of a distance (i, j) with respect to the
pair input around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.spec import LayerSpec, ModelSpec
from .errors import InvalidInputError


def check_layer(wrt: Any, model_spec: ModelSpec) -> LayerSpec:
    """The layer named by ``wrt``, checked against the model."""
    layers = {layer.path: layer for layer in model_spec.layers}
    if not isinstance(wrt, str) or wrt not in layers:
        raise InvalidInputError(
            f"model {model_spec.name!r} has no layer {wrt!r}; layers: {list(layers)}"
        )
    return layers[wrt]


@dataclass
class LayerAttribution:
    """``channels`` (C, L) for a 1D layer; ``pair`` and ``pair_magnitude`` (L, L) for a 2D
    layer, with ``grid`` (n, n, rows, cols) and its ``rows``/``cols`` when the layer has one."""

    layer: LayerSpec
    channels: np.ndarray | None = None
    pair: np.ndarray | None = None
    pair_magnitude: np.ndarray | None = None
    grid: np.ndarray | None = None
    grid_rows: np.ndarray | None = None
    grid_cols: np.ndarray | None = None

    def residue_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """The signed sum ``s`` and magnitude ``m`` per residue (see the module docstring)."""
        if self.channels is not None:
            return self.channels.sum(axis=0), np.abs(self.channels).sum(axis=0)
        assert self.pair is not None and self.pair_magnitude is not None
        return _split(self.pair), _split(self.pair_magnitude)


def _split(pair: np.ndarray) -> np.ndarray:
    halves: np.ndarray = (pair.sum(axis=1) + pair.sum(axis=0)) / 2
    return halves


def layer_attribution(
    layer: LayerSpec,
    maps: np.ndarray,
    windows: list[tuple[np.ndarray, np.ndarray]],
    length: int,
) -> LayerAttribution:
    """Read the engine's attribution ``maps`` to the layer's input (``(1, C, L)`` for a 1D layer,
    ``(W, C, rows, cols)`` for a 2D one, window w covering the map cells ``windows[w]``)."""
    if layer.kind == "1d":
        return LayerAttribution(layer, channels=maps[0])
    pair = np.zeros((length, length), dtype=np.float64)
    magnitude = np.zeros((length, length), dtype=np.float64)
    for window, (rows, cols) in zip(maps, windows, strict=True):
        keep_rows = (rows >= 0) & (rows < length)
        keep_cols = (cols >= 0) & (cols < length)
        cells = np.ix_(rows[keep_rows], cols[keep_cols])
        inside = np.ix_(np.flatnonzero(keep_rows), np.flatnonzero(keep_cols))
        np.add.at(pair, cells, window.sum(axis=0)[inside])
        np.add.at(magnitude, cells, np.abs(window).sum(axis=0)[inside])
    answer = LayerAttribution(layer, pair=pair, pair_magnitude=magnitude)
    if layer.channel_grid:
        states = len(layer.channel_grid)
        rows, cols = windows[0]
        answer.grid = maps[0].reshape(states, states, len(rows), len(cols))
        answer.grid_rows, answer.grid_cols = rows, cols
    return answer
