"""Route every ReLU call of a forward pass to its rule, and audit every other op on the way.

:class:`RuleMode` is a :class:`torch.overrides.TorchFunctionMode`: while it is active, every torch
function call on this thread passes through :meth:`RuleMode.__torch_function__`. ReLU calls, however
they are spelled, become :class:`~foldlens.attribution.rules.RuleReLU` calls; every other call on
the input's path is sorted by :mod:`foldlens.attribution.activations` (linear, product, or
nonlinear: recorded, and refused under ``strict``). A tensor on the input's path that no audited
call produced (TorchScript, a custom ``autograd.Function``, torch functions disabled) is recorded
as nonlinear too: the rules could not reach what computed it. Torch function modes live on a
per-thread stack, so two threads explaining at once never see each other's rules, and nothing is
attached to the user's model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from .activations import (
    LINEAR,
    NONLINEAR,
    PRODUCT,
    SELECTION_OPS,
    SOFTMAX_OPS,
    as_elementwise,
    as_relu,
    bilinear_operands,
    classify,
    describe,
    op_name,
    quotient_call,
    softmax_call,
)
from .errors import UnsupportedActivationError
from .forward import tensors_in
from .lrp_mode import LrpPass
from .reference import ReferenceTape
from .report import PLAIN_GRADIENT, ActivationRecord
from .rules import RuleReLU, RuleReLUInplace, RuleSwitch


class RuleMode(TorchFunctionMode):
    """Apply ``switch``'s rule to the ReLUs of a forward pass.

    Parameters
    ----------
    switch
        The rule the ReLUs apply when a backward pass runs through them.
    where
        Returns the dotted path of the module currently running (for the report).
    depends_on_input
        True for tensors downstream of the attributed input; only those calls get rules.
    refuse_unsupported
        Raise :class:`UnsupportedActivationError` at the first activation without an exact rule.
    """

    def __init__(
        self,
        switch: RuleSwitch,
        where: Callable[[], str],
        depends_on_input: Callable[[torch.Tensor], bool],
        refuse_unsupported: bool,
    ) -> None:
        super().__init__()
        self.switch = switch
        self._where = where
        self._depends_on_input = depends_on_input
        self._refuse_unsupported = refuse_unsupported
        self._relu_calls: Counter[tuple[str, str]] = Counter()
        self._unsupported_calls: Counter[tuple[str, str]] = Counter()
        self.operations: dict[str, Counter[str]] = {LINEAR: Counter(), PRODUCT: Counter()}
        """Calls of linear ops and of products on the input's path, by name."""
        self._audited: WeakIdKeyDictionary = WeakIdKeyDictionary()
        """Tensors with a gradient history that an audited call produced: True when computed
        from the input's path, False from parameters alone."""
        self.lrp: LrpPass | None = None
        """LRP's rules for layer calls, batch norm and products (:mod:`.lrp_mode`), while set."""
        self.layer_rules: Counter[tuple[str, str, str]] = Counter()
        """Layer calls that got an LRP rule, by (function, module path, rule)."""
        self.reference: ReferenceTape | None = None
        """DeepLIFT's reference values (:mod:`.reference`): while set, ReLUs and other
        elementwise functions get the Rescale rule, softmax and products of two computed tensors
        their exact rules, and selections (max, sort, pooling by maximum), exact for the gradient
        but not for differences, count as unsupported."""

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Sequence[type],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        args = tuple(args)
        if not torch.is_grad_enabled():
            return func(*args, **kwargs)
        if not self._on_graph((*args, *kwargs.values())):
            # e.g. from parameters alone
            return self._produced(func(*args, **kwargs), from_input=False)
        name = op_name(func)
        if self.lrp is not None:
            ruled = self.lrp.handle(name, func, args, kwargs, self._where, self._from_input)
            if ruled is not NotImplemented:
                return self._produced(ruled)
        relu = as_relu(name, args, kwargs, self._depends_on_input)
        if relu is not None:
            self._relu_calls[name, self._where()] += 1
            if self.reference is not None:
                compute = lambda: func(*args, **kwargs)  # noqa: E731
                return self._produced(self.reference.relu(args[0], relu.inplace, compute))
            rule_relu = RuleReLUInplace if relu.inplace else RuleReLU
            result = rule_relu.apply(args[0], self.switch, relu.at_zero)  # type: ignore[no-untyped-call]
            return self._produced(result)
        if self.reference is not None:
            ruled = self._reference_rule(name, func, args, kwargs)
            if ruled is not None:
                self._relu_calls[name, self._where()] += 1
                return self._produced(ruled())
        kind = classify(name, args, kwargs, self._depends_on_input)
        if self.reference is not None:
            if kind == PRODUCT:
                operands = bilinear_operands(name, args, kwargs, self._depends_on_input)
                if operands is not None:
                    self.operations[kind][name] += 1
                    result = self.reference.product(func, args, kwargs, operands)
                    return self._produced(result)
                kind = NONLINEAR
            elif kind == LINEAR and name in SELECTION_OPS:
                kind = NONLINEAR
        if kind == NONLINEAR:
            self.unsupported(describe(name))
        elif kind is not None:
            self.operations[kind][name] += 1
        return self._produced(func(*args, **kwargs))

    def _reference_rule(
        self, name: str, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Callable[[], Any] | None:
        """DeepLIFT's rule for an elementwise function or a softmax (as a call to make), or
        ``None`` for other calls."""
        tape = self.reference
        assert tape is not None
        compute = lambda: func(*args, **kwargs)  # noqa: E731
        elementwise = as_elementwise(name, args, kwargs, self._depends_on_input)
        if elementwise is not None:
            g = lambda t: func(t, *args[1:], **kwargs)  # noqa: E731
            return lambda: tape.elementwise(args[0], g, elementwise, compute)
        quotient = quotient_call(name, args, kwargs, self._depends_on_input)
        if quotient is not None:
            return lambda: tape.quotient(*quotient, compute)
        dim = softmax_call(name, args, kwargs)
        if dim is not None and self._depends_on_input(args[0]):
            return lambda: tape.softmax(args[0], dim, SOFTMAX_OPS[name], compute)
        return None

    def forget_calls(self) -> None:
        """Start the report's counts of calls afresh (after DeepLIFT's reference pass, so that
        they count the input's pass)."""
        self._relu_calls.clear()
        self._unsupported_calls.clear()
        self.layer_rules.clear()
        for calls in self.operations.values():
            calls.clear()

    def _produced(self, result: Any, from_input: bool = True) -> Any:
        for tensor in tensors_in(result):
            if tensor.grad_fn is not None:
                self._audited[tensor] = from_input
        return result

    def _from_input(self, tensor: Any) -> bool:
        """Whether ``tensor`` is the slot or computed from it (not from parameters alone, as
        ``W.T``, which has a gradient history too)."""
        if not isinstance(tensor, torch.Tensor):
            return False
        if tensor.grad_fn is None:
            return self._depends_on_input(tensor)
        return tensor not in self._audited or bool(self._audited[tensor])

    def unsupported(self, what: str) -> None:
        """Record ``what`` as a call without an exact rule (raise under ``strict``)."""
        where = self._where()
        if self._refuse_unsupported:
            raise UnsupportedActivationError(
                f"{self.switch.rule} has no exact rule for {what} at {where or '<model>'}; "
                "call without strict=True to pass the plain gradient through it"
            )
        self._unsupported_calls[what, where] += 1

    def _on_graph(self, args: tuple[Any, ...]) -> bool:
        """Whether an argument is on the input's path; one with a gradient history that no
        audited call produced is recorded as computed out of sight."""
        found = False
        for tensor in tensors_in(list(args)):
            if not self._depends_on_input(tensor):
                continue
            found = True
            if tensor.grad_fn is not None and tensor not in self._audited:
                self._audited[tensor] = True  # name it once
                self.unsupported(
                    f"{type(tensor.grad_fn).__name__} (computed out of the audit's sight: "
                    "TorchScript, a custom autograd.Function or torch functions disabled)"
                )
        return found

    def records(self, rule: str) -> list[ActivationRecord]:
        """What the activation calls seen so far got when ``rule`` is applied."""
        relus = [
            ActivationRecord(name, where, rule, calls)
            for (name, where), calls in self._relu_calls.items()
        ]
        others = [
            ActivationRecord(name, where, PLAIN_GRADIENT if rule != "gradient" else rule, calls)
            for (name, where), calls in self._unsupported_calls.items()
        ]
        layers = [
            ActivationRecord(name, where, layer_rule, calls)
            for (name, where, layer_rule), calls in self.layer_rules.items()
        ]
        return relus + layers + others
