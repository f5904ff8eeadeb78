"""Explanations of one target of a job's prediction, by several methods side by side.

A *target* comes from the page or the CLI as JSON: an output ``{"head", "i", "j"?, "class"?}``
(0-based residues) or an internal unit ``{"layer", "channel", "i", "j"?}``. Every method attributes
the same scalar — a class or contact logit, an expected distance in Å, a unit's activation — to the
model input, ``(C, L)``, whose channels the model's adapter names in feature groups (the default
network's: 20 one-hot letters, 20 profile columns and the has-profile flag). The per-residue
aggregates are the signed sum over features ``s_k = Σ_f A_fk`` and the magnitude
``m_k = Σ_f |A_fk|``.

*In-silico mutagenesis* (``mutagenesis``) is a method here too: for every residue k within the
target's receptive field and ``window`` residues of the target's residue(s), and every amino acid
a, the change of the target when residue k becomes a (the adapter makes the mutant input; the
profile is kept), ``Δ_ka = f(x with k → a) − f(x)``, computed in batches through the target's
view; the wild type's own letter is ``Δ = 0`` by definition and not computed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

import foldlens.attribution as fl

from ..attribution.api import SHARED_FORWARD
from ..attribution.methods import REGISTRY
from ..models.adapter import Encoded, ModelAdapter
from ..models.spec import FeatureGroup, LayerSpec, ModelSpec
from ..models.views import OutputTarget, Readout, UnitTarget
from ..protein.alphabet import AMINO_ACIDS
from .errors import InvalidInputError
from .layer_attribution import LayerAttribution, check_layer, layer_attribution
from .method_options import ENGINE_ONLY, INPUT_ONLY, MUTAGENESIS, method_catalogue
from .targets import near_residues, reads_whole_map, receptive_residues

TOP_RESIDUES = 10


@dataclass
class Explanation:
    """One method's answer: ``attribution`` (C, L) to the input's channels (``groups``), for
    mutagenesis ``delta`` (L, 20), or the attribution to a layer's input, ``layer``."""

    method: str
    exact: bool
    value: float
    seconds: float
    approximation: str = ""
    """Why the map is not exact (what the engine's audit of this call found); empty when it is."""
    reference_value: float | None = None
    """The target at the reference input, for methods that compare with one (DeepLIFT,
    integrated gradients): their maps should sum to ``value - reference_value``."""
    map_sum: float | None = None
    """What the map sums to (given with ``reference_value``): ``value - reference_value`` for
    an exact DeepLIFT, up to the quadrature's error for integrated gradients."""
    attribution: np.ndarray | None = None
    groups: list[FeatureGroup] | None = None
    delta: np.ndarray | None = None
    layer: LayerAttribution | None = None

    def residue_scores(self) -> tuple[np.ndarray, np.ndarray]:
        """The signed per-residue value and its magnitude (see the module docstring)."""
        if self.delta is not None:
            per_residue = np.nan_to_num(self.delta)
            return per_residue.mean(axis=1), np.abs(per_residue).mean(axis=1)
        if self.layer is not None:
            return self.layer.residue_scores()
        assert self.attribution is not None
        return self.attribution.sum(axis=0), np.abs(self.attribution).sum(axis=0)

    def to_json(self, sequence: str) -> dict[str, Any]:
        signed, magnitude = self.residue_scores()
        top = np.argsort(-magnitude, kind="stable")[:TOP_RESIDUES]
        out: dict[str, Any] = {
            "method": self.method,
            "exact": self.exact,
            "value": round(self.value, 6),
            "seconds": round(self.seconds, 4),
            "approximation": self.approximation,
            "reference_value": _maybe_rounded(self.reference_value),
            "map_sum": _maybe_rounded(self.map_sum),
            "residue_sum": _rounded(signed),
            "residue_magnitude": _rounded(magnitude),
            "top": [
                {
                    "index": int(k),
                    "residue": sequence[k],
                    "sum": float(signed[k]),
                    "magnitude": float(magnitude[k]),
                }
                for k in top
            ],
        }
        if self.delta is not None:
            out["alphabet"] = AMINO_ACIDS
            out["wild_type"] = [AMINO_ACIDS.index(c) for c in sequence]
            out["delta"] = [
                [None if np.isnan(v) else round(float(v), 5) for v in row] for row in self.delta
            ]
        elif self.layer is not None:
            out.update(_layer_json(self.layer))
        else:
            assert self.groups is not None
            out["features"] = [name for group in self.groups for name in group.feature_names()]
            out["feature_groups"] = [
                {"name": group.name, "size": len(group.labels), "needs": group.needs}
                for group in self.groups
            ]
            out["attribution"] = _rounded(self.attribution)
        return out


