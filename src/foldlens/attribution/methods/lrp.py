"""Layer-wise relevance propagation (Bach et al. 2015) with composites of rules (Montavon et al.
2019; Kohlbrenner et al. 2020).

The target's value ``y`` is the relevance at the output; each linear layer passes it back by its
composite's rule (:mod:`..lrp_rules`, :mod:`..lrp_composites`), ReLUs pass it unchanged, sums
and pooling share it in proportion to their inputs (the z-rule), a product of two computed
tensors splits it half and half, and eval-mode batch norm is merged into the layer before it.
The map is the relevance at the slot ``z``: ``z ⊙ s`` for ``s = R/z`` propagated back, or what
the first-layer rule gives.

Conservation: with LRP-0 or ε → 0 everywhere and no biases, ``Σ map = y``; biases, ε and the
stabilizers absorb a little (the report's ``convergence_delta`` is ``Σ map − y``). LRP-0 on a ReLU
network is gradient × input.

Example
-------
>>> import torch, foldlens as fl
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
>>> x = torch.rand(1, 3)
>>> lrp0 = fl.attribute(net, x, (0, 1), "lrp", composite="zero")
>>> bool(torch.allclose(lrp0, fl.attribute(net, x, (0, 1), "input_x_gradient"), atol=1e-6))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from ..forward import values
from ..lrp_composites import NAMED, Composite, named_composite, user_composite
from ..lrp_mode import LrpPass
from ..session import AttributionSession
from ..targets import Target
from .base import Maps, Method, Option, audited_targets, gradients_at

PARAMETERS = ("epsilon", "gamma", "alpha", "beta", "low", "high")


class Lrp(Method):
    name = "lrp"
    summary = "layer-wise relevance propagation with a composite of rules (Bach et al. 2015)"
    options: ClassVar[dict[str, Option]] = {
        "composite": Option(
            "epsilon_plus",
            f"a named composite ({', '.join(NAMED)}) or a mapping from layer names, classes, "
            "functions or path patterns to rules, 'first' for the layer reading the input",
        ),
        "epsilon": Option(1e-6, "ε of the ε rule (and the other rules' stabilizer)"),
        "gamma": Option(0.25, "γ of the γ rule"),
        "alpha": Option(2.0, "α of the αβ rule"),
        "beta": Option(1.0, "β of the αβ rule"),
        "low": Option(0.0, "the z^B rule's lowest input value"),
        "high": Option(1.0, "the z^B rule's highest input value"),
    }

    def rule(self, options: dict[str, Any]) -> str:
        return "lrp"

    def check(self, options: dict[str, Any]) -> None:
        for name in PARAMETERS:
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if options["epsilon"] < 0 or options["gamma"] < 0 or options["beta"] < 0:
            raise ValueError("epsilon, gamma and beta must not be negative")
        if not options["low"] <= options["high"]:
            raise ValueError(f"low ({options['low']}) must not exceed high ({options['high']})")
        composite(options)

    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        mode = session.mode
        model = session.model

        def module_type(path: str) -> str:
            return type(model.get_submodule(path) if path else model).__name__

        layers = LrpPass(composite(options), module_type, mode.unsupported, mode.layer_rules)
        mode.lrp = layers
        try:
            fwd = session.forward(measure=len(targets) > 1)
        finally:
            mode.lrp = None
        grads, session.packing = gradients_at(session, fwd, audited_targets(mode, targets))
        if layers.relevance_at_input:
            maps = grads
        else:
            maps = tuple(g * z.detach() for g, z in zip(grads, fwd.z, strict=True))
        total = sum(m.flatten(1).sum(dim=1, dtype=torch.float64) for m in maps)
        session.convergence_delta = total - values(fwd, targets)[:, 0].to(torch.float64)
        return maps


def composite(options: dict[str, Any]) -> Composite:
    """The composite the options name or give."""
    parameters = {name: float(options[name]) for name in PARAMETERS}
    given = options["composite"]
    if isinstance(given, str):
        return named_composite(given, parameters)
    if isinstance(given, Mapping):
        return user_composite(given, parameters)
    raise ValueError(f"composite must be a name or a mapping, got {type(given).__name__}")
