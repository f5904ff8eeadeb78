"""Explanation targets from JSON: checked against the model and the protein, in canonical JSON
and in words.

A target is an output ``{"head", "i", "j"?, "class"?}`` (0-based residues) or an internal unit
``{"layer", "channel", "i", "j"?}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models.spec import ModelSpec
from ..models.views import OutputTarget, UnitTarget
from .errors import InvalidInputError


def _index(raw: dict[str, Any], key: str, length: int, what: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"the target needs {key} (a 0-based {what} index), got {value!r}")
    if not 0 <= value < length:
        unit = "channels" if what == "channel" else "residues"
        counted = (
            f"; residue {value + 1} counting from 1" if what == "residue" and value >= 0 else ""
        )
        raise InvalidInputError(
            f"target {key} = {value} is out of range 0–{length - 1}: {length} {unit}, "
            f"counted from 0 here{counted}"
        )
    return value


def check_target(
    raw: dict[str, Any], model_spec: ModelSpec, length: int
) -> OutputTarget | UnitTarget:
    """A JSON target checked against the model and the protein's length."""
    if not isinstance(raw, dict):
        raise InvalidInputError("the target must be an object")
    if "layer" in raw:
        layers = {layer.path: layer for layer in model_spec.layers}
        layer = layers.get(raw["layer"]) if isinstance(raw["layer"], str) else None
        if layer is None:
            raise InvalidInputError(f"model {model_spec.name!r} has no layer {raw['layer']!r}")
        _only(raw, {"layer", "channel", "i"} | ({"j"} if layer.kind == "2d" else set()))
        channel = _index(raw, "channel", layer.out_channels, "channel")
        i = _index(raw, "i", length, "residue")
        j = _index(raw, "j", length, "residue") if layer.kind == "2d" else None
        return UnitTarget(layer.path, channel, i, j)
    heads = {head.name: head for head in model_spec.heads}
    head = heads.get(raw["head"]) if isinstance(raw.get("head"), str) else None
    if head is None:
        raise InvalidInputError(
            f"model {model_spec.name!r} has no head {raw.get('head')!r}; heads: {list(heads)}"
        )
    fields = {"head", "i"} | ({"j"} if head.kind == "pair" else set())
    _only(raw, fields | ({"class"} if head.classes else set()))
    i = _index(raw, "i", length, "residue")
    j = _index(raw, "j", length, "residue") if head.kind == "pair" else None
    if head.source and head.kind == "per-residue" and length > WHOLE_MAP_RESIDUES:
        raise InvalidInputError(
            f"explaining {head.name} runs the whole network backwards, every 2D layer's L × L map "
            f"held: up to {WHOLE_MAP_RESIDUES} residues here, this protein has {length}"
        )
    index = 0
    if head.classes:
        if not isinstance(raw.get("class"), str) or raw["class"] not in head.classes:
            raise InvalidInputError(f"head {head.name} needs a class, one of {head.classes}")
        index = head.classes.index(raw["class"])
    return OutputTarget(head.name, i, j, index)


def _only(raw: dict[str, Any], fields: set[str]) -> None:
    """Refuse fields that do not apply to this target (``null`` stands for absent)."""
    extra = sorted(
        str(key)[:40] for key, value in raw.items() if key not in fields and value is not None
    )
    if extra:
        raise InvalidInputError(
            f"the target has fields that do not apply to it: {extra}; it takes {sorted(fields)}"
        )


def target_json(target: OutputTarget | UnitTarget, model_spec: ModelSpec) -> dict[str, Any]:
    """The canonical JSON of a target (what the cache key and the URL hold)."""
    if isinstance(target, UnitTarget):
        unit: dict[str, Any] = {"layer": target.layer, "channel": target.channel, "i": target.i}
        return unit if target.j is None else {**unit, "j": target.j}
    out: dict[str, Any] = {"head": target.head, "i": target.i}
    if target.j is not None:
        out["j"] = target.j
    classes = model_spec.head(target.head).classes
    if classes:
        out["class"] = classes[target.index]
    return out


def describe(target: OutputTarget | UnitTarget, model_spec: ModelSpec, sequence: str) -> str:
    """The target in words, residues 1-based as a person counts them."""

    def residue(k: int) -> str:
        return f"{sequence[k]}{k + 1}"

    if isinstance(target, UnitTarget):
        where = (
            residue(target.i) if target.j is None else f"({residue(target.i)}, {residue(target.j)})"
        )
        return f"unit {target.channel} of layer {target.layer} at {where}"
    head = model_spec.head(target.head)
    if target.j is not None:
        pair = f"i = {residue(target.i)}, j = {residue(target.j)}"
        if head.transform == "expected distance":
            return f"the predicted {head.meaning} for {pair} (expected value of the distogram, Å)"
        if head.transform in ("identity", "expected error"):
            return f"the predicted {head.meaning} for {pair} ({head.units})"
        return f"the logit of {head.meaning} for {pair}"
    if head.transform == "predicted lddt":
        return f"the {head.meaning} at {residue(target.i)} ({head.units})"
    value = "probability" if head.transform == "probability" else "logit"
    if head.classes:
        return (
            f"the {value} of {head.meaning} class {head.classes[target.index]} at "
            f"{residue(target.i)}"
        )
    return f"the {value} of {head.meaning} at {residue(target.i)}"


WHOLE_MAP_RESIDUES = 400
"""The longest protein whose pLDDT (a target read out of a whole row of a pair map) is explained:
the backward pass holds every 2D layer's L × L map, about 11 kB per residue pair (1.8 GB at 400)."""


def reads_whole_map(target: OutputTarget | UnitTarget, model_spec: ModelSpec) -> bool:
    """Whether ``target`` is a per-residue head read out of a pair head's whole row."""
    if not isinstance(target, OutputTarget):
        return False
    head = model_spec.head(target.head)
    return bool(head.source) and head.kind == "per-residue"


def receptive_residues(
    target: OutputTarget | UnitTarget, model_spec: ModelSpec, length: int
) -> np.ndarray:
    """Boolean ``(L,)``: residues that can change the target (all of them when unbounded)."""
    kind = "pair" if target.j is not None else "per-residue"
    head = target.head if isinstance(target, OutputTarget) else None
    radius = model_spec.radius(head, kind)
    if radius is None:
        return np.ones(length, dtype=bool)
    positions = np.arange(length)
    near = np.abs(positions - target.i) <= radius
    if target.j is not None:
        near |= np.abs(positions - target.j) <= radius
    return near


def near_residues(target: OutputTarget | UnitTarget, length: int, window: int) -> np.ndarray:
    """Boolean ``(L,)``: residues within ``window`` of the target's residue(s)."""
    positions = np.arange(length)
    near = np.abs(positions - target.i) <= window
    return near if target.j is None else near | (np.abs(positions - target.j) <= window)