def _layer_json(layer: LayerAttribution) -> dict[str, Any]:
    out: dict[str, Any] = {"wrt": layer.layer.path, "wrt_kind": layer.layer.kind}
    if layer.channels is not None:
        out["features"] = [f"channel {c}" for c in range(layer.channels.shape[0])]
        out["attribution"] = _rounded(layer.channels)
        return out
    out["pair"] = _rounded(layer.pair)
    if layer.grid is not None:
        assert layer.grid_rows is not None and layer.grid_cols is not None
        out["grid"] = {
            "states": layer.layer.channel_grid,
            "rows": layer.grid_rows.tolist(),
            "cols": layer.grid_cols.tolist(),
            "values": _rounded(layer.grid),
        }
    return out


def _maybe_rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _rounded(values: np.ndarray | None) -> Any:
    assert values is not None
    scale = float(np.abs(values).max()) or 1.0
    decimals = max(4, 4 - int(np.floor(np.log10(scale))))  # 4 significant digits of the largest
    return np.round(values.astype(np.float64), decimals).tolist()


class ExplanationCancelledError(Exception):
    """The explanation was cancelled; nothing of it is stored."""


def _mutagenesis(
    view: nn.Module,
    readout: Readout,
    adapter: ModelAdapter,
    inputs: Encoded,
    positions: np.ndarray,
    cancel: threading.Event,
    progress: Any,
    batch: int = 32,
) -> tuple[float, np.ndarray]:
    length = inputs.x.shape[-1]
    delta = np.full((length, len(AMINO_ACIDS)), np.nan, dtype=np.float32)
    with torch.no_grad():
        wild = float(readout(view(inputs.x))[0])
        mutants = []
        for position in np.flatnonzero(positions):
            for a, letter in enumerate(AMINO_ACIDS):
                if letter == inputs.sequence[position]:
                    delta[position, a] = 0.0
                else:
                    mutants.append((int(position), a))
        for start in range(0, len(mutants), batch):
            if cancel.is_set():
                raise ExplanationCancelledError
            chunk = mutants[start : start + batch]
            values = readout(view(adapter.mutants(inputs, chunk)))
            for row, (k, a) in enumerate(chunk):
                delta[k, a] = float(values[row]) - wild
            progress(min(1.0, (start + len(chunk)) / len(mutants)))
    return wild, delta


def explain_batch_size(target: OutputTarget | UnitTarget, model_spec: ModelSpec) -> int:
    """Inputs per forward pass: a pair view holds 2D windows of ~(2R + 1)² cells × 64 channels
    for every layer, about 0.5 GB per input in a backward pass, so those go two at a time; a
    target read out of a whole pair map (pLDDT) holds every layer's L × L map, so one at a time."""
    if reads_whole_map(target, model_spec):
        return 1
    return 2 if target.j is not None else 16


def mutants_per_pass(target: OutputTarget | UnitTarget, model_spec: ModelSpec) -> int:
    """Mutants per forward pass of mutagenesis (no gradients kept): 4 through a pair cell's view
    (fastest per mutant; measured at L = 298: 59 ms each at 4, 81 ms at 8), else 4 passes' worth
    of :func:`explain_batch_size` (64 for a per-residue head, 4 for a whole-map readout)."""
    return 4 * explain_batch_size(target, model_spec) if target.j is None else 4


