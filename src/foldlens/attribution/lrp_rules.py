"""Layer-wise relevance propagation's rules for one linear layer (Bach et al. 2015; Montavon et
al. 2019, "Layer-Wise Relevance Propagation: An Overview").

A linear layer ``z = W x + b`` (a convolution, ``linear``, a matrix product with a parameter)
receives relevance ``R_k`` at its outputs and passes ``R_j = Σ_k c_jk R_k`` to its inputs. With
``ρ(W)`` a modified weight, ``v⁺ = max(v, 0)``, ``v⁻ = min(v, 0)`` and ``stab(t) = t + ε·sign(t)``
(``sign(0) = 1``, ``ε = 1e-6`` unless given):

=============  ==============================================================================
rule           ``R_j``
=============  ==============================================================================
``zero``       ``x_j Σ_k w_kj R_k / z_k`` (LRP-0)
``epsilon``    ``x_j Σ_k w_kj R_k / stab(z_k)``
``gamma``      ``Σ_k (x⁺_j ρ⁺_kj + x⁻_j ρ⁻_kj) R_k / stab(z^γ_k)`` with, for ``z_k > 0``,
               ``ρ⁺ = W + γW⁺``, ``ρ⁻ = W + γW⁻`` and bias ``b + γb⁺``, and for ``z_k < 0`` the
               two swapped and ``b + γb⁻`` (the output's own sign is favoured, so ``z^γ`` keeps
               it); ``z^γ_k`` the sum over ``j`` of the numerator plus that bias
``zplus``      ``Σ_k (x⁺_j w⁺_kj + x⁻_j w⁻_kj) R_k / stab(z⁺_k)``, ``z⁺_k`` the sum over ``j``
               of the numerator plus ``b⁺_k``: LRP-z⁺, for inputs of either sign
``alpha_beta`` ``Σ_k (α (x_j w_kj)⁺ / stab(z⁺_k) − β (x_j w_kj)⁻ / stab(z⁻_k)) R_k``, ``z^±_k =
               Σ_j (x_j w_kj)^± + b^±_k``; conservative when ``α − β = 1`` and without biases
``flat``       ``Σ_k R_k / n_k``, ``n_k`` the inputs in output ``k``'s window (first layer)
``wsquare``    ``Σ_k w²_kj R_k / (Σ_j w²_kj + b²_k)`` (first layer)
``zbox``       ``Σ_k (x_j w_kj − l_j w⁺_kj − h_j w⁻_kj) R_k / stab(z^B_k)`` for inputs in
               ``[l, h]`` (first layer; Montavon et al. 2017)
=============  ==============================================================================

These are Zennit's definitions (its ``Epsilon``, ``Gamma``, ``ZPlus``, ``AlphaBeta``, ``Flat``,
``WSquare`` and ``ZBox`` with their default parameters).

The engine propagates ``s = R / z`` — relevance per unit of value — rather than ``R``: then LRP-0
passes ``s`` as the gradient does through every linear operation without a parameter (sums,
residual additions, pooling, padding, indexing, which is the z-rule for each) and through ReLUs,
and a rule changes only the layers it is given to. ``R = z ⊙ s`` at the input. A first-layer rule
(``flat``, ``wsquare``, ``zbox``) gives relevance outright, so the layer returns ``R_j``.

Each rule is written as terms ``(a, ρ(W), c)``: the layer's backward pass sends
``Σ_terms a ⊙ ρ(W)ᵀ (c ⊙ s_out)`` to its input, where ``a`` is the input's factor (``[x > 0]``
for ``s``, ``x⁺`` for ``R``) and ``c = z / stab(z_ρ)`` turns ``s_out`` into ``R / z_ρ``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Layer = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]
"""``f(x, W, b)``: the layer's own operation with another input, weight or bias."""

STABILIZER = 1e-6


def stabilized(t: torch.Tensor, epsilon: float = STABILIZER) -> torch.Tensor:
    """``t + ε·sign(t)`` with ``sign(0) = 1``: never zero, never changes sign."""
    return t + epsilon * torch.where(t >= 0, 1.0, -1.0).to(t.dtype)


@dataclass(frozen=True)
class Term:
    """``a ⊙ ρ(W)ᵀ (c ⊙ s_out)``: the input factor ``a``, the weight ``ρ(W)``, the output
    factor ``c``."""

    factor: torch.Tensor
    weight: torch.Tensor
    scale: torch.Tensor


