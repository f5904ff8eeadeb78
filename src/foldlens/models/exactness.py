"""Which attribution methods are exact for a model, read from the engine's audit of it.

Gradient-based and perturbation methods are exact for any model. Rule-based ones (deconvnet,
guided backpropagation) are exact only where every operation on the input's path has an exact rule
(:mod:`foldlens.attribution.activations`): one forward and backward pass of guided backpropagation
on a small input, with its report, says whether that holds. The audit reads which operations run,
not the weights, so an untrained copy of the network serves.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..attribution import UnsupportedActivationWarning, attribute
from ..attribution.forward import tensors_in
from ..attribution.methods import REGISTRY


def audited_methods(model: nn.Module, x: torch.Tensor) -> tuple[list[str], list[str], str]:
    """``(exact, approximate, reason)`` for ``model`` evaluated on ``x``: the method names, and
    which operations have no exact rule (empty when every method is exact)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsupportedActivationWarning)
        _, report = attribute(
            model.eval(),
            x,
            lambda output: sum(t.float().sum() for t in tensors_in(output)),
            "guided_backprop",
            return_report=True,
        )
    exact: list[str] = []
    approximate: list[str] = []
    for name, method in REGISTRY.items():
        ruled = method.rule_based(method.resolve({}))
        (approximate if ruled and not report.exact else exact).append(name)
    calls: dict[str, int] = {}
    for record in report.unsupported:
        calls[record.function] = calls.get(record.function, 0) + record.calls
    unsupported = ", ".join(
        f"{name} ({count} call{'s' if count > 1 else ''})" for name, count in calls.items()
    )
    reason = f"no exact rule for {unsupported}: the plain gradient passes there" if calls else ""
    return exact, approximate, reason
