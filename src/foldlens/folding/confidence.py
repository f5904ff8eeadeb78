r"""Confidence read from the distograms: expected distance errors and a predicted lDDT.

**PAE-like map** (Å): the expected absolute error of the predicted Cβ–Cβ distance, with the
distogram as the distribution of the true distance::

    pae_ij = Σ_k p_ijk |c_k − d̄_ij|,   d̄_ij = Σ_k p_ijk c_k

(bin centres c_k; distances ≥ 20 Å all sit in the last bin, so errors beyond it are not seen).

**Predicted lDDT** of residue i, from the Cα–Cα distogram, each bin read as a uniform 0.5 Å
interval around its centre: the lDDT (Cα, 15 Å radius, thresholds t ∈ {0.5, 1, 2, 4} Å) that the
predicted distances d̄ would score if the truth were drawn from the distograms::

    w_ij  = P(D_ij < 15 Å) = Σ_{k: c_k < 15} p_ijk
    s_ij  = ¼ Σ_t P(|D_ij − d̄_ij| < t),   P(|D − d̄| < t) = Σ_k p_k |[c_k ± ¼] ∩ [d̄ ± t]| / ½
    raw_i = Σ_{j ≠ i} w_ij s_ij / Σ_{j ≠ i} w_ij

then ``plddt_i = 100 · g(raw_i)`` with g the model's :class:`Calibration`: a monotone
piecewise-linear map fitted on the validation split to the true lDDT of the folded models
(``scripts/calibrate_confidence.py``). Both maps are differentiable functions of the network's
logits, so they can be explained like any output; the 3D optimisation is not differentiated.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from ..protein.labels import DISTANCE_CENTRES
from .comparison import LDDT_RADIUS, LDDT_THRESHOLDS

HALF_BIN = 0.25
PLDDT_BANDS = (
    (90.0, "very high", "#0053D6"),
    (70.0, "confident", "#65CBF3"),
    (50.0, "low", "#FFDB13"),
    (0.0, "very low", "#FF7D45"),
)
"""AlphaFold DB's confidence bands: (lowest pLDDT, name, colour), from the top."""


def plddt_band(plddt: float) -> tuple[str, str]:
    """The band (name, colour) a pLDDT falls in."""
    for lowest, name, colour in PLDDT_BANDS:
        if plddt >= lowest:
            return name, colour
    return PLDDT_BANDS[-1][1:]


