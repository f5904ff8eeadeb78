"""LRP inside the rule mode: each linear layer call gets its composite's rule, wherever it is
called from (a module, ``F.conv1d``, ``torch.matmul`` with a parameter).

While the rule mode carries an :class:`LrpPass`, it hands it every call on the input's path
first. The pass

- gives a **layer call** (convolution, ``linear``, a matrix product of a computed tensor and a
  constant one) its rule (:func:`foldlens.attribution.lrp_rules.ruled`), the first-layer rule
  when the call reads the input (through views, indexing, padding only);
- **merges eval-mode batch norm** into the layer before it (Zennit's canonizer): the rule sees
  ``W' = W·γ/σ``, ``b' = (b − μ)·γ/σ + β``, so ``z⁺`` and ``γ`` weigh the layer the data
  passes through; its value is the batch norm's, up to rounding;
- splits a **product of two computed tensors** ``B(a, b)`` half and half (``a`` passes back
  ``½ B(·, b)ᵀ s``, ``b`` likewise): ``R_a + R_b = R`` by Euler's theorem for the bilinear ``B``;
- leaves the rest to the audit: sums and residual additions get LRP's z-rule by the gradient of
  ``s = R/z`` (:mod:`foldlens.attribution.lrp_rules`), smooth functions have no rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.weak import WeakIdKeyDictionary

from .activations import BILINEAR_OPS, QUERIES, bilinear_operands, flat_call, name_set
from .lrp_composites import FAMILIES, Composite
from .lrp_rules import Layer, Rule, ruled

LAYER_CALLS = FAMILIES["convolution"] | FAMILIES["dense"]

DATA_MOVEMENT = name_set(
    """
    view view_as reshape reshape_as _unsafe_view flatten unflatten permute transpose t movedim
    moveaxis swapaxes swapdims squeeze unsqueeze expand expand_as broadcast_to contiguous clone
    detach alias to _to_copy type_as float double half bfloat16 select slice narrow __getitem__
    index_select gather take take_along_dim cat concat concatenate stack split chunk unbind
    tensor_split roll flip repeat tile pad constant_pad_nd
    """
)
"""Ops that copy or move the input's values without mixing them: relevance is the same there."""


class LayerCall:
    """A call ``f(x, W, b)`` linear in the computed tensor ``x`` with a constant weight ``W``."""

    def __init__(
        self,
        f: Layer,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        out_channels_first: bool,
    ) -> None:
        self.f, self.x, self.weight, self.bias = f, x, weight, bias
        self.out_channels_first = out_channels_first
        """Whether ``W``'s first axis is the output channels (convolutions, ``linear``): such a
        layer can take in a batch norm after it."""


def as_layer(
    name: str,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    on_graph: Callable[[Any], bool],
) -> LayerCall | None:
    """The call as a layer, or ``None`` when it is not one (or its weight is computed)."""
    if name not in LAYER_CALLS:
        return None
    if name in FAMILIES["dense"] and name != "linear":
        if len(args) != 2 or kwargs or not all(isinstance(a, torch.Tensor) for a in args):
            return None
        computed = [on_graph(a) for a in args]
        if computed == [True, False]:
            return LayerCall(lambda x, w, b: func(x, w), args[0], args[1], None, False)
        if computed == [False, True]:
            return LayerCall(lambda x, w, b: func(w, x), args[1], args[0], None, False)
        return None
    rest = dict(kwargs)
    x = args[0] if args else rest.pop("input")
    weight = args[1] if len(args) > 1 else rest.pop("weight", None)
    bias = args[2] if len(args) > 2 else rest.pop("bias", None)
    tail = args[3:]
    if not isinstance(weight, torch.Tensor) or on_graph(weight):
        return None
    if isinstance(bias, torch.Tensor) and on_graph(bias):
        return None

    def f(x_: torch.Tensor, w_: torch.Tensor, b_: torch.Tensor | None) -> torch.Tensor:
        return func(x_, w_, b_, *tail, **rest)  # type: ignore[no-any-return]

    transposed = name.startswith("conv_transpose") or (name == "convolution" and bool(tail[3:4]))
    return LayerCall(f, x, weight, bias, out_channels_first=not transposed)


