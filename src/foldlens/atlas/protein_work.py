"""One protein's share of an atlas: its prediction, the targets the specification picks, each
method's per-residue attribution and the analyses, as the arrays of its file.

:class:`ProteinWorker` is what every executor runs (:mod:`.execution`): in this process, or as a
Ray actor on any node — the same class, so the files cannot depend on where they were made.

Arrays (``numpy.load`` of ``proteins/<name>-<key>.npz``): ``sequence`` (str), ``model``
(name and version), ``targets`` ``(T, 4)`` int — head (0 contact, 1 ss3), i, j (−1 for a residue),
class —, ``values`` ``(T,)`` the explained scalars (logits), ``ss3`` ``(L, 3)`` and ``contact``
``(L, L)`` the predicted probabilities (of the heads the model has), per method ``<method>/sum``
and ``<method>/magnitude`` ``(T, L)``: the attribution to each input residue, ``s_k = Σ_f A_fk``
and ``m_k = Σ_f |A_fk|`` (:mod:`foldlens.service.explain`); ``analyses``: a JSON string, ``{}``
or ``{"target": t, "randomization": …, "deletion": {method: …}}`` — the service's analysis
results for target row ``t`` (the first target: the most probable long-range contact, if the
specification asks for any); ``inputs``: a JSON string, whether the protein came with a profile
and a structure.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..attribution.api import SHARED_FORWARD
from ..models import adapter as model_adapter
from ..models import load, register_file, version
from ..models.adapter import Encoded, ModelAdapter
from ..models.views import OutputTarget
from ..predict import predict
from ..protein.record import Protein
from ..service.analyses import MAP_METHODS, check_analysis, run_analysis
from ..service.analysis_subject import Subject
from ..service.explain import Explanation, explain, explain_together
from ..service.method_options import check_options
from .targets import TargetRule, parse_targets, targets_for

HEADS = ("contact", "ss3")
ANALYSES = ("randomization", "deletion")
"""Analyses an atlas runs per protein (on its first target)."""


@dataclass(frozen=True)
class Recipe:
    """What each protein gets: the model (and the files that register it, if it is not built
    in), the target specification, the methods and the analyses."""

    model_name: str
    specification: str
    methods: tuple[str, ...]
    analyses: tuple[str, ...] = ()
    model_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """A protein's arrays, or why it has none (``problem``), the Ray node (its address and id,
    or ``"local"``) that did the work and the seconds it took there."""

    arrays: dict[str, np.ndarray] | None
    problem: str
    node: str
    seconds: float = 0.0


class ProteinWorker:
    """Holds the model, explains proteins one at a time with ``threads`` torch threads."""

    def __init__(self, recipe: Recipe, threads: int | None = None) -> None:
        if threads is not None:
            torch.set_num_threads(threads)
        for reference in recipe.model_files:
            register_file(reference)
        self.recipe = recipe
        self.adapter = model_adapter(recipe.model_name)
        self.model = load(recipe.model_name)
        self.rules = parse_targets(recipe.specification)

    def explain(self, protein: Protein) -> Outcome:
        """The protein's :class:`Outcome`; bad input and torch failures become its problem."""
        start = time.perf_counter()
        try:
            arrays = explain_protein(
                self.model,
                self.adapter,
                self.adapter.encoded(protein),
                self.rules,
                self.recipe.methods,
                self.recipe.analyses,
            )
        except (ValueError, RuntimeError) as error:  # bad input, or torch failing on this one
            problem = f"{type(error).__name__}: {error}"
            return Outcome(None, problem, _node(), time.perf_counter() - start)
        return Outcome(arrays, "", _node(), time.perf_counter() - start)


def _node() -> str:
    """The Ray node this runs on, ``"<address> <node id>"``, or ``"local"`` outside Ray."""
    if "RAY_RAYLET_PID" not in os.environ:  # set in every Ray worker process
        return "local"
    import ray

    address = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]  # Ray's own
    return f"{address} {ray.get_runtime_context().get_node_id()}"


def model_id(found: ModelAdapter) -> str:
    """The model's name and version (its weights' digest, hashed once per process)."""
    return f"{found.name} {version(found.name)}"


def explain_protein(
    model: torch.nn.Module,
    found: ModelAdapter,
    inputs: Encoded,
    rules: list[TargetRule],
    methods: Sequence[str],
    analyses: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """The arrays of one protein's file (module docstring), from its encoded input."""
    protein = inputs.protein
    prediction = predict(model, protein, found)
    targets = targets_for(rules, prediction, found.spec)
    length = len(protein.sequence)
    sums = {m: np.zeros((len(targets), length), np.float32) for m in methods}
    magnitudes = {m: np.zeros((len(targets), length), np.float32) for m in methods}
    values = np.zeros(len(targets), np.float32)
    shared = [m for m in methods if m in SHARED_FORWARD]
    for k, target in enumerate(targets):
        answers: dict[str, Explanation] = (
            explain_together(model, found, inputs, target, shared) if shared else {}
        )
        for method in methods:
            if method not in answers:
                options = check_options(method, {})
                answers[method] = explain(model, found, inputs, target, method, options)
            sums[method][k], magnitudes[method][k] = answers[method].residue_scores()
        values[k] = answers[methods[0]].value
    rows = [(HEADS.index(t.head), t.i, -1 if t.j is None else t.j, t.index) for t in targets]
    found_analyses = (
        analyse(Subject(model, found, inputs, targets[0], prediction), methods, analyses)
        if analyses and targets
        else {}
    )
    arrays: dict[str, np.ndarray] = {
        "sequence": np.array(protein.sequence),
        "model": np.array(model_id(found)),
        "targets": np.array(rows, dtype=np.int32).reshape(-1, 4),
        "values": values,
        "analyses": np.array(json.dumps(found_analyses)),
        "inputs": np.array(
            json.dumps(
                {"profile": protein.profile is not None, "structure": protein.structure is not None}
            )
        ),
    }
    for head, dtype in (("ss3", np.float32), ("contact", np.float16)):
        if head in prediction:  # the model's heads the targets read (others are not stored)
            arrays[head] = np.asarray(prediction[head], dtype)
    for method in methods:
        arrays[f"{method}/sum"] = sums[method]
        arrays[f"{method}/magnitude"] = magnitudes[method]
    return arrays


def analyse(subject: Subject, methods: Sequence[str], analyses: Sequence[str]) -> dict[str, Any]:
    """The analyses of the subject's target with the service's defaults: randomization
    (cascade) of the methods the analysis takes, deletion curves of each of them."""
    testable = [m for m in methods if m in MAP_METHODS]
    assert isinstance(subject.target, OutputTarget)
    found: dict[str, Any] = {"target": 0}
    if "randomization" in analyses and testable:
        options = check_analysis("randomization", {"methods": testable[:4]}, subject.target)
        found["randomization"] = run_analysis("randomization", subject, options)
    if "deletion" in analyses:
        found["deletion"] = {
            method: run_analysis(
                "deletion",
                subject,
                check_analysis("deletion", {"method": method}, subject.target),
            )
            for method in testable
        }
    return found
