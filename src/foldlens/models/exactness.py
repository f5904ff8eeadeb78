"""Which attribution methods are exact for a model, read from the engine's audit of it.

Gradient-based and perturbation methods are exact for any model. Rule-based ones (deconvnet,
guided backpropagation) are exact only where every operation on the input's path has an exact rule
(:mod:`foldlens.attribution.activations`): one forward and backward pass of guided backpropagation
on a small input, with its report, says whether that holds. DeepLIFT and LRP have rules of their
own (DeepLIFT for smooth functions and softmax, LRP for layers; neither for every selection or
product), so each has an audit of its own. The audit reads which operations run, not the
weights, so an untrained copy of the network serves.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..attribution import AttributionReport, UnsupportedActivationWarning, attribute
from ..attribution.forward import tensors_in
from ..attribution.methods import REGISTRY


def audited_methods(model: nn.Module, x: torch.Tensor) -> tuple[list[str], list[str], str]:
    """``(exact, approximate, reason)`` for ``model`` evaluated on ``x``: the method names, and
    which operations have no exact rule (empty when every method is exact)."""
    reports = {name: _audit(model, x, name) for name in AUDITS}
    exact: list[str] = []
    approximate: list[str] = []
    for name, method in REGISTRY.items():
        ruled = method.rule_based(method.resolve({}))
        audit = reports[name if name in AUDITS else RULE_AUDIT]
        (approximate if ruled and not audit.exact else exact).append(name)
    reasons = [_unsupported(reports[RULE_AUDIT], set())]
    seen = {record.function for record in reports[RULE_AUDIT].unsupported}
    for name in AUDITS[1:]:
        extra = _unsupported(reports[name], seen)
        if extra:
            reasons.append(f"{name}: {extra}")
    reason = "; ".join(r for r in reasons if r)
    return exact, approximate, f"{reason}: the plain gradient passes there" if reason else ""


def _unsupported(report: AttributionReport, known: set[str]) -> str:
    """``no exact rule for f (n calls), ...`` for the report's operations not in ``known``
    (empty when there are none)."""
    calls: dict[str, int] = {}
    for record in report.unsupported:
        if record.function not in known:
            calls[record.function] = calls.get(record.function, 0) + record.calls
    listed = ", ".join(
        f"{name} ({count} call{'s' if count > 1 else ''})" for name, count in calls.items()
    )
    return f"no exact rule for {listed}" if listed else ""


RULE_AUDIT = "guided_backprop"
AUDITS = (RULE_AUDIT, "deeplift", "lrp")
"""The methods whose reports decide exactness: guided backpropagation's for the ReLU rules,
DeepLIFT's and LRP's (its default composite) for themselves."""


def _audit(model: nn.Module, x: torch.Tensor, method: str) -> AttributionReport:
    """The report of ``method`` on ``model`` at ``x``, for the sum of its outputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsupportedActivationWarning)
        _, report = attribute(
            model.eval(),
            x,
            lambda output: sum(t.float().sum() for t in tensors_in(output)),
            method,
            return_report=True,
        )
    return report
