"""Analyses of one explanation target: are its maps to be trusted, and what do they show?

The sanity checks of :mod:`foldlens.analysis` (model-agnostic) run here on the view of the target
(:mod:`foldlens.models.views`), with the protein's residues as positions; the protein summaries
(receptive-field profile, amino-acid patterns, :mod:`.aa_patterns`) live here. Every analysis
returns plain JSON.

==================  ==========================================================================
analysis            what it computes
==================  ==========================================================================
randomization       each method's map on copies of the model whose layers are re-initialised,
                    top layer first (``cascade``) or one at a time (``independent``), compared
                    with the original map over the residues that can change the target
                    (Spearman signed/absolute, SSIM, top-k overlap); a verdict per method
                    (Adebayo et al. 2018)
random_target       similarity of the map with the maps of other targets of the same head
deletion            deletion and insertion curves: residues replaced by the all-zero baseline
                    in the order of the map's per-residue sum, against random orders
receptive_field     mean per-residue magnitude against the sequence distance from the target's
                    residue(s), with the network's theoretical reach
follow_gradient     the target at ``x + ε·A`` for ε of both signs (A the map)
input_correlation   per input feature, the correlation of the map with the feature's values
aa_patterns         mean per-residue attribution by amino-acid type; for pair targets also by
                    the amino-acid pair of the target's residues, over the head's most
                    confident predicted pairs
coevolution         a pair target's attribution to the pair features against the couplings of
                    the job's MSA (:mod:`.coevolution_analysis`)
categorical_        the network's own coupling map from every single substitution (19 · L
jacobian            forward passes), against the job's DCA map and its true contacts
                    (:mod:`.jacobian_analysis`; the same for every target of the job)
==================  ==========================================================================
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..analysis import (
    AnalysisCancelledError,
    distance_profile,
    feature_correlation,
    follow_the_attribution,
    perturbation_test,
    randomization_test,
    similarity,
)
from ..analysis.follow_gradient import default_epsilons
from ..analysis.metrics import default_k
from ..analysis.randomization import BARELY_ABOVE, DEPENDS_BELOW, SURVIVES_FEW, SURVIVES_MOST
from ..attribution.methods import REGISTRY
from ..models.views import OutputTarget, Readout, UnitTarget
from .aa_patterns import aa_patterns
from .analysis_subject import Progress, Subject, input_map, map_of, residues_of
from .coevolution_analysis import coevolution
from .errors import InvalidInputError
from .explain import (
    ExplanationCancelledError,
    engine_options,
    explain_batch_size,
    target_tensor,
    target_view,
)
from .jacobian_analysis import categorical_jacobian
from .method_options import ENGINE_ONLY, ServiceOption, check_options
from .targets import receptive_residues

MAP_METHODS = tuple(name for name in REGISTRY if name not in ("occlusion", *ENGINE_ONLY))
"""Methods the analyses take (their options at the service defaults)."""
RULES = ["gradient", "deconvnet", "guided_backprop"]


def _methods_option(default: list[str], description: str) -> ServiceOption:
    return ServiceOption(default, description, 1, 4, choices=MAP_METHODS)


def _method_option() -> ServiceOption:
    return ServiceOption("gradient", "the method whose map is tested", choices=MAP_METHODS)


@dataclass(frozen=True)
class AnalysisInfo:
    name: str
    summary: str
    options: dict[str, ServiceOption]
    outputs_only: bool = False
    """True when the analysis re-runs the model on changed inputs and reads an output."""
    pairs_only: bool = False
    """True when the analysis explains a pair output (i, j) only."""


ANALYSES = {
    info.name: info
    for info in (
        AnalysisInfo(
            "randomization",
            "model-parameter randomization (Adebayo et al. 2018): does the map change when the "
            "learned weights are destroyed, layer by layer?",
            {
                "methods": _methods_option(RULES, "methods to test"),
                "mode": ServiceOption(
                    "cascade",
                    "cascade: randomize from the top layer down, cumulatively; independent: "
                    "one layer at a time",
                    choices=("cascade", "independent"),
                ),
            },
        ),
        AnalysisInfo(
            "random_target",
            "random-target check: the map of a different output of the same head should differ",
            {
                "methods": _methods_option(RULES, "methods to test"),
                "targets": ServiceOption(4, "other targets, drawn at random", 1, 16),
                "seed": ServiceOption(0, "seed of the draw", 0, 2**31 - 1),
            },
        ),
        AnalysisInfo(
            "deletion",
            "deletion and insertion curves: residues replaced by the zero baseline in the map's "
            "order, against random orders",
            {
                "method": _method_option(),
                "steps": ServiceOption(
                    21, "points on each curve (at most one per number of residues)", 3, 101
                ),
                "random_orders": ServiceOption(4, "random orders averaged as the baseline", 1, 16),
            },
            outputs_only=True,
        ),
        AnalysisInfo(
            "receptive_field",
            "attribution magnitude against sequence distance from the target, with the "
            "network's theoretical receptive field",
            {"methods": _methods_option(RULES, "methods to profile")},
        ),
        AnalysisInfo(
            "follow_gradient",
            "the output as the input moves by ε times the map, for ε of both signs",
            {"method": _method_option(), "points": ServiceOption(21, "values of ε (odd)", 3, 61)},
            outputs_only=True,
        ),
        AnalysisInfo(
            "input_correlation",
            "correlation of the map with the input feature values, per feature",
            {"methods": _methods_option(RULES, "methods to correlate")},
        ),
        AnalysisInfo(
            "aa_patterns",
            "mean attribution per amino-acid type; for pair targets also per amino-acid pair of "
            "the target's residues over the head's most confident predicted pairs",
            {
                "methods": _methods_option(["gradient"], "methods to summarise"),
                "pairs": ServiceOption(
                    32, "predicted pairs explained for the pair table (pair targets)", 0, 256
                ),
            },
        ),
        AnalysisInfo(
            "coevolution",
            "does the attribution follow coevolution? The target's attribution to the pair "
            "features against the MSA's couplings (a Potts model of the job's alignment)",
            {"method": _method_option()},
            pairs_only=True,
        ),
        AnalysisInfo(
            "categorical_jacobian",
            "the network's own coupling map: how every single substitution changes its "
            "per-residue outputs everywhere (19 · L forward passes), against the MSA's couplings "
            "and the true contacts; the same for every target of the job",
            {"batch": ServiceOption(256, "mutants per forward pass", 1, 1024)},
            outputs_only=True,
        ),
    )
}


def check_analysis(name: Any, given: Any, target: OutputTarget | UnitTarget) -> dict[str, Any]:
    """The analysis ``name``'s options checked, defaults filled in."""
    info = ANALYSES.get(name) if isinstance(name, str) else None
    if info is None:
        raise InvalidInputError(f"unknown analysis {name!r}; analyses: {list(ANALYSES)}")
    if info.outputs_only and isinstance(target, UnitTarget):
        raise InvalidInputError(f"{name} reads an output of the model, not an internal unit")
    if info.pairs_only and (isinstance(target, UnitTarget) or target.j is None):
        raise InvalidInputError(f"{name} explains a pair output (a cell i, j of a pair head)")
    if not isinstance(given, dict):
        raise InvalidInputError("the options must be an object")
    options = check_options(name, given, info.options)
    if name == "follow_gradient" and options["points"] % 2 == 0:
        raise InvalidInputError("follow_gradient points must be odd (ε = 0 in the middle)")
    return options