@dataclass(frozen=True)
class Rule:
    """An LRP rule for linear layers (see the module's table); ``first`` rules give relevance at
    the model input, the others ``s = R / x``."""

    name: str
    epsilon: float = STABILIZER
    gamma: float = 0.25
    alpha: float = 2.0
    beta: float = 1.0
    low: float = 0.0
    high: float = 1.0

    @property
    def first(self) -> bool:
        return self.name in FIRST_RULES

    def describe(self) -> str:
        detail = {
            "epsilon": f"ε = {self.epsilon:g}",
            "gamma": f"γ = {self.gamma:g}",
            "alpha_beta": f"α = {self.alpha:g}, β = {self.beta:g}",
            "zbox": f"inputs in [{self.low:g}, {self.high:g}]",
        }.get(self.name)
        return f"LRP-{self.name}" + (f" ({detail})" if detail else "")

    def terms(
        self, f: Layer, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, z: torch.Tensor,
        relevance: bool,
    ) -> list[Term]:  # fmt: skip
        """The rule's terms at input ``x`` and output ``z``; ``relevance``: ``a`` gives
        relevance at the input (the first layer), else ``s``."""
        ones = torch.ones_like(x)

        def share(values: torch.Tensor) -> torch.Tensor:
            return values if relevance else ones

        def above(values: torch.Tensor) -> torch.Tensor:  # a for x⁺: x⁺ or [x > 0]
            return values.clamp(min=0) if relevance else (x > 0).to(x.dtype)

        def below(values: torch.Tensor) -> torch.Tensor:
            return values.clamp(max=0) if relevance else (x < 0).to(x.dtype)

        name = self.name
        if name in ("zero", "epsilon"):
            eps = 0.0 if name == "zero" else self.epsilon
            scale = z / (stabilized(z, eps) if eps else _nonzero(z))
            return [Term(share(x), w, scale)]
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        bp, bn = _clamped(b, 0.0, None), _clamped(b, None, 0.0)
        # x's positive part, with its factor and sign; its negative part only where there is
        # one (inputs after a ReLU have none)
        parts = [(x.clamp(min=0), above(x), True)]
        if bool((x < 0).any()):
            parts.append((x.clamp(max=0), below(x), False))

        def output(weights: Pair, bias: torch.Tensor | None) -> torch.Tensor:
            """``Σ_parts f(part, weights for its sign) + bias``."""
            return _total(
                [
                    f(part, weights[not positive], bias if k == 0 else None)
                    for k, (part, _, positive) in enumerate(parts)
                ]
            )

        def spread(weights: Pair, scale: torch.Tensor) -> list[Term]:
            return [Term(factor, weights[not positive], scale) for _, factor, positive in parts]

        if name == "gamma":
            grow = (w + self.gamma * wp, w + self.gamma * wn)  # favour the output's own sign
            up = down = None
            if b is not None:
                up, down = b + self.gamma * b.clamp(min=0), b + self.gamma * b.clamp(max=0)
            positive_out = torch.where(z > 0, z / stabilized(output(grow, up), self.epsilon), 0.0)
            flipped = (grow[1], grow[0])
            negative_out = torch.where(
                z < 0, z / stabilized(output(flipped, down), self.epsilon), 0.0
            )
            return spread(grow, positive_out) + spread(flipped, negative_out)
        if name == "zplus":
            return spread((wp, wn), z / stabilized(output((wp, wn), bp), self.epsilon))
        if name == "alpha_beta":
            terms = spread(
                (wp, wn), self.alpha * z / stabilized(output((wp, wn), bp), self.epsilon)
            )
            if self.beta:
                down = -self.beta * z / stabilized(output((wn, wp), bn), self.epsilon)
                terms += spread((wn, wp), down)
            return terms
        if name == "flat":
            flat = torch.ones_like(w)
            return [Term(ones, flat, z / stabilized(f(ones, flat, None), self.epsilon))]
        if name == "wsquare":
            square = w * w
            squared_bias = None if b is None else b * b
            denominator = f(ones, square, squared_bias)
            return [Term(ones, square, z / stabilized(denominator, self.epsilon))]
        if name == "zbox":
            low, high = torch.full_like(x, self.low), torch.full_like(x, self.high)
            denominator = f(x, w, None) - f(low, wp, None) - f(high, wn, None)
            scale = z / stabilized(denominator, self.epsilon)
            return [Term(x - low, wp, scale), Term(x - high, wn, scale)]
        raise ValueError(f"unknown LRP rule {name!r}; rules: {sorted(RULE_NAMES)}")


RULE_NAMES = frozenset(
    {"zero", "epsilon", "gamma", "zplus", "alpha_beta", "flat", "wsquare", "zbox"}
)
FIRST_RULES = frozenset({"flat", "wsquare", "zbox"})
"""Rules that give the input's relevance from the layer's weights alone (or with bounds), not
in proportion to the input: only for a layer that reads the model input."""


Pair = tuple[torch.Tensor, torch.Tensor]
"""Weights for an input's positive part, and for its negative part."""


def _clamped(t: torch.Tensor | None, low: float | None, high: float | None) -> torch.Tensor | None:
    return None if t is None else t.clamp(min=low, max=high)


def _total(values: list[torch.Tensor]) -> torch.Tensor:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def _nonzero(z: torch.Tensor) -> torch.Tensor:
    """``z`` with exact zeros replaced by 1 (LRP-0's ``R/z`` is 0 there: ``R = z · s = 0``)."""
    return torch.where(z == 0, torch.ones_like(z), z)


def ruled(
    f: Layer,
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None,
    value: torch.Tensor,
    rule: Rule,
    relevance: bool,
) -> torch.Tensor:
    """``value`` (the layer's output at ``x``) whose backward pass sends
    ``Σ_terms a ⊙ ρ(W)ᵀ (c ⊙ s)`` to ``x``: each term adds ``f(x ⊙ a, ρ(W)) ⊙ c`` (``a`` and
    ``c`` constants) minus itself detached, which is zero but carries that gradient."""
    bias = None if b is None else b.detach()
    with torch.no_grad():
        terms = rule.terms(f, x.detach(), w.detach(), bias, value.detach(), relevance)
    out = value.detach()
    for term in terms:
        contribution = f(x * term.factor, term.weight, None) * term.scale
        out = out + (contribution - contribution.detach())
    return out
