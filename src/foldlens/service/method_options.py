"""The methods offered for a model, their user-facing options, and the checks of given options.

The engine's methods (:mod:`foldlens.attribution.methods`) plus in-silico mutagenesis; each option
has a default and bounds (or choices), so the page and the CLI can offer it and refuse absurd
values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..attribution.lrp_composites import NAMED
from ..attribution.methods import REGISTRY
from ..models.spec import ModelSpec
from .errors import InvalidInputError

MUTAGENESIS = "mutagenesis"
INPUT_ONLY = ("occlusion", MUTAGENESIS)
"""Methods that perturb residues of the model input, so they have no layer form."""
ENGINE_ONLY = ("feature_ablation",)
"""Engine methods the service does not offer: ablating each input feature of every residue on its
own costs a forward pass each (occlusion of residue windows is the service's form)."""
BASELINES = ("zero", "average")
"""DeepLIFT's reference inputs: all features zero (no residue anywhere), or every feature at its
average over the protein's residues (an average residue of this protein everywhere)."""


@dataclass(frozen=True)
class ServiceOption:
    """A user-facing option: default, bounds and meaning; ``choices`` for text options."""

    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


RULE_BASES = ("gradient", "deconvnet", "guided_backprop")
OPTIONS: dict[str, dict[str, ServiceOption]] = {
    "integrated_gradients": {
        "steps": ServiceOption(
            32, "Gauss–Legendre points on the path from the all-zero input", 1, 256
        ),
    },
    "smoothgrad": {
        "base": ServiceOption(
            "gradient", "the method averaged over noisy inputs", choices=RULE_BASES
        ),
        "samples": ServiceOption(16, "noisy copies of the input", 1, 128),
        "noise": ServiceOption(0.15, "noise standard deviation (input range is 0–1)", 0.0, 1.0),
    },
    "deeplift": {
        "baseline": ServiceOption(
            "zero", "the reference input the differences are taken from", choices=BASELINES
        ),
    },
    "lrp": {
        "composite": ServiceOption(
            "epsilon_plus",
            "which LRP rule each layer gets: ε for dense layers and, for convolutions, z⁺ "
            "(epsilon_plus), γ (epsilon_gamma_box), α2β1 (epsilon_alpha2_beta1), ε or LRP-0; "
            "_flat and _box give the layer reading the input the flat or the z^B rule",
            choices=tuple(NAMED),
        ),
    },
    "occlusion": {
        "window": ServiceOption(
            1, "residues zeroed at once (all their features), sliding by one", 1, 51
        ),
    },
    MUTAGENESIS: {
        "window": ServiceOption(
            3, "mutate residues this close to the target residue(s) (each costs 19 passes)", 0, 250
        ),
    },
}
"""Options the page and CLI may set, per method; the engine's other options keep their defaults."""


@dataclass(frozen=True)
class MethodInfo:
    name: str
    summary: str
    exact: bool
    options: dict[str, ServiceOption] = field(default_factory=dict)
    layers: bool = True
    """Whether it can attribute to a layer's input (``wrt``) as well as to the model input."""
    approximation: str = ""
    """Why the method is not exact for this model (the audit's finding); empty when it is."""


def method_catalogue(model_spec: ModelSpec) -> list[MethodInfo]:
    """The methods offered for a model, in display order, with whether each is exact for it."""
    exact = set(model_spec.exact_methods)
    listed = [
        MethodInfo(
            name,
            method.summary,
            name in exact,
            OPTIONS.get(name, {}),
            name not in INPUT_ONLY,
            "" if name in exact else model_spec.approximate_reason,
        )
        for name, method in REGISTRY.items()
        if name not in ENGINE_ONLY
    ]
    listed.append(
        MethodInfo(
            MUTAGENESIS,
            "change of the target when each residue is mutated to "
            "each amino acid (in-silico mutagenesis)",
            True,
            OPTIONS[MUTAGENESIS],
            layers=False,
        )
    )
    return listed


def check_options(
    method: str, given: dict[str, Any], allowed: dict[str, ServiceOption] | None = None
) -> dict[str, Any]:
    """``given`` checked against the options of ``method`` (or ``allowed``), defaults filled in.

    A list-valued option takes 1 to ``maximum`` distinct items of its ``choices``."""
    allowed = OPTIONS.get(method, {}) if allowed is None else allowed
    if not isinstance(given, dict):
        raise InvalidInputError(f"the options of {method} must be an object, not {given!r}")
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"{method} has no option {', '.join(unknown)}; options: {sorted(allowed)}"
        )
    resolved = {}
    for name, option in allowed.items():
        value = given.get(name, option.default)
        if isinstance(option.default, list):
            value = _checked_list(method, name, value, option)
        elif option.choices:
            if value not in option.choices:
                raise InvalidInputError(
                    f"{method} {name} must be one of {list(option.choices)}, not {value!r}"
                )
        else:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(f"{method} {name} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise InvalidInputError(f"{method} {name} must be a finite number, not {value!r}")
            if isinstance(option.default, int) and value != int(value):
                raise InvalidInputError(f"{method} {name} must be a whole number, not {value!r}")
            assert option.minimum is not None and option.maximum is not None
            if not option.minimum <= value <= option.maximum:
                raise InvalidInputError(
                    f"{method} {name} = {value} is outside {option.minimum:g}–{option.maximum:g}"
                )
            value = type(option.default)(value)
        resolved[name] = value
    return resolved


def _checked_list(method: str, name: str, value: Any, option: ServiceOption) -> list[str]:
    assert option.maximum is not None
    if (
        not isinstance(value, list)
        or not all(isinstance(item, str) for item in value)
        or not 1 <= len(value) <= option.maximum
        or len(set(value)) != len(value)
        or any(item not in option.choices for item in value)
    ):
        raise InvalidInputError(
            f"{method} {name} must list 1–{option.maximum:g} distinct items of "
            f"{list(option.choices)}, not {value!r}"
        )
    return list(value)
