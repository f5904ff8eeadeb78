"""The ``--targets`` grammar of an atlas: which outputs of each protein are explained.

A specification is a comma-separated list of

``contacts[:top=N][:sep=S]``
    the ``N`` most probable predicted contacts with ``|i − j| ≥ S`` (the contact head's logit);
    ``N`` is a number or ``L/k`` (default ``L/5``), ``S`` defaults to 24 (long range);
``ss3``
    every residue, in the SS3 class the model predicts for it.

Example: ``contacts:top=L/5:sep=24,ss3`` (the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.spec import ModelSpec
from ..models.views import OutputTarget
from . import DEFAULT_TARGETS


@dataclass(frozen=True)
class TargetRule:
    """One item of a specification: ``kind`` (``contacts`` or ``ss3``) with its settings."""

    kind: str
    top: str = "L/5"
    separation: int = 24

    def count(self, length: int) -> int:
        """How many contacts ``top`` asks for in a protein of ``length`` residues."""
        if self.top.startswith("L/"):
            return max(1, length // int(self.top[2:]))
        return int(self.top)


def parse_targets(specification: str) -> list[TargetRule]:
    """The rules of ``specification`` (module docstring); a ``ValueError`` says what is wrong."""
    rules = []
    for item in filter(None, (part.strip() for part in specification.split(","))):
        kind, *settings = item.split(":")
        if kind == "ss3":
            if settings:
                raise ValueError(f"ss3 takes no settings, not {':'.join(settings)!r}")
            rules.append(TargetRule("ss3"))
            continue
        if kind != "contacts":
            raise ValueError(f"unknown target kind {kind!r} in {item!r}; kinds: contacts, ss3")
        given = dict(_setting(setting, item) for setting in settings)
        rule = TargetRule("contacts", given.pop("top", "L/5"), int(given.pop("sep", "24")))
        if given:
            raise ValueError(f"contacts takes top= and sep=, not {sorted(given)} in {item!r}")
        if rule.separation < 1:
            raise ValueError(f"sep must be at least 1 in {item!r}")
        rules.append(rule)
    if not rules:
        raise ValueError(f"no targets in {specification!r}; e.g. {DEFAULT_TARGETS}")
    return rules


def _setting(setting: str, item: str) -> tuple[str, str]:
    name, _, value = setting.partition("=")
    ok = {"top": _is_count(value), "sep": value.isdigit()}.get(name)
    if not ok:
        raise ValueError(
            f"bad setting {setting!r} in {item!r}: top=N or top=L/k (N, k ≥ 1), sep=S (S ≥ 1)"
        )
    return name, value


def _is_count(value: str) -> bool:
    text = value[2:] if value.startswith("L/") else value
    return text.isdigit() and int(text) >= 1


def check_heads(rules: list[TargetRule], model_spec: ModelSpec) -> None:
    """Refuse rules whose head the model lacks (seed2018 predicts distances only)."""
    heads = {head.name for head in model_spec.heads}
    for rule in rules:
        head = HEAD[rule.kind]
        if head not in heads:
            raise ValueError(
                f"model {model_spec.name} has no {head} head for {rule.kind} targets; "
                f"its heads: {sorted(heads)}"
            )


HEAD = {"contacts": "contact", "ss3": "ss3"}
"""The head each kind of target reads."""


def targets_for(
    rules: list[TargetRule], prediction: dict[str, Any], model_spec: ModelSpec
) -> list[OutputTarget]:
    """Each rule's targets for a protein the model predicted (``prediction``), in rule order;
    a rule whose head the model lacks raises a ``ValueError``."""
    check_heads(rules, model_spec)
    length = len(prediction["sequence"])
    found: list[OutputTarget] = []
    for rule in rules:
        if rule.kind == "ss3":
            classes = np.asarray(prediction["ss3"]).argmax(axis=1)
            found += [OutputTarget("ss3", i, None, int(c)) for i, c in enumerate(classes)]
            continue
        probability = np.asarray(prediction["contact"], dtype=np.float64)
        i, j = np.triu_indices(length, k=rule.separation)
        order = np.argsort(-probability[i, j], kind="stable")[: rule.count(length)]
        found += [OutputTarget("contact", int(i[k]), int(j[k])) for k in order]
    return found