def _centres(like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(DISTANCE_CENTRES).to(like)


def expected_error(probabilities: torch.Tensor) -> torch.Tensor:
    """``Σ_k p_k |c_k − Σ_k p_k c_k|`` over the last dimension (bins) of ``probabilities``."""
    centres = _centres(probabilities)
    mean = (probabilities * centres).sum(-1, keepdim=True)
    return (probabilities * (centres - mean).abs()).sum(-1)


def raw_lddt(probabilities: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """``raw_i`` (see the module) from Cα–Cα bin probabilities ``(n, L, bins)``: the map's rows
    ``rows`` (all L rows when ``None``) → ``(n,)``."""
    if rows is None:
        rows = torch.arange(probabilities.shape[0])
    centres = _centres(probabilities)
    mean = (probabilities * centres).sum(-1, keepdim=True)
    low, high = centres - HALF_BIN, centres + HALF_BIN
    within = torch.zeros_like(mean[..., 0])
    for t in LDDT_THRESHOLDS:
        overlap = (torch.minimum(high, mean + t) - torch.maximum(low, mean - t)).clamp(min=0)
        within = within + (probabilities * overlap / (2 * HALF_BIN)).sum(-1)
    preserved = within / len(LDDT_THRESHOLDS)
    included = probabilities[..., centres < LDDT_RADIUS].sum(-1)
    others = torch.arange(probabilities.shape[1])[None, :] != rows[:, None]
    weights = included * others
    return (weights * preserved).sum(-1) / weights.sum(-1).clamp(min=1e-6)


@dataclass(frozen=True)
class Calibration:
    """A monotone piecewise-linear map ``g`` from raw predicted lDDT to the expected true lDDT
    (both 0–1), through the points (``raw``, ``lddt``), constant beyond them. ``fitted_on`` says
    where the points come from; an identity map (``calibrated`` false) for models without one."""

    raw: list[float] = field(default_factory=lambda: [0.0, 1.0])
    lddt: list[float] = field(default_factory=lambda: [0.0, 1.0])
    calibrated: bool = False
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        """``100 · g(raw)``, differentiable in ``raw`` (0–100)."""
        xs, ys = torch.tensor(self.raw).to(raw), torch.tensor(self.lddt).to(raw)
        clamped = raw.clamp(xs[0], xs[-1])
        segment = (torch.searchsorted(xs, clamped.detach().contiguous(), right=True) - 1).clamp(
            0, len(xs) - 2
        )
        x0, x1, y0, y1 = xs[segment], xs[segment + 1], ys[segment], ys[segment + 1]
        return 100 * (y0 + (clamped - x0) * (y1 - y0) / (x1 - x0))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        values = json.loads(text)
        raw, lddt = values["raw"], values["lddt"]
        if len(raw) < 2 or len(raw) != len(lddt) or list(raw) != sorted(set(raw)):
            raise ValueError("a calibration needs ≥ 2 points with strictly increasing raw values")
        if any(b < a for a, b in itertools.pairwise(lddt)):
            raise ValueError("a calibration must be monotone")
        return cls(list(raw), list(lddt), bool(values.get("calibrated", True)),
                   dict(values.get("fitted_on", {})))  # fmt: skip


def fit_calibration(raw: np.ndarray, true: np.ndarray, bins: int = 20) -> Calibration:
    """The calibration of raw scores ``raw`` to true lDDTs ``true`` (0–1, one per residue):
    means of ``bins`` equal-count bins of ``raw``, made monotone by pooling adjacent violators
    (isotonic regression on the bin means, weighted by their counts)."""
    order = np.argsort(raw)
    groups = [g for g in np.array_split(order, bins) if len(g)]
    blocks = [[float(raw[g].mean()), float(true[g].mean()), len(g)] for g in groups]
    pooled: list[list[float]] = []
    for block in blocks:
        pooled.append(block)
        while len(pooled) > 1 and pooled[-2][1] > pooled[-1][1]:
            (x1, y1, n1), (x2, y2, n2) = pooled[-2], pooled[-1]
            n = n1 + n2
            pooled[-2:] = [[(x1 * n1 + x2 * n2) / n, (y1 * n1 + y2 * n2) / n, n]]
    if len(pooled) == 1:
        x, y, _ = pooled[0]
        pooled = [[x - 1e-3, y, 0], [x + 1e-3, y, 0]]
    return Calibration([p[0] for p in pooled], [p[1] for p in pooled], calibrated=True)


@dataclass(frozen=True)
class Confidence:
    """``plddt`` (L,) 0–100 and ``pae`` (L, L) Å of one protein."""

    plddt: np.ndarray
    pae: np.ndarray
    raw: np.ndarray
    calibrated: bool


ROWS_AT_ONCE = 64
"""Rows of the map read at a time: the memory of the raw lDDT stays that of a few distograms."""


def confidence(probabilities: dict[str, torch.Tensor], calibration: Calibration) -> Confidence:
    """pLDDT and PAE from the distograms (``(L, L, bins)`` per map)."""
    ca_ca = probabilities["dist_ca_ca"]
    blocks = [
        rows for rows in torch.arange(len(ca_ca)).chunk(max(1, -(-len(ca_ca) // ROWS_AT_ONCE)))
    ]
    raw = torch.cat([raw_lddt(ca_ca[rows], rows) for rows in blocks])
    return Confidence(
        plddt=calibration(raw).numpy().astype(np.float32),
        pae=expected_error(probabilities["dist_cb_cb"]).numpy().astype(np.float32),
        raw=raw.numpy().astype(np.float32),
        calibrated=calibration.calibrated,
    )
