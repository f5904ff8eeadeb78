"""``attribute``: one verb for every method, target and model; ``attribute_each``: several
methods of the gradient family from one forward pass."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

import torch

from .errors import UnsupportedActivationError, UnsupportedActivationWarning
from .methods import REGISTRY, get_method
from .methods.gradient import SharedForward
from .report import PLAIN_GRADIENT, ActivationRecord, AttributionReport
from .session import DEFAULT_MEMORY_BUDGET, WRT_KINDS, AttributionSession
from .targets import PerRow, normalize_targets

Attribution = torch.Tensor | tuple[torch.Tensor, ...]


@overload
def attribute(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: Any,
    method: str = ...,
    *,
    wrt: str | None = ...,
    strict: bool = ...,
    return_report: Literal[False] = ...,
    memory_budget: int = ...,
    packing: bool = ...,
    **options: Any,
) -> torch.Tensor: ...


@overload
def attribute(
    model: torch.nn.Module,
    x: tuple[torch.Tensor, ...],
    target: Any,
    method: str = ...,
    *,
    wrt: str | None = ...,
    strict: bool = ...,
    return_report: Literal[False] = ...,
    memory_budget: int = ...,
    packing: bool = ...,
    **options: Any,
) -> Attribution: ...


@overload
def attribute(
    model: torch.nn.Module,
    x: torch.Tensor,
    target: Any,
    method: str = ...,
    *,
    wrt: str | None = ...,
    strict: bool = ...,
    return_report: Literal[True],
    warn: bool = ...,
    memory_budget: int = ...,
    packing: bool = ...,
    **options: Any,
) -> tuple[torch.Tensor, AttributionReport]: ...


@overload
def attribute(
    model: torch.nn.Module,
    x: tuple[torch.Tensor, ...],
    target: Any,
    method: str = ...,
    *,
    wrt: str | None = ...,
    strict: bool = ...,
    return_report: Literal[True],
    warn: bool = ...,
    memory_budget: int = ...,
    packing: bool = ...,
    **options: Any,
) -> tuple[Attribution, AttributionReport]: ...


def attribute(
    model: torch.nn.Module,
    x: torch.Tensor | tuple[torch.Tensor, ...],
    target: Any,
    method: str = "guided_backprop",
    *,
    wrt: str | None = None,
    strict: bool = False,
    return_report: bool = False,
    warn: bool = True,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    packing: bool = True,
    wrt_output: str | None = None,
    wrt_tensor: str | None = None,
    forward_args: Any = (),
    **options: Any,
) -> Attribution | tuple[Attribution, AttributionReport]:
    """Attribute ``target`` to the input of ``model`` (or of one of its layers).

    Parameters
    ----------
    model
        Any ``torch.nn.Module`` (compiled or not). It is never changed: no hooks, rules or
        parameters stay behind, also when the call raises.
    x
        The input tensor, or a tuple of tensors passed as ``model(*x)``.
    target
        A tuple index into the output (batch dimension included; the first entry picks the output
        of a model returning a tuple or dict), ``Neuron("module.path", index, call=None)``, a
        callable ``output -> scalar``, or a list of these (the result gets a leading dimension of
        that length; all share one forward pass); or :class:`PerRow` (an index per batch row,
        Captum's list of targets: one map shaped like ``x``, each row for its own target).
    method
        A name from :func:`foldlens.methods`.
    wrt
        Attribute to the input of the module at this dotted path instead of to ``x``. That input
        is replaced by a leaf for the module alone, so the map follows the paths *through the
        module*: when the same tensor also feeds a skip path, that path's share is not in the map
        (Captum's layer-input attribution gives the total derivative with respect to the tensor:
        ``wrt_tensor``).
    strict
        For rule-based methods (``deconvnet``, ``guided_backprop``, SmoothGrad over them), raise
        :class:`UnsupportedActivationError` at an activation without an exact rule instead of
        warning and passing the plain gradient through it.
    return_report
        Also return an :class:`AttributionReport`: which activation calls got which rule.
    warn
        ``False``: no warning for a map that is not exact, for a caller who reads the report's
        ``exact`` and says so itself (only with ``return_report=True``).
    memory_budget
        Bytes one batched backward or stacked forward pass may use (an estimate).
    packing
        Let targets whose input supports are proven disjoint share a backward pass (see
        :mod:`foldlens.attribution.packing`). ``False`` gives every target its own backward seed.
    wrt_output
        Attribute to the output of the module at this dotted path: it is replaced by a leaf that
        everything downstream reads (Captum's layer attribution).
    wrt_tensor
        Attribute to the tensor entering the module at this dotted path, with the total
        derivative: every consumer of that tensor, a skip path too, reads the leaf (Captum's
        layer-input attribution; see :mod:`foldlens.attribution.tensor_slot`).
    forward_args
        Further positional arguments of the model, passed after ``x`` and not attributed
        (Captum's ``additional_forward_args``); a single value or a tuple. Tensors whose first
        dimension is the batch are tiled along with the copies that integrated gradients,
        SmoothGrad and occlusion stack.
    **options
        The method's options (see ``foldlens.attribution.methods.REGISTRY[method].options``).

    Returns
    -------
    A tensor shaped like ``x`` (a tuple for tuple inputs; one tensor shaped like the layer's tensor
    under ``wrt``, ``wrt_tensor`` or ``wrt_output``), with a leading target dimension when
    ``target`` is a list; and the report when ``return_report``.

    Example
    -------
    >>> import torch, foldlens as fl
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.Conv1d(8, 2, 3, padding=1))
    >>> x = torch.randn(1, 4, 32)
    >>> fl.attribute(net, x, (0, 1, 10), method="guided_backprop").shape
    torch.Size([1, 4, 32])
    >>> fl.attribute(net, x, [(0, 1, i) for i in range(32)], method="deconvnet").shape
    torch.Size([32, 1, 4, 32])
    """
    _check_flags(strict=strict, return_report=return_report, warn=warn)
    if not (warn or return_report):
        raise ValueError("warn=False needs return_report=True: a map that is not exact says so")
    spec = get_method(method)
    resolved = spec.resolve(options)
    slot = _slot(wrt, wrt_output, wrt_tensor)
    inputs, single_input = _as_inputs(x, slot[0], spec.needs_gradients)
    targets, single_target = normalize_targets(target)
    rule_based = spec.rule_based(resolved)
    rule = spec.rule(resolved)
    refuse = strict and rule_based
    session = _open(
        model, inputs, slot, targets, rule, refuse, memory_budget, packing, forward_args
    )  # fmt: skip
    opaque = _opaque(session, method, rule_based, strict)
    with session:
        maps = spec.attribute(session, targets, resolved)
    report = _report(session, method, rule_based, rule, opaque, warn)
    attribution = _shaped(maps, single_input, single_target, isinstance(target, PerRow))
    return (attribution, report) if return_report else attribution


def attribute_each(
    model: torch.nn.Module,
    x: torch.Tensor | tuple[torch.Tensor, ...],
    target: Any,
    methods: Sequence[str] = ("gradient", "deconvnet", "guided_backprop"),
    *,
    wrt: str | None = None,
    strict: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    packing: bool = True,
    on_result: Callable[[str, Attribution], None] | None = None,
    wrt_output: str | None = None,
    wrt_tensor: str | None = None,
    forward_args: Any = (),
) -> dict[str, Attribution]:
    """Several methods of the gradient family from one forward pass.

    ``gradient``, ``deconvnet``, ``guided_backprop`` and ``input_x_gradient`` differ only in the
    rule a backward pass applies at each ReLU, and every rule reads the same forward sign masks
    (see :mod:`foldlens.attribution.rules`); so one forward pass serves them all, each method
    adding only its backward passes. Arguments as in :func:`attribute`; the result maps each
    method to what :func:`attribute` would return for it. ``on_result(method, maps)`` is called as
    each method's maps are done, in the order of ``methods`` (to show the first one early).

    Example
    -------
    >>> import torch, foldlens as fl
    >>> net = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.Conv1d(8, 2, 3, padding=1))
    >>> maps = fl.attribute_each(net, torch.randn(1, 4, 32), (0, 1, 10))
    >>> sorted(maps), maps["deconvnet"].shape
    (['deconvnet', 'gradient', 'guided_backprop'], torch.Size([1, 4, 32]))
    """
    _check_flags(strict=strict)
    specs = {name: get_method(name) for name in dict.fromkeys(methods)}
    shared = {name: spec for name, spec in specs.items() if isinstance(spec, SharedForward)}
    if not specs or len(shared) < len(specs):
        others = sorted(set(specs) - set(shared)) or "no method"
        raise ValueError(
            f"attribute_each shares one forward pass between {SHARED_FORWARD}, not {others}"
        )
    slot = _slot(wrt, wrt_output, wrt_tensor)
    inputs, single_input = _as_inputs(x, slot[0], needs_gradients=True)
    targets, single_target = normalize_targets(target)
    rules = {name: spec.rule({}) for name, spec in shared.items()}
    rule_based = any(spec.rule_based({}) for spec in shared.values())
    first = next(iter(rules.values()))
    refuse = strict and rule_based
    session = _open(
        model, inputs, slot, targets, first, refuse, memory_budget, packing, forward_args
    )  # fmt: skip
    opaque = _opaque(session, "/".join(shared), rule_based, strict)
    answers: dict[str, Attribution] = {}
    with session:
        fwd = session.forward(measure=True)
        for name, spec in shared.items():
            session.switch.rule = rules[name]
            maps = spec.maps_at(session, fwd, targets)
            answers[name] = _shaped(maps, single_input, single_target, isinstance(target, PerRow))
            if on_result is not None:
                on_result(name, answers[name])
    for name, spec in shared.items():
        _report(session, name, spec.rule_based({}), rules[name], opaque)
    return answers


SHARED_FORWARD = tuple(name for name, spec in REGISTRY.items() if isinstance(spec, SharedForward))
"""The methods :func:`attribute_each` can compute together."""


def _check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be True or False, got {value!r}")


def _slot(wrt: Any, wrt_output: Any, wrt_tensor: Any) -> tuple[str | None, str]:
    """The module path the call attributes to (``None``: the inputs), and what of it."""
    given = {
        kind: path
        for kind, path in zip(WRT_KINDS, (wrt, wrt_output, wrt_tensor), strict=True)
        if path is not None
    }
    if len(given) > 1:
        raise ValueError(f"give one of {[WRT_KINDS[kind] for kind in given]}, not several")
    for kind, path in given.items():
        if not isinstance(path, str):
            raise TypeError(f"{WRT_KINDS[kind]} must be a dotted module path, got {path!r}")
        return path, kind
    return None, "input"


def _open(
    model: torch.nn.Module,
    inputs: tuple[torch.Tensor, ...],
    slot: tuple[str | None, str],
    targets: list[Any],
    rule: str,
    refuse_unsupported: bool,
    memory_budget: int,
    packing: bool,
    forward_args: Any,
) -> AttributionSession:
    _check_flags(packing=packing)
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int) or memory_budget < 1:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}")
    return AttributionSession(
        model, inputs, slot[0], targets, rule, refuse_unsupported=refuse_unsupported,
        memory_budget=memory_budget, packing=packing, wrt_kind=slot[1],
        forward_args=forward_args if isinstance(forward_args, tuple) else (forward_args,),
    )  # fmt: skip


def _opaque(session: AttributionSession, method: str, rule_based: bool, strict: bool) -> list[str]:
    """TorchScript modules the rules cannot reach (an error under ``strict``)."""
    opaque = session.opaque_modules() if rule_based else []
    if opaque and strict:
        raise UnsupportedActivationError(
            f"{method} cannot reach the operations inside TorchScript modules {opaque}"
        )
    return opaque


def _report(
    session: AttributionSession,
    method: str,
    rule_based: bool,
    rule: str,
    opaque: list[str],
    warn: bool = True,
) -> AttributionReport:
    """What the call did; warns (when ``warn``) when a rule-based method met activations
    without a rule."""
    report = AttributionReport(
        method=method,
        rule_based=rule_based,
        activations=session.mode.records(rule)
        + [ActivationRecord("TorchScript module", path, PLAIN_GRADIENT, 1) for path in opaque],
        operations={kind: dict(calls) for kind, calls in session.mode.operations.items()},
        forward_passes=session.forward_passes,
        backward_passes=session.backward_passes,
        backward_seeds=session.backward_seeds,
        packing=session.packing,
        convergence_delta=session.convergence_delta,
    )
    if warn and not report.exact:
        unsupported = ", ".join(record.describe() for record in report.unsupported)
        warnings.warn(
            f"{method} has no exact rule for {unsupported}; the plain gradient was passed through "
            "them. Pass strict=True to raise instead.",
            UnsupportedActivationWarning,
            stacklevel=3,
        )
    return report


def _shaped(
    maps: tuple[torch.Tensor, ...], single_input: bool, single_target: bool, per_row: bool
) -> Attribution:
    if per_row:
        result = tuple(_own_rows(m) for m in maps)
    else:
        result = tuple(m[0] if single_target else m for m in maps)
    return result[0] if single_input else result


def _own_rows(maps: torch.Tensor) -> torch.Tensor:
    """Row ``b`` of target ``b``'s map, for each ``b`` (maps of :class:`PerRow` targets)."""
    rows = maps.shape[0]
    if maps.dim() < 2 or maps.shape[1] != rows:
        raise ValueError(
            f"PerRow gave {rows} targets for an input with "
            f"{maps.shape[1] if maps.dim() > 1 else 0} rows; give one index per row"
        )
    return maps[torch.arange(rows), torch.arange(rows)]


def _as_inputs(
    x: Any, wrt: str | None, needs_gradients: bool
) -> tuple[tuple[torch.Tensor, ...], bool]:
    inputs = (x,) if isinstance(x, torch.Tensor) else x
    if (
        not isinstance(inputs, tuple)
        or not inputs
        or not all(isinstance(t, torch.Tensor) for t in inputs)
    ):
        raise TypeError(
            f"x must be a tensor or a non-empty tuple of tensors, got {type(x).__name__}"
        )
    if wrt is None and needs_gradients:
        for position, tensor in enumerate(inputs):
            if not (tensor.is_floating_point() or tensor.is_complex()):
                raise TypeError(
                    f"input {position} has dtype {tensor.dtype} and cannot carry gradients; pass a "
                    "floating-point tensor, or attribute to a layer's input with wrt='module.path' "
                    "(e.g. the layer after an embedding), or use occlusion or feature_ablation"
                )
    # A layer slot is one tensor, whatever the model takes: its map is one tensor too.
    return inputs, isinstance(x, torch.Tensor) or wrt is not None
