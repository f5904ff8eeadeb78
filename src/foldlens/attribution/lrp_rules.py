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
``gamma``      ``x_j Σ_k (w_kj + γ w⁺_kj) R_k / stab(z^γ_k)``, ``z^γ`` with ``W + γW⁺`` and
               ``b + γb⁺``
``zplus``      ``Σ_k (x⁺_j w⁺_kj + x⁻_j w⁻_kj) R_k / stab(z⁺_k)``, ``z⁺_k`` the sum over ``j``
               of the numerator (no bias): LRP-z⁺, for inputs of either sign
``alpha_beta`` ``Σ_k (α (x_j w_kj)⁺ / stab(z⁺_k) − β (x_j w_kj)⁻ / stab(z⁻_k)) R_k``, ``z^±_k =
               Σ_j (x_j w_kj)^±`` (no bias); conservative when ``α − β = 1``
``flat``       ``Σ_k R_k / n_k``, ``n_k`` the inputs in output ``k``'s window (first layer)
``wsquare``    ``Σ_k w²_kj R_k / Σ_j w²_kj`` (first layer)
``zbox``       ``Σ_k (x_j w_kj − l_j w⁺_kj − h_j w⁻_kj) R_k / stab(z^B_k)`` for inputs in
               ``[l, h]`` (first layer; Montavon et al. 2017)
=============  ==============================================================================

The engine propagates ``s = R / z`` — relevance per unit of value — rather than ``R``: then
LRP-0 passes ``s`` as the gradient does through every linear operation without a parameter
(sums, residual additions, pooling, padding, indexing, which is the z-rule for each) and through
ReLUs, and a rule changes only the layers it is given to. ``R = z ⊙ s`` at the input. A first-layer
rule (``flat``, ``wsquare``, ``zbox``) gives relevance outright, so the layer returns ``R_j``.

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
        if name == "gamma":
            wg = w + self.gamma * w.clamp(min=0)
            bg = None if b is None else b + self.gamma * b.clamp(min=0)
            return [Term(share(x), wg, z / stabilized(f(x, wg, bg), self.epsilon))]
        wp, wn = w.clamp(min=0), w.clamp(max=0)
        # (x's part, its factor, the weights of the same sign, of the other sign)
        signs = [(x.clamp(min=0), above(x), wp, wn)]
        if bool((x < 0).any()):  # inputs after a ReLU have no negative part
            signs.append((x.clamp(max=0), below(x), wn, wp))
        positive = _total([f(part, same, None) for part, _, same, _ in signs])
        if name == "zplus":
            scale = z / stabilized(positive, self.epsilon)
            return [Term(factor, same, scale) for _, factor, same, _ in signs]
        if name == "alpha_beta":
            up = self.alpha * z / stabilized(positive, self.epsilon)
            terms = [Term(factor, same, up) for _, factor, same, _ in signs]
            if self.beta:
                negative = _total([f(part, other, None) for part, _, _, other in signs])
                down = -self.beta * z / stabilized(negative, self.epsilon)
                terms += [Term(factor, other, down) for _, factor, _, other in signs]
            return terms
        if name == "flat":
            flat = torch.ones_like(w)
            return [Term(ones, flat, z / stabilized(f(ones, flat, None), self.epsilon))]
        if name == "wsquare":
            square = w * w
            return [Term(ones, square, z / stabilized(f(ones, square, None), self.epsilon))]
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
