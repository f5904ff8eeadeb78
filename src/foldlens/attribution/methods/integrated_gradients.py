"""Integrated gradients (Sundararajan et al. 2017).

For slot ``z``, baseline ``z0`` and target ``y``::

    IG(z) = (z - z0) ⊙ ∫₀¹ ∂y/∂z (z0 + α (z - z0)) dα
          ≈ (z - z0) ⊙ Σ_k w_k ∂y/∂z (z0 + α_k (z - z0))

with Gauss–Legendre nodes ``α_k`` and weights ``w_k`` on ``[0, 1]`` (``Σ w_k = 1``). Completeness:
``Σ IG(z) ≈ y(z) - y(z0)``, exactly in the limit of many steps. The points along the path run as
copies stacked along the batch dimension, so the model must treat batch rows independently (use
``model.eval()``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from ..forward import seeds
from ..session import AttributionSession
from ..targets import Target
from .base import (
    Maps,
    Method,
    Option,
    broadcast_baseline,
    check_positive_int,
    stacked_passes,
    weighted_sum_over_copies,
)


def gauss_legendre(steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of the ``steps``-point Gauss–Legendre rule on ``[0, 1]``."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return torch.from_numpy((nodes + 1) / 2), torch.from_numpy(weights / 2)


class IntegratedGradients(Method):
    name = "integrated_gradients"
    summary = "gradient integrated along a path from a baseline (Sundararajan et al. 2017)"
    options: ClassVar[dict[str, Option]] = {
        "baseline": Option(0.0, "the reference input z0: a number, a tensor, or a tuple per input"),
        "steps": Option(50, "Gauss–Legendre points along the path"),
        "batch_size": Option(None, "path points per forward pass (default: fit the memory budget)"),
    }

    def check(self, options: dict[str, Any]) -> None:
        super().check(options)
        check_positive_int(options, "steps")

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        z = session.slot_value()
        z0 = broadcast_baseline(options["baseline"], z)
        alphas, weights = gauss_legendre(options["steps"])
        total = [
            torch.zeros((len(targets), *zi.shape), dtype=zi.dtype, device=zi.device) for zi in z
        ]
        for chunk in stacked_passes(session, len(alphas), options["batch_size"]):
            path = tuple(
                torch.cat([b + float(alphas[k]) * (zi - b) for k in chunk])
                for zi, b in zip(z, z0, strict=True)
            )
            fwd = session.forward(path, copies=len(chunk))
            grads = session.gradients(fwd, seeds(fwd, targets))
            for acc, g in zip(total, grads, strict=True):
                acc += weighted_sum_over_copies(g, len(chunk), weights[list(chunk)])
        return tuple(acc * (zi - b) for acc, zi, b in zip(total, z, z0, strict=True))
