"""DeepLIFT with the Rescale rule (Shrikumar et al. 2017, "Learning Important Features Through
Propagating Activation Differences").

For slot ``z``, reference ``z0`` and target ``y``::

    DeepLIFT(z) = (z - z0) ⊙ m,    m = the multipliers Δy/Δz backpropagated through the network

where linear operations pass their derivative, every ReLU ``f ↦ max(f, 0)`` the ratio
``(max(f, 0) - max(f0, 0)) / (f - f0)`` of its output and input differences between the input's
pass and the reference's, and a product ``B(a, b)`` of two computed tensors the average of each
factor over the two passes (:mod:`foldlens.attribution.reference`). Summation-to-delta holds
exactly on such networks, ``Σ DeepLIFT(z) = y(z) - y(z0)``; the report's ``convergence_delta`` is
the difference per target (rounding only). An operation without a rule (a smooth activation, a
selection by value such as max pooling) passes its derivative, and the report says the map is not
exact.

Two forward passes (the reference's, then the input's) and backward passes like the gradient's;
the model must take one path through its operations for both. A target computed from the output
by a callable runs under the same rules, so a nonlinear readout (a softmax) is reported too.

Example
-------
>>> import torch, foldlens as fl
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
>>> x = torch.randn(1, 3)
>>> maps, report = fl.attribute(net, x, (0, 0), "deeplift", return_report=True)
>>> bool(torch.isclose(maps.sum(), net(x)[0, 0] - net(torch.zeros(1, 3))[0, 0], atol=1e-5))
True
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..forward import seeds, values
from ..packing import packed_gradients
from ..reference import ReferenceTape
from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option, audited_targets, broadcast_baseline


class DeepLift(Method):
    name = "deeplift"
    summary = (
        "DeepLIFT, Rescale rule: (z − z0) ⊙ multipliers Δy/Δz against a reference "
        "(Shrikumar et al. 2017)"
    )
    options: ClassVar[dict[str, Option]] = {
        "baseline": Option(0.0, "the reference input z0: a number, a tensor, or a tuple per input"),
    }

    def rule(self, options: dict[str, Any]) -> str:
        return "rescale"

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        z = session.slot_value()
        z0 = broadcast_baseline(options["baseline"], z)
        tape = ReferenceTape()
        session.mode.reference = tape
        # A target computed from the output (a softmax, an expected distance) runs under the
        # rules too: its ReLUs and products get theirs, anything else is reported.
        audited = audited_targets(session.mode, targets)
        try:
            reference = session.forward(z0, measure=False)
            before = values(reference, audited)
            tape.replay()
            session.mode.forget_calls()
            fwd = session.forward(measure=False)
            seeded = seeds(fwd, audited)
            tape.finish()
        finally:
            session.mode.reference = None
        packed = packed_gradients(session, fwd, seeded) if session.packing_allowed else None
        multipliers, session.packing = packed or (session.gradients(fwd, seeded), None)
        maps = tuple(m * (zi - bi) for m, zi, bi in zip(multipliers, z, z0, strict=True))
        total = sum(m.flatten(1).sum(dim=1, dtype=torch.float64) for m in maps)
        change = (values(fwd, targets) - before)[:, 0]
        session.convergence_delta = total - change.to(torch.float64)
        return maps
