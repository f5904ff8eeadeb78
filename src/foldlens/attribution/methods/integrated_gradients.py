"""Integrated gradients (Sundararajan et al. 2017).

For slot ``z``, baseline ``z0`` and target ``y``::

    IG(z) = (z - z0) ⊙ ∫₀¹ ∂y/∂z (z0 + α (z - z0)) dα
          ≈ (z - z0) ⊙ Σ_k w_k ∂y/∂z (z0 + α_k (z - z0))

with the nodes ``α_k`` and weights ``w_k`` of a quadrature rule on ``[0, 1]`` (``Σ w_k = 1``):
Gauss–Legendre by default, or one of the Riemann sums Captum offers. Completeness:
``Σ IG(z) = y(z) - y(z0)`` in the limit of many steps; the report's ``convergence_delta`` is
``Σ IG(z) - (y(z) - y(z0))`` per target, the quadrature's error. ``multiply_by_inputs=False``
returns the path-averaged gradient ``Σ_k w_k ∂y/∂z(…)`` without the factor ``(z - z0)``. The
points along the path run as copies stacked along the batch dimension where the model keeps
stacked copies apart (:meth:`AttributionSession.copies_independent`), otherwise one per pass.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import numpy as np
import torch

from ..forward import seeds, values
from ..session import AttributionSession
from ..targets import Target
from .base import (
    Maps,
    Method,
    Option,
    broadcast_baseline,
    check_bool,
    check_positive_int,
    stacked_passes,
    weighted_sum_over_copies,
)


def gauss_legendre(steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of the ``steps``-point Gauss–Legendre rule on ``[0, 1]``."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return torch.from_numpy((nodes + 1) / 2), torch.from_numpy(weights / 2)


def riemann(kind: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of a ``steps``-point Riemann sum on ``[0, 1]``.

    ``left``: ``α_k = k/n``; ``right``: ``(k+1)/n``; ``middle``: ``(k+½)/n`` (each weight
    ``1/n``, ``k = 0 … n-1``); ``trapezoid``: ``α_k = k/(n-1)`` with weights ``1/(n-1)``,
    halved at both ends (``n ≥ 2``).
    """
    n = steps
    k = torch.arange(n, dtype=torch.float64)
    if kind == "trapezoid":
        if n < 2:
            raise ValueError("the trapezoid rule needs steps >= 2")
        weights = torch.full((n,), 1 / (n - 1), dtype=torch.float64)
        weights[[0, -1]] /= 2
        return k / (n - 1), weights
    offset = {"left": 0.0, "right": 1.0, "middle": 0.5}[kind]
    return (k + offset) / n, torch.full((n,), 1 / n, dtype=torch.float64)


RULES: dict[str, Callable[[int], tuple[torch.Tensor, torch.Tensor]]] = {
    "gauss_legendre": gauss_legendre,
    **{
        f"riemann_{kind}": partial(riemann, kind)
        for kind in ("left", "right", "middle", "trapezoid")
    },
}
"""Quadrature rules on ``[0, 1]`` by name: ``steps -> (nodes, weights)``."""


class IntegratedGradients(Method):
    name = "integrated_gradients"
    summary = "gradient integrated along a path from a baseline (Sundararajan et al. 2017)"
    options: ClassVar[dict[str, Option]] = {
        "baseline": Option(0.0, "the reference input z0: a number, a tensor, or a tuple per input"),
        "steps": Option(50, "points along the path"),
        "rule": Option(
            "gauss_legendre", f"the quadrature rule along the path, one of {list(RULES)}"
        ),
        "multiply_by_inputs": Option(
            True, "multiply the path-averaged gradient by (z - z0); False returns it bare"
        ),
        "batch_size": Option(None, "path points per forward pass (default: fit the memory budget)"),
    }

    def check(self, options: dict[str, Any]) -> None:
        super().check(options)
        check_positive_int(options, "steps")
        check_bool(options, "multiply_by_inputs")
        if not isinstance(options["rule"], str) or options["rule"] not in RULES:
            raise ValueError(f"rule must be one of {list(RULES)}, got {options['rule']!r}")
        RULES[options["rule"]](options["steps"])  # refuses steps the rule cannot take

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        z = session.slot_value()
        z0 = broadcast_baseline(options["baseline"], z)
        maps = integrated(session, targets, z, z0, options)
        if options["multiply_by_inputs"]:
            ends = endpoint_values(session, targets, z, z0)
            total = sum(m.flatten(1).sum(dim=1, dtype=torch.float64) for m in maps)
            session.convergence_delta = total - (ends[:, 0] - ends[:, 1]).to(torch.float64)
        return maps


def integrated(
    session: AttributionSession,
    targets: list[Target],
    z: tuple[torch.Tensor, ...],
    z0: tuple[torch.Tensor, ...],
    options: dict[str, Any],
) -> Maps:
    """Integrated gradients of every target at slot value ``z`` from baseline ``z0``."""
    alphas, weights = RULES[options["rule"]](options["steps"])
    total = [torch.zeros((len(targets), *zi.shape), dtype=zi.dtype, device=zi.device) for zi in z]
    for chunk in stacked_passes(session, len(alphas), options["batch_size"]):
        path = tuple(
            torch.cat([b + float(alphas[k]) * (zi - b) for k in chunk])
            for zi, b in zip(z, z0, strict=True)
        )
        fwd = session.forward(path, copies=len(chunk))
        grads = session.gradients(fwd, seeds(fwd, targets))
        for acc, g in zip(total, grads, strict=True):
            acc += weighted_sum_over_copies(g, len(chunk), weights[list(chunk)])
    if not options["multiply_by_inputs"]:
        return tuple(total)
    return tuple(acc * (zi - b) for acc, zi, b in zip(total, z, z0, strict=True))


def endpoint_values(
    session: AttributionSession,
    targets: list[Target],
    z: tuple[torch.Tensor, ...],
    z0: tuple[torch.Tensor, ...],
) -> torch.Tensor:
    """Each target's value at ``z`` and at ``z0``, shape ``(targets, 2)``."""
    if session.copies_independent():
        both = tuple(torch.cat([zi, b]) for zi, b in zip(z, z0, strict=True))
        return values(session.evaluate(both, copies=2), targets)
    return torch.cat([values(session.evaluate(point), targets) for point in (z, z0)], dim=1)
