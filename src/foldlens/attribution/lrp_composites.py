"""Composites: which LRP rule each linear layer of a model gets (Zennit's composites, through
foldlens's per-call audit).

A composite maps layers to :class:`~foldlens.attribution.lrp_rules.Rule` s by, in order: the
layer that reads the model input (``first``), then the first entry of ``layers`` whose key
matches the call — a module path pattern (``"net.trunk1d.*"``, :mod:`fnmatch`), a module class
name (``"Conv1d"``), a function name (``"conv2d"``, ``"linear"``, ``"matmul"``) or a family
(``"convolution"``, ``"dense"``). A layer no entry matches has no rule: it passes the gradient
(LRP-0) and the report names it.

The named composites follow Kohlbrenner et al. 2020 ("Towards Best Practice in Explaining Neural
Network Decisions with LRP") and Zennit: ε for dense layers, and for convolutions z⁺
(``epsilon_plus``), γ (``epsilon_gamma_box``) or α2β1 (``epsilon_alpha2_beta1``); ``_flat``
and ``_box`` give the first layer the flat or the z^B rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from .activations import name_set
from .lrp_rules import RULE_NAMES, Rule

FAMILIES = {
    "convolution": name_set(
        """conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d convolution
        Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d"""
    ),
    "dense": name_set("linear matmul __matmul__ __rmatmul__ mm bmm Linear"),
}
"""Families of layers a composite can name, by function and module class names."""


@dataclass(frozen=True)
class Composite:
    """Rules by layer: ``first`` for the layer reading the input, then ``layers`` in order."""

    name: str
    layers: tuple[tuple[str, Rule], ...]
    first: Rule | None = None

    def rule_for(self, function: str, path: str, module_type: str, first: bool) -> Rule | None:
        """The rule of a layer call: ``function`` as called, inside the module at ``path`` of
        class ``module_type``; ``first`` when it reads the input. ``None``: no entry matches."""
        if first and self.first is not None:
            return self.first
        for key, rule in self.layers:
            family = FAMILIES.get(key)
            if family is not None:
                if function in family or (module_type in family and function in _CALLS):
                    return rule
            elif key in (function, module_type) or (path and fnmatchcase(path, key)):
                return rule
        return None


_CALLS = FAMILIES["convolution"] | FAMILIES["dense"]


def named_composite(name: str, parameters: Mapping[str, float]) -> Composite:
    """A named composite (see the module docstring) with the rules' ``parameters`` (``epsilon``,
    ``gamma``, ``alpha``, ``beta``, ``low``, ``high``)."""
    if name not in NAMED:
        raise ValueError(f"unknown LRP composite {name!r}; composites: {sorted(NAMED)}")
    convolution, first = NAMED[name]

    def rule(rule_name: str) -> Rule:
        return Rule(rule_name, **parameters)

    dense = convolution if name in ("epsilon", "zero") else "epsilon"
    layers = (("convolution", rule(convolution)), ("dense", rule(dense)))
    return Composite(name, layers, None if first is None else rule(first))


NAMED: dict[str, tuple[str, str | None]] = {
    "epsilon_plus": ("zplus", None),
    "epsilon_plus_flat": ("zplus", "flat"),
    "epsilon_gamma_box": ("gamma", "zbox"),
    "epsilon_alpha2_beta1": ("alpha_beta", None),
    "epsilon_alpha2_beta1_flat": ("alpha_beta", "flat"),
    "epsilon": ("epsilon", None),
    "zero": ("zero", None),
}
"""Named composites: the rule of convolutions and of the first layer; dense layers get ε (LRP-0
in ``zero``)."""


def user_composite(mapping: Mapping[str, Any], parameters: Mapping[str, float]) -> Composite:
    """A composite from ``{key: rule}``, where a rule is a name, ``(name, {parameter: value})``
    or a :class:`Rule`; the key ``"first"`` names the first layer's rule."""
    layers = []
    first = None
    for key, given in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"composite keys are layer names or patterns, not {key!r}")
        rule = _as_rule(given, parameters)
        if key == "first":
            first = rule
        elif rule.first:
            raise ValueError(f"{rule.name} is a rule for the first layer only; give it as 'first'")
        else:
            layers.append((key, rule))
    return Composite("user", tuple(layers), first)


def _as_rule(given: Any, parameters: Mapping[str, float]) -> Rule:
    if isinstance(given, Rule):
        return given
    own: dict[str, Any] = {}
    if isinstance(given, tuple | list) and len(given) == 2 and isinstance(given[1], Mapping):
        given, own = given[0], dict(given[1])
    if not isinstance(given, str) or given not in RULE_NAMES:
        raise ValueError(f"unknown LRP rule {given!r}; rules: {sorted(RULE_NAMES)}")
    try:
        return replace(Rule(given, **parameters), **own)
    except TypeError as error:
        raise ValueError(f"{given}: {error}") from error