def needs_prediction(name: str, target: OutputTarget | UnitTarget) -> bool:
    """Whether analysis ``name`` reads the prediction: the pair table of ``aa_patterns`` explains
    the head's most confident pairs."""
    return name == "aa_patterns" and target.j is not None


def run_analysis(
    name: str,
    subject: Subject,
    options: dict[str, Any],
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The JSON result of analysis ``name`` (options from :func:`check_analysis`)."""
    cancel = cancel or threading.Event()
    report = progress or (lambda fraction: None)
    try:
        result = _RUNNERS[name](subject, options, cancel, report)
    except AnalysisCancelledError as error:
        raise ExplanationCancelledError from error
    return {"analysis": name, "options": options, **result}


def _randomization(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    length = len(subject.sequence)
    view, engine_target = target_view(subject.model, subject.adapter, subject.target, length)
    receptive = receptive_residues(subject.target, subject.model_spec, length)
    methods = options["methods"]
    result = randomization_test(
        view,
        subject.x,
        engine_target,
        methods,
        layers=_layers_that_matter(view, subject.x, engine_target),
        mode=options["mode"],
        options={m: _defaults_for_engine(m, subject) for m in methods},
        progress=progress,
        cancelled=cancel.is_set,
        region=lambda found: found[:, receptive],
    )
    answer = result.to_json()
    answer["layers"] = [path.removeprefix("net.") for path in answer["layers"]]
    answer["thresholds"] = {
        "depends_below": DEPENDS_BELOW,
        "barely_above": BARELY_ABOVE,
        "survives_most": SURVIVES_MOST,
        "survives_few": SURVIVES_FEW,
    }
    return answer


def _layers_that_matter(view: nn.Module, x: torch.Tensor, engine_target: Any) -> list[str]:
    """The layers whose parameters the target depends on (the autograd graph from them to the
    target): heads and branches the view runs but the target does not read are left out, so the
    randomization curve has no steps that cannot change anything."""
    owned = {
        path: list(module.parameters(recurse=False))
        for path, module in view.named_modules()
        if next(module.parameters(recurse=False), None) is not None
    }
    parameters = [p for group in owned.values() for p in group]
    value, _ = target_tensor(view, x, engine_target)
    grads = torch.autograd.grad(value, parameters, allow_unused=True)
    reached = {id(p) for p, grad in zip(parameters, grads, strict=True) if grad is not None}
    return [path for path, group in owned.items() if any(id(p) in reached for p in group)]


def _defaults_for_engine(method: str, subject: Subject) -> dict[str, Any]:
    """The engine's options for ``method`` at the service's defaults."""
    defaults = check_options(method, {})
    return engine_options(method, defaults, subject.x, subject.target, subject.model_spec)


def _random_target(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    length = len(subject.sequence)
    rng = np.random.default_rng(options["seed"])
    others: list[OutputTarget | UnitTarget] = []
    while len(others) < options["targets"]:
        i, j = (int(v) for v in rng.integers(0, length, 2))
        other = _moved(subject.target, i, j)
        if other != subject.target:
            others.append(other)
    methods = options["methods"]
    similarities: dict[str, list[dict[str, float]]] = {}
    for step, method in enumerate(methods):
        original = input_map(subject, method)
        rows = []
        for other in others:
            if cancel.is_set():
                raise ExplanationCancelledError
            other_map = input_map(subject, method, other)
            rows.append(similarity(original, other_map, default_k(original.size)).to_json())
        similarities[method] = rows
        progress((step + 1) / len(methods))
    return {"targets": [residues_of(t) for t in others], "similarities": similarities}


def _moved(target: OutputTarget | UnitTarget, i: int, j: int) -> OutputTarget | UnitTarget:
    if isinstance(target, UnitTarget):
        return UnitTarget(target.layer, target.channel, i, None if target.j is None else j)
    return OutputTarget(target.head, i, None if target.j is None else j, target.index)


def _deletion(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    attribution = map_of(subject, options["method"])
    progress(0.2)
    view, readout = _output_view(subject)
    if cancel.is_set():
        raise ExplanationCancelledError
    result = perturbation_test(
        view,
        subject.x,
        readout,
        attribution.residue_scores()[0],
        baseline=0.0,
        random_orders=options["random_orders"],
        steps=min(options["steps"], len(subject.sequence) + 1),
        batch_size=4 * explain_batch_size(subject.target, subject.model_spec),
        progress=lambda fraction: progress(0.2 + 0.8 * fraction),
        cancelled=cancel.is_set,
    )
    return {"value": attribution.value, "baseline": "all-zero features", **result.to_json()}


def _output_view(subject: Subject) -> tuple[nn.Module, Readout]:
    """The target's view and its value per sample (analyses that read outputs only)."""
    assert isinstance(subject.target, OutputTarget)
    return subject.adapter.output_view(subject.model, subject.target, len(subject.sequence))


def _receptive_field(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    kind = "pair" if subject.target.j is not None else "per-residue"
    profiles = {}
    for step, method in enumerate(options["methods"]):
        magnitude = map_of(subject, method).residue_scores()[1]
        distances, means = distance_profile(magnitude, residues_of(subject.target))
        profiles[method] = means.tolist()
        progress((step + 1) / len(options["methods"]))
    return {
        "distances": distances.tolist(),
        "magnitude": profiles,
        "theoretical_radius": subject.model_spec.radius(
            subject.target.head if isinstance(subject.target, OutputTarget) else None, kind
        ),
    }


def _follow_gradient(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    attribution = map_of(subject, options["method"])
    assert attribution.attribution is not None
    direction = torch.as_tensor(attribution.attribution)[None]
    epsilons = default_epsilons(direction, subject.x, options["points"])
    view, readout = _output_view(subject)
    curve = follow_the_attribution(view, subject.x, readout, direction, epsilons)
    return {"value": attribution.value, **curve.to_json()}


def _input_correlation(
    subject: Subject, options: dict[str, Any], cancel: threading.Event, progress: Progress
) -> dict[str, Any]:
    found = {}
    for step, method in enumerate(options["methods"]):
        per_feature, overall = feature_correlation(input_map(subject, method), subject.x[0].numpy())
        found[method] = {"per_feature": per_feature.tolist(), "overall": overall}
        progress((step + 1) / len(options["methods"]))
    return {"features": subject.model_spec.input.features, "correlation": found}


def summary(result: dict[str, Any]) -> str:
    """One line of what an analysis found, for the command line."""
    name = result["analysis"]
    if name == "randomization":
        total = len(result["layers"])
        return "; ".join(
            f"{m}: {v} (ρ(|map|) > {BARELY_ABOVE} for {result['unchanged_layers'][m]} of the "
            f"{total} randomized layers)"
            for m, v in result["verdicts"].items()
        )
    if name == "random_target":
        return "; ".join(
            f"{m}: mean Spearman |map| {np.mean([s['spearman_absolute'] for s in rows]):.2f}"
            for m, rows in result["similarities"].items()
        )
    if name == "deletion":
        return ", ".join(
            f"{kind} AUC {result[kind]['auc']:.3g} (random {result['random_' + kind]['auc']:.3g})"
            for kind in ("deletion", "insertion")
        )
    if name == "input_correlation":
        return "; ".join(f"{m}: r = {c['overall']:.2f}" for m, c in result["correlation"].items())
    if name == "follow_gradient":
        return f"target from {min(result['values']):.4g} to {max(result['values']):.4g}"
    if name == "receptive_field":
        return f"theoretical radius {result['theoretical_radius']}"
    if name == "coevolution":
        if result["spearman"] is None:
            return f"too few cells ({result['cells']}) to compare"
        return (
            f"Spearman {result['spearman']:.2f} between |attribution| and APC couplings over "
            f"{result['cells']} pairs (Neff {result['neff']:.1f}); top-{result['top']} overlap "
            f"{result['top_overlap']:.2f}"
        )
    if name == "categorical_jacobian":
        words = [f"{result['mutants']} mutants"]
        for which, found in result.get("precision", {}).items():
            words.append(f"{which} top-L/5 precision {found['>=6']:.2f} (|i − j| ≥ 6)")
        if "dca" in result:
            words.append(f"Spearman with DCA {result['dca']['spearman']:.2f}")
        return "; ".join(words)
    return f"{len(result['by_type'])} method(s) summarised by amino-acid type"


_RUNNERS: dict[str, Callable[[Subject, dict[str, Any], threading.Event, Progress], dict[str, Any]]]
_RUNNERS = {
    "randomization": _randomization,
    "random_target": _random_target,
    "deletion": _deletion,
    "receptive_field": _receptive_field,
    "follow_gradient": _follow_gradient,
    "input_correlation": _input_correlation,
    "aa_patterns": aa_patterns,
    "coevolution": coevolution,
    "categorical_jacobian": categorical_jacobian,
}
