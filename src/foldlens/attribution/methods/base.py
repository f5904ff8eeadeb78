"""The interface every attribution method implements, and the pieces they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..forward import Forward, seeds
from ..packing import packed_gradients
from ..report import PackingReport
from ..rule_mode import RuleMode
from ..session import AttributionSession
from ..targets import Target

Maps = tuple[torch.Tensor, ...]
"""One tensor per slot input, each of shape ``(targets, *input.shape)``."""


@dataclass(frozen=True)
class Option:
    """A keyword option of a method: its default and what it means."""

    default: Any
    description: str


class Method(ABC):
    """An attribution method: a name, a one-line summary, options, and how to compute maps."""

    name: ClassVar[str]
    summary: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {}
    needs_gradients: ClassVar[bool] = True
    """False for methods that only run forward passes (they also take integer inputs)."""

    def resolve(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``given``; an unknown name raises a ``TypeError``."""
        unknown = sorted(set(given) - set(self.options))
        if unknown:
            valid = sorted(self.options) or "none"
            raise TypeError(f"{self.name} has no option {', '.join(unknown)}; its options: {valid}")
        resolved = {name: option.default for name, option in self.options.items()}
        resolved.update(given)
        self.check(resolved)
        return resolved

    def check(self, options: dict[str, Any]) -> None:
        """Raise a ``ValueError`` for option values outside their domain."""
        if "batch_size" in options:
            check_positive_int(options, "batch_size", allow_none=True)

    def rule(self, options: dict[str, Any]) -> str:
        """The ReLU rule this method's backward passes apply."""
        return "gradient"

    def rule_based(self, options: dict[str, Any]) -> bool:
        """True when the method changes the backward pass (exact only on ReLU networks)."""
        return self.rule(options) != "gradient"

    @abstractmethod
    def attribute(
        self, session: AttributionSession, targets: list[Target], options: dict[str, Any]
    ) -> Maps:
        """Maps for every target, computed through ``session``."""


def audited_targets(mode: RuleMode, targets: list[Target]) -> list[Target]:
    """``targets`` with each callable one evaluated under ``mode``: for methods whose rules
    must reach the readout too (DeepLIFT, LRP), a nonlinear readout of the output (a softmax)
    is audited and reported like an operation of the model."""

    def under(target: Callable[[Any], torch.Tensor]) -> Callable[[Any], torch.Tensor]:
        def audited(output: Any) -> torch.Tensor:
            with mode:
                return target(output)

        return audited

    return [under(t) if callable(t) else t for t in targets]


def gradients_at(
    session: AttributionSession, fwd: Forward, targets: list[Target]
) -> tuple[Maps, PackingReport | None]:
    """Per-target gradients at one forward pass under the session's rule, packed where possible."""
    seeded = seeds(fwd, targets)
    packed = packed_gradients(session, fwd, seeded) if session.packing_allowed else None
    if packed is not None:
        return packed
    return session.gradients(fwd, seeded), None


def stacked_passes(
    session: AttributionSession, count: int, batch_size: int | None
) -> Iterator[range]:
    """Split ``count`` copies of the slot into chunks for stacked forward passes.

    Without ``batch_size`` the first chunk is a single copy; it measures how many bytes one copy's
    forward pass saves, and the rest are sized to the session's memory budget. A model whose
    stacked copies would mix (:meth:`AttributionSession.copies_independent`) gets one per pass.
    """
    if not session.copies_independent():
        batch_size = 1
    start = 0
    size = batch_size or 1
    while start < count:
        yield range(start, min(start + size, count))
        start += size
        if batch_size is None:
            size = max(1, session.memory_budget // max(session.last_saved_bytes, 1))


def check_bool(options: dict[str, Any], name: str) -> None:
    if not isinstance(options[name], bool):
        raise ValueError(f"{name} must be True or False, got {options[name]!r}")


def check_positive_int(options: dict[str, Any], name: str, allow_none: bool = False) -> None:
    value = options[name]
    if allow_none and value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def broadcast_baseline(
    baseline: Any, z: tuple[torch.Tensor, ...], name: str = "baseline"
) -> tuple[torch.Tensor, ...]:
    """A baseline per slot input: a number, a tensor broadcastable to it, or a tuple of these."""
    values = baseline if isinstance(baseline, tuple) else (baseline,) * len(z)
    if len(values) != len(z):
        raise ValueError(f"{name} has {len(values)} entries for {len(z)} inputs")
    result = []
    for value, zi in zip(values, z, strict=True):
        if isinstance(value, int | float) and not isinstance(value, bool):
            result.append(torch.full_like(zi, float(value)))
        elif isinstance(value, torch.Tensor):
            try:
                result.append(value.to(zi.device, zi.dtype).expand_as(zi).clone())
            except RuntimeError as error:
                raise ValueError(
                    f"{name} of shape {tuple(value.shape)} does not broadcast to the input's "
                    f"shape {tuple(zi.shape)}"
                ) from error
        else:
            raise TypeError(f"{name} must be a number or a tensor, got {type(value).__name__}")
        if not bool(result[-1].isfinite().all()):
            raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return tuple(result)


def weighted_sum_over_copies(
    grads: torch.Tensor, copies: int, weights: torch.Tensor
) -> torch.Tensor:
    """``sum_k w_k g_k`` for gradients of ``copies`` stacked copies, shape ``(T, k*B, ...)``."""
    targets, rows = grads.shape[:2]
    per_copy = grads.reshape(targets, copies, rows // copies, *grads.shape[2:])
    shape = (1, copies) + (1,) * (per_copy.dim() - 2)
    return (per_copy * weights.to(grads.device, grads.dtype).view(shape)).sum(dim=1)


SlotMaker = Callable[[range], tuple[torch.Tensor, ...]]
