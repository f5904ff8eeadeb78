"""What an attribution call did: which calls got which rule, which ops it audited, and how it
was computed."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

PLAIN_GRADIENT = "plain gradient (no exact rule)"


@dataclass(frozen=True)
class ActivationRecord:
    """Calls of one activation function at one place in the model, and the rule they got.

    ``module`` is the dotted path of the innermost module whose forward made the call (``""`` for
    the model's own forward); ``function`` is the name the call arrived under (``relu``, ``relu_``,
    ``gelu``, ``lstm``, ...).
    """

    function: str
    module: str
    rule: str
    calls: int

    @property
    def exact(self) -> bool:
        return self.rule != PLAIN_GRADIENT

    def describe(self) -> str:
        where = self.module or "<model>"
        return f"{self.function} at {where} ({self.calls} call{'s' if self.calls > 1 else ''})"


@dataclass(frozen=True)
class PackingReport:
    """How many targets shared a backward pass (see :mod:`foldlens.attribution.packing`)."""

    targets: int
    groups: int
    axis: int
    """The input axis along which the targets' supports were proven disjoint."""
    widest: int
    """Positions along ``axis`` in the widest target's support."""


@dataclass
class AttributionReport:
    """Returned with the maps by ``attribute(..., return_report=True)``."""

    method: str
    rule_based: bool
    activations: list[ActivationRecord] = field(default_factory=list)
    operations: dict[str, dict[str, int]] = field(default_factory=dict)
    """The other ops on the input's path, by class (``linear``: no rule changes them;
    ``product``: products of two tensors computed from the input, which pass the plain gradient
    by the methods' definition), each a map from op name to calls."""
    forward_passes: int = 0
    backward_passes: int = 0
    backward_seeds: int = 0
    packing: PackingReport | None = None
    convergence_delta: torch.Tensor | None = None
    """Per target, ``Σ map`` minus what it would sum to if the method conserved the target:
    ``y(z) - y(z0)`` for integrated gradients (the quadrature's error) and DeepLIFT (rounding),
    ``y`` for LRP (what biases, ε and stabilizers absorb)."""

    @property
    def unsupported(self) -> list[ActivationRecord]:
        """Activation calls that a rule-based method could not give an exact rule."""
        return [record for record in self.activations if not record.exact]

    @property
    def exact(self) -> bool:
        """True unless a rule-based method met an activation it has no rule for."""
        return not (self.rule_based and self.unsupported)

    def __str__(self) -> str:
        lines = [f"method {self.method}: {'exact' if self.exact else 'NOT exact'}"]
        lines += [f"  {record.describe()}: {record.rule}" for record in self.activations]
        for kind, calls in self.operations.items():
            if calls:
                listed = ", ".join(f"{name} ×{n}" for name, n in sorted(calls.items()))
                lines.append(f"  {kind}: {listed}")
        lines.append(
            f"  {self.forward_passes} forward pass(es), {self.backward_passes} batched backward "
            f"pass(es) over {self.backward_seeds} seed(s)"
        )
        if self.convergence_delta is not None:
            worst = float(self.convergence_delta.abs().max())
            lines.append(f"  convergence delta: largest |Σ map - conserved total| = {worst:.3g}")
        if self.packing is not None:
            p = self.packing
            lines.append(
                f"  packed {p.targets} targets into {p.groups} backward groups "
                f"(supports disjoint along input axis {p.axis}, the widest {p.widest} positions)"
            )
        return "\n".join(lines)
