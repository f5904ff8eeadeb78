"""JSON schemas of the free-form parts of requests — targets and method or analysis options —
for the OpenAPI contract.

The request models validate these parts leniently (any JSON object), so that a value of the right
shape but out of range, or an unknown head, gets the service's readable 400; these schemas tell
clients and fuzzers the shapes the service takes.
"""

from __future__ import annotations

from typing import Any

from ..attribution.methods import REGISTRY
from ..models import available, spec
from ..service.analyses import ANALYSES
from ..service.explain import OVERVIEW_METHODS
from ..service.method_options import ENGINE_ONLY, MUTAGENESIS, OPTIONS, ServiceOption

INDEX = {"type": "integer", "minimum": 0, "description": "a residue, 0-based"}
OPTIONAL_INDEX = {
    "type": ["integer", "null"],
    "minimum": 0,
    "description": "a residue, 0-based (null: absent, as the server's own targets write it)",
}
HEADS = sorted({head.name for model in available() for head in spec(model).heads})
PER_RESIDUE = sorted(
    {
        h.name
        for model in available()
        for h in spec(model).heads
        if h.kind == "per-residue" and not h.source
    }
)
CLASSES = sorted({c for model in available() for h in spec(model).heads for c in h.classes})
METHOD_NAMES = [name for name in REGISTRY if name not in ENGINE_ONLY] + [MUTAGENESIS]

TARGET: dict[str, Any] = {
    "oneOf": [
        {
            "title": "OutputTarget",
            "type": "object",
            "description": "an output of the model: a per-residue head (with its class) or a "
            "pair head (with j)",
            "properties": {
                "head": {"enum": HEADS, "description": "a head from the model's spec"},
                "i": INDEX,
                "j": OPTIONAL_INDEX,
                "class": {
                    "enum": [*CLASSES, None],
                    "description": "a class of a classifying head (null: absent, as the "
                    "server's own targets write it)",
                },
            },
            "required": ["head", "i"],
            "additionalProperties": False,
        },
        {
            "title": "UnitTarget",
            "type": "object",
            "description": "an internal unit: a channel of a layer at a residue (or pair)",
            "properties": {
                "layer": {"type": "string", "description": "a layer path from the model's spec"},
                "channel": {"type": "integer", "minimum": 0},
                "i": INDEX,
                "j": OPTIONAL_INDEX,
            },
            "required": ["layer", "channel", "i"],
            "additionalProperties": False,
        },
    ]
}


def _option(option: ServiceOption) -> dict[str, Any]:
    if isinstance(option.default, list):
        return {
            "type": "array",
            "items": {"enum": list(option.choices)},
            "uniqueItems": True,
            "minItems": 1,
            "maxItems": int(option.maximum or 1),
        }
    if option.choices:
        return {"enum": list(option.choices), "description": option.description}
    kind = "integer" if isinstance(option.default, int) else "number"
    return {"type": kind, "minimum": option.minimum, "maximum": option.maximum,
            "description": option.description}  # fmt: skip


def _options(options: dict[str, ServiceOption]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: _option(option) for name, option in options.items()},
        "additionalProperties": False,
    }


METHOD_OPTIONS: dict[str, Any] = {
    "type": "object",
    "description": "per method, its options (the others keep their defaults)",
    "properties": {method: _options(options) for method, options in OPTIONS.items()},
}
ANALYSIS_OPTIONS: dict[str, Any] = {
    "description": "the analysis's options, as /api/analyses lists them",
    "anyOf": [_options(info.options) for info in ANALYSES.values()],
}

METHODS: dict[str, Any] = {
    "type": "array",
    "items": {"enum": METHOD_NAMES},
    "minItems": 1,
    "maxItems": 12,
    "uniqueItems": True,
    "description": "methods from the model's list in /api/models",
}
ANALYSIS: dict[str, Any] = {"enum": list(ANALYSES), "description": "a name from /api/analyses"}
OVERVIEW_HEAD: dict[str, Any] = {
    "enum": PER_RESIDUE,
    "description": "a per-residue head of the network (not one read out of another head)",
}
OVERVIEW_METHOD: dict[str, Any] = {"enum": list(OVERVIEW_METHODS)}