def _expected_passes(method: str, options: dict[str, Any], length: int, batch: int) -> int:
    """Roughly how many forward passes the engine makes (for progress only)."""
    if method == "integrated_gradients":
        return -(-int(options["steps"]) // batch)
    if method == "smoothgrad":
        return -(-int(options["samples"]) // batch)
    if method == "occlusion":
        return 1 + -(-length // batch)
    return 1


@contextmanager
def _watched(
    view: nn.Module, cancel: threading.Event, progress: Any, passes: int
) -> Iterator[None]:
    """Check ``cancel`` and report progress before every forward pass of ``view``: a cancelled
    explanation stops at its next pass (the engine restores the model on the way out)."""
    done = 0

    def before_pass(module: nn.Module, args: object) -> None:
        nonlocal done
        if cancel.is_set():
            raise ExplanationCancelledError
        progress(min(0.99, done / passes))
        done += 1

    handle = view.register_forward_pre_hook(before_pass)
    try:
        yield
    finally:
        handle.remove()


def target_tensor(
    view: nn.Module, x: torch.Tensor, engine_target: Any, wrt: str | None = None, grad: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The explained scalar from one forward pass of ``view`` (in the autograd graph unless
    ``grad`` is false and there is no ``wrt``): the engine target's value (a callable of the
    output, or a :class:`~foldlens.attribution.Neuron`'s activation); with ``wrt``, also the leaf
    that replaced that layer's input (``None`` when the layer did not run)."""
    leaves: list[torch.Tensor] = []

    def slot(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        leaves.append(args[0].detach().requires_grad_(True))
        return (leaves[-1], *args[1:])

    captured: list[torch.Tensor] = []
    handles = []
    if isinstance(engine_target, fl.Neuron):
        module = view.get_submodule(engine_target.module)
        handles.append(module.register_forward_hook(lambda m, args, out: captured.append(out)))
    if wrt is not None:
        handles.append(view.get_submodule(wrt).register_forward_pre_hook(slot))
    try:
        with torch.set_grad_enabled(grad or wrt is not None):
            out = view(x)
            if isinstance(engine_target, fl.Neuron):
                index: Any = engine_target.index
                value = captured[0][index]
            else:
                value = engine_target(out)
    finally:
        for handle in handles:
            handle.remove()
    return value, leaves[0] if leaves else None


def _target_value(view: nn.Module, x: torch.Tensor, engine_target: Any, wrt: str | None) -> float:
    """The explained scalar; with ``wrt``, check that it depends on that layer's input (else the
    map would be all zeros)."""
    value, leaf = target_tensor(view, x, engine_target, wrt, grad=False)
    if wrt is not None and not (leaf is not None and _reaches(value, leaf)):
        layer = wrt.removeprefix("net.")
        raise InvalidInputError(f"the target does not depend on the input of layer {layer}")
    return float(value.detach())


class _ValueReading:
    """An engine target read out of the output that keeps the value of its first reading: the
    target's value at the input, since the engine's first forward pass runs on the input itself
    and the rules change only backward passes."""

    def __init__(self, target: Callable[[Any], torch.Tensor]) -> None:
        self.target = target
        self.value: float | None = None

    def __call__(self, out: Any) -> torch.Tensor:
        value = self.target(out)
        if self.value is None:
            self.value = float(value.detach())
        return value


def _valued(
    prepared: _Prepared, x: torch.Tensor, shares_forward: bool
) -> tuple[Any, Callable[[], float]]:
    """The engine's target and a reader of the explained value. A method of the gradient family
    (``shares_forward``) attributing an output to the model input reads the value in its own
    forward pass; otherwise one pass without gradients computes it first (and checks that a
    layer's input reaches the target)."""
    if shares_forward and prepared.layer is None and prepared.readout is not None:
        reading = _ValueReading(prepared.engine_target)

        def value() -> float:
            assert reading.value is not None, "the engine has not read the target yet"
            return reading.value

        return reading, value
    known = _target_value(prepared.view, x, prepared.engine_target, prepared.engine_wrt)
    return prepared.engine_target, lambda: known


def _reaches(value: torch.Tensor, leaf: torch.Tensor) -> bool:
    """Whether ``value`` was computed from ``leaf`` (a walk of the autograd graph)."""
    stack = [value.grad_fn]
    seen = set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if getattr(node, "variable", None) is leaf:
            return True
        stack.extend(next_node for next_node, _ in node.next_functions)
    return False


@dataclass(frozen=True)
class _Prepared:
    """The view computing the target, how the engine reads the target from it, and the layer
    whose input is attributed (``None``: the model input)."""

    view: nn.Module
    readout: Readout | None
    engine_target: Any
    layer: LayerSpec | None

    @property
    def engine_wrt(self) -> str | None:
        return None if self.layer is None else f"net.{self.layer.path}"


def check_methods(
    target: OutputTarget | UnitTarget, methods: list[str], wrt: Any, model_spec: ModelSpec
) -> LayerSpec | None:
    """Refuse methods that cannot explain ``target`` attributed to ``wrt``; the layer named."""
    if isinstance(target, UnitTarget) and MUTAGENESIS in methods:
        raise InvalidInputError("mutagenesis explains outputs, not internal units")
    layer = None if wrt is None else check_layer(wrt, model_spec)
    refused = [m for m in methods if m in INPUT_ONLY]
    if layer is not None and refused:
        raise InvalidInputError(
            f"{', '.join(refused)} attribute(s) to the model input only, not to a layer"
        )
    return layer


def _prepare(
    model: nn.Module,
    adapter: ModelAdapter,
    target: OutputTarget | UnitTarget,
    length: int,
    methods: list[str],
    wrt: str | None,
) -> _Prepared:
    layer = check_methods(target, methods, wrt, adapter.spec)
    if isinstance(target, UnitTarget):
        view, path, index = adapter.unit_view(model, target, length)
        return _Prepared(view, None, fl.Neuron(path, index), layer)
    view, readout = adapter.output_view(model, target, length)
    return _Prepared(view, readout, lambda out: readout(out)[0], layer)


def target_view(
    model: nn.Module, adapter: ModelAdapter, target: OutputTarget | UnitTarget, length: int
) -> tuple[nn.Module, Any]:
    """The view computing ``target`` and the engine's target in it (a callable or a neuron)."""
    prepared = _prepare(model, adapter, target, length, [], None)
    return prepared.view, prepared.engine_target


def _answer(
    prepared: _Prepared,
    adapter: ModelAdapter,
    explanation: Explanation,
    maps: torch.Tensor,
    length: int,
) -> Explanation:
    """``explanation`` with the engine's ``maps`` for the model input or the layer."""
    layer = prepared.layer
    if layer is None:
        explanation.attribution = maps[0].numpy()
        explanation.groups = list(adapter.spec.input.groups)
        return explanation
    windows = adapter.layer_windows(prepared.view, layer.path, length) if layer.kind == "2d" else []
    explanation.layer = layer_attribution(layer, maps.numpy(), windows, length)
    return explanation


def engine_options(
    method: str,
    options: dict[str, Any],
    x: torch.Tensor,
    target: OutputTarget | UnitTarget,
    model_spec: ModelSpec,
    wrt: str | None = None,
) -> dict[str, Any]:
    """The engine's options for the service's checked ``options`` of ``method``: occlusion's
    window over every feature of a residue, DeepLIFT's reference input, and the batch size that
    suits the target."""
    engine = dict(options)
    if method == "occlusion":
        engine = {"window": (x.shape[1], options["window"]), "stride": (x.shape[1], 1)}
    check_layer_options(method, options, wrt)
    if method == "deeplift":
        engine["baseline"] = reference_input(options["baseline"], x)
    if method == "lrp":  # z^B's bounds: the input's range, at least [0, 1] (one-hot, profile)
        engine["low"] = min(0.0, float(x.min()))
        engine["high"] = max(1.0, float(x.max()))
    if "batch_size" in REGISTRY[method].options:
        engine["batch_size"] = explain_batch_size(target, model_spec)
    return engine


def reference_input(baseline: str, x: torch.Tensor) -> float | torch.Tensor:
    """DeepLIFT's reference for the model input ``x`` ``(1, C, L…)``: ``zero``, or
    ``average``, each channel's mean over the residues, ``x̄_c = Σ_k x_ck / L``."""
    if baseline == "zero":
        return 0.0
    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


def check_layer_options(method: str, options: dict[str, Any], wrt: str | None) -> None:
    """Refuse options that only the model input has, for a layer's input: DeepLIFT's average
    residue, and LRP's first-layer rules (flat, z^B)."""
    if wrt is None:
        return
    if method == "deeplift" and options["baseline"] != "zero":
        raise InvalidInputError(
            "DeepLIFT to a layer's input compares with a zero input of that layer; the "
            f"{options['baseline']} baseline is for the model input"
        )
    if method == "lrp" and options["composite"].endswith(("_flat", "_box")):
        raise InvalidInputError(
            f"LRP's {options['composite']} gives the layer reading the model input a rule of its "
            "own; to a layer's input, choose a composite without _flat or _box"
        )


def explain(
    model: nn.Module,
    adapter: ModelAdapter,
    inputs: Encoded,
    target: OutputTarget | UnitTarget,
    method: str,
    options: dict[str, Any],
    cancel: threading.Event | None = None,
    progress: Any = None,
    wrt: str | None = None,
) -> Explanation:
    """One method's explanation of ``target`` for the encoded protein ``inputs`` (``x``
    ``(1, C, L)``), attributed to the model input or, with ``wrt``, to the input of that layer (a
    path of the model spec)."""
    cancel = cancel or threading.Event()
    x, model_spec = inputs.x, adapter.spec
    length = x.shape[-1]
    start = time.perf_counter()
    prepared = _prepare(model, adapter, target, length, [method], wrt)
    if method == MUTAGENESIS:
        assert prepared.readout is not None
        value, delta = _mutagenesis(
            prepared.view,
            prepared.readout,
            adapter,
            inputs,
            receptive_residues(target, model_spec, length)
            & near_residues(target, length, options["window"]),
            cancel,
            progress or (lambda f: None),
            batch=mutants_per_pass(target, model_spec),
        )
        return Explanation(method, True, value, time.perf_counter() - start, delta=delta)
    if method not in REGISTRY or method in ENGINE_ONLY:
        raise InvalidInputError(
            f"unknown method {method!r}; methods: {[m.name for m in method_catalogue(model_spec)]}"
        )
    settings = engine_options(method, options, x, target, model_spec, wrt)
    passes = _expected_passes(method, options, length, explain_batch_size(target, model_spec))
    view, wrt_path = prepared.view, prepared.engine_wrt
    engine_target, read_value = _valued(prepared, x, method in SHARED_FORWARD)
    with _watched(view, cancel, progress or (lambda f: None), passes):
        maps, report = fl.attribute(
            view, x, engine_target, method, wrt=wrt_path, return_report=True, warn=False,
            **settings,
        )  # fmt: skip
    value = read_value()
    answer = Explanation(
        method, report.exact, value, time.perf_counter() - start, approximation(report)
    )
    if report.convergence_delta is not None:
        # convergence delta = Σ map - (y(z) - y(z0))
        answer.map_sum = float(maps.sum(dtype=torch.float64))
        answer.reference_value = value - (answer.map_sum - float(report.convergence_delta[0]))
    return _answer(prepared, adapter, answer, maps, length)


def approximation(report: fl.AttributionReport) -> str:
    """Why the engine's map is not exact (empty when it is): the calls without an exact rule,
    through which the plain gradient passed."""
    if report.exact:
        return ""
    calls = ", ".join(record.describe() for record in report.unsupported)
    return f"no exact rule for {calls}: the plain gradient passes there"


def explain_together(
    model: nn.Module,
    adapter: ModelAdapter,
    inputs: Encoded,
    target: OutputTarget | UnitTarget,
    methods: list[str],
    wrt: str | None = None,
    ready: Callable[[Explanation], None] | None = None,
) -> dict[str, Explanation]:
    """Methods of the gradient family (:data:`SHARED_FORWARD`, no options) explaining ``target``
    from one forward pass of its view (:func:`foldlens.attribution.attribute_each`); ``ready`` gets
    each explanation as soon as its backward passes are done, its ``seconds`` counted to then."""
    x = inputs.x
    length = x.shape[-1]
    start = time.perf_counter()
    prepared = _prepare(model, adapter, target, length, methods, wrt)
    view, wrt_path = prepared.view, prepared.engine_wrt
    engine_target, read_value = _valued(prepared, x, shares_forward=True)
    answers: dict[str, Explanation] = {}

    def done(method: str, maps: Any) -> None:
        exact = method in adapter.spec.exact_methods
        reason = "" if exact else adapter.spec.approximate_reason
        answer = Explanation(
            method, exact, read_value(), time.perf_counter() - start, approximation=reason
        )
        answers[method] = _answer(prepared, adapter, answer, maps, length)
        if ready is not None:
            ready(answers[method])

    fl.attribute_each(view, x, engine_target, methods, wrt=wrt_path, on_result=done)
    return answers


OVERVIEW_METHODS = ("gradient", "deconvnet", "guided_backprop", "input_x_gradient")


def influence_matrix(
    model: nn.Module,
    adapter: ModelAdapter,
    x: torch.Tensor,
    head: str,
    index: int,
    method: str,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """``M[i, k] = Σ_f A_fk`` for the target (``head``, class ``index``) at every residue i: which
    input residue k drives which output residue, ``(L, L)``.

    All L targets go to the engine at once, which packs targets whose receptive fields do not
    overlap into shared backward passes; a ``cancel`` stops it at the next forward pass.
    """
    if method not in OVERVIEW_METHODS:
        raise InvalidInputError(
            f"the overview takes one of {list(OVERVIEW_METHODS)}, not {method!r}"
        )
    head_spec = adapter.spec.head(head)
    if head_spec.kind != "per-residue" or head_spec.source:
        raise InvalidInputError(f"the overview is for the network's per-residue heads, not {head}")
    length = x.shape[-1]
    view, _ = adapter.output_view(model, OutputTarget(head, 0, None, index), length)
    targets = [(head, 0, index, i) for i in range(length)]
    with _watched(view, cancel or threading.Event(), lambda fraction: None, 1):
        maps = fl.attribute(view, x, targets, method=method)
    matrix: np.ndarray = maps[:, 0].sum(dim=1).numpy()
    return matrix
