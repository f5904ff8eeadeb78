"""Route every activation call of a forward pass to its rule, and record what each call got.

:class:`RuleMode` is a :class:`torch.overrides.TorchFunctionMode`: while it is active, every torch
function call on this thread passes through :meth:`RuleMode.__torch_function__`. ReLU calls, however
they are spelled, become :class:`~foldlens.attribution.rules.RuleReLU` calls; calls to activations
without an exact rule are recorded (and, under ``strict``, refused). Torch function modes live on a
per-thread stack, so two threads explaining at once never see each other's rules, and nothing is
attached to the user's model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from .activations import as_relu, is_activation, lacks_exact_rule
from .errors import UnsupportedActivationError
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

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Sequence[type],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        args = tuple(args)
        name = getattr(func, "__name__", "")
        if not is_activation(name) or not torch.is_grad_enabled() or not self._on_graph(args):
            return func(*args, **kwargs)
        relu = as_relu(name, args, kwargs)
        if relu is not None:
            self._relu_calls[name, self._where()] += 1
            rule_relu = RuleReLUInplace if relu.inplace else RuleReLU
            return rule_relu.apply(args[0], self.switch, relu.at_zero)  # type: ignore[no-untyped-call]
        if lacks_exact_rule(name):
            where = self._where()
            if self._refuse_unsupported:
                raise UnsupportedActivationError(
                    f"{self.switch.rule} has no exact rule for {name} at {where or '<model>'}; "
                    "call without strict=True to pass the plain gradient through it"
                )
            self._unsupported_calls[name, where] += 1
        return func(*args, **kwargs)

    def _on_graph(self, args: tuple[Any, ...]) -> bool:
        for arg in args:
            if isinstance(arg, torch.Tensor) and self._depends_on_input(arg):
                return True
            if isinstance(arg, list | tuple) and self._on_graph(tuple(arg)):
                return True
        return False

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
        return relus + others