class LrpPass:
    """The LRP rules of one forward pass (see the module docstring).

    ``module_type`` gives the class name of the module at a path; ``unsupported`` records (or,
    under ``strict``, raises for) what has no rule.
    """

    def __init__(
        self,
        composite: Composite,
        module_type: Callable[[str], str],
        unsupported: Callable[[str], None],
        rules: Counter[tuple[str, str, str]],
    ) -> None:
        self.composite = composite
        self._module_type = module_type
        self._unsupported = unsupported
        self._from_input: WeakIdKeyDictionary = WeakIdKeyDictionary()
        """Tensors that are the input or copies of it (views, indexing, padding)."""
        self._layer_outputs: WeakIdKeyDictionary = WeakIdKeyDictionary()
        """Outputs of layer calls, with the call and its rule (for merging batch norm)."""
        self.rules = rules
        """Layer calls by (function, module path, rule), counted for the report."""

    @property
    def relevance_at_input(self) -> bool:
        """Whether the map is the backward pass's result as it is (a first-layer rule gives
        relevance), rather than ``z ⊙ s``."""
        return self.composite.first is not None

    def handle(
        self,
        name: str,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        where: Callable[[], str],
        on_graph: Callable[[Any], bool],
    ) -> Any:
        """The call's result under the rules, or ``NotImplemented`` when it needs none here;
        ``where()`` is the path of the module making the call."""
        if name in QUERIES:
            return NotImplemented
        reads_input = [
            t
            for t in (*args, *kwargs.values())
            if isinstance(t, torch.Tensor) and self._reads_input(t, on_graph)
        ]
        layer = as_layer(name, func, args, kwargs, on_graph)
        if layer is not None:
            first = any(t is layer.x for t in reads_input)
            return self._layer(name, layer, where(), first, func(*args, **kwargs))
        if reads_input:
            if name in DATA_MOVEMENT:
                result = func(*args, **kwargs)
                for tensor in _tensors(result):
                    self._from_input[tensor] = True
                return result
            if self.composite.first is not None:
                self._unsupported(
                    f"{name} (reads the input before any layer, so the first-layer rule "
                    f"{self.composite.first.describe()} cannot give its relevance)"
                )
        if name == "batch_norm":
            return self._merged_batch_norm(args, kwargs, where(), func)
        operands = bilinear_operands(name, args, kwargs, on_graph) if name in BILINEAR_OPS else None
        if operands is not None:
            return _halved_product(func, args, kwargs, operands)
        return NotImplemented

    def _reads_input(self, tensor: torch.Tensor, on_graph: Callable[[Any], bool]) -> bool:
        if tensor in self._from_input:
            return True
        if tensor.grad_fn is None and on_graph(tensor):  # a leaf on the input's path: the slot
            self._from_input[tensor] = True
            return True
        return False

    def _layer(
        self, name: str, layer: LayerCall, where: str, first: bool, value: torch.Tensor
    ) -> torch.Tensor:
        rule = self.composite.rule_for(name, where, self._module_type(where), first)
        if rule is None:
            self._unsupported(f"{name} (no rule in the composite {self.composite.name}: LRP-0)")
            return value
        return self._apply(name, layer, where, rule, first, value)

    def _apply(
        self, name: str, layer: LayerCall, where: str, rule: Rule, first: bool, value: torch.Tensor
    ) -> torch.Tensor:
        self.rules[name, where, rule.describe()] += 1
        relevance = first and self.relevance_at_input
        out = ruled(layer.f, layer.x, layer.weight, layer.bias, value, rule, relevance)
        if layer.out_channels_first:
            self._layer_outputs[out] = (name, where, layer, rule, first)
        return out

    def _merged_batch_norm(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], where: str, func: Callable[..., Any]
    ) -> Any:
        """Batch norm in eval mode right after a layer call: that layer, merged."""
        names = ("input", "running_mean", "running_var", "weight", "bias", "training")
        given = dict(zip(names, args, strict=False)) | kwargs
        source = given.get("input")
        if source not in self._layer_outputs or given.get("training"):
            return NotImplemented
        if given.get("running_mean") is None:
            return NotImplemented
        name, layer_where, layer, rule, first = self._layer_outputs[source]
        eps = float(given.get("eps", args[7] if len(args) > 7 else 1e-5))
        scale = (given["running_var"] + eps).rsqrt()
        if given.get("weight") is not None:
            scale = scale * given["weight"]
        shift = -given["running_mean"] * scale
        if given.get("bias") is not None:
            shift = shift + given["bias"]
        weight = layer.weight * scale.view(-1, *[1] * (layer.weight.dim() - 1))
        bias = shift if layer.bias is None else layer.bias * scale + shift
        merged = LayerCall(layer.f, layer.x, weight, bias, True)
        value = func(*args, **kwargs)
        self.rules[name, layer_where, rule.describe()] -= 1
        self.rules[name, layer_where, f"{rule.describe()}, batch norm {where} merged in"] += 1
        self.rules += Counter()  # drop the layer's own entry once every call of it merged
        relevance = first and self.relevance_at_input
        return ruled(merged.f, merged.x, merged.weight, merged.bias, value, rule, relevance)


def _halved_product(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], operands: list[int]
) -> Any:
    """``B(a, b)`` whose backward pass sends each factor half of its gradient."""
    flat, call = flat_call(func, args, kwargs)
    value = call(flat).detach()
    for live in operands:
        values = [v.detach() if k in operands and k != live else v for k, v in enumerate(flat)]
        term = call(values) / 2
        value = value + (term - term.detach())
    return value


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _tensors(item)]
    return []
