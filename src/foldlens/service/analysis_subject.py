"""What an analysis looks at, and the explanation maps it reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..coevolution.couplings import Couplings
from ..models.adapter import Encoded, ModelAdapter
from ..models.spec import ModelSpec
from ..models.views import OutputTarget, UnitTarget
from .explain import Explanation, explain
from .method_options import check_options


@dataclass(frozen=True)
class Subject:
    """What an analysis looks at: the model (network and adapter), the encoded protein and the
    target."""

    model: nn.Module
    adapter: ModelAdapter
    inputs: Encoded
    target: OutputTarget | UnitTarget
    prediction: dict[str, Any] | None
    """The job's prediction (readouts per head), for choosing pair targets."""
    couplings: Callable[[], Couplings | None] | None = None
    """A reader of the couplings the job fitted to its MSA (``None`` when it fitted none)."""

    @property
    def model_spec(self) -> ModelSpec:
        return self.adapter.spec

    @property
    def x(self) -> torch.Tensor:
        """The model input, ``(1, C, L)``."""
        return self.inputs.x

    @property
    def sequence(self) -> str:
        return self.inputs.sequence


Progress = Callable[[float], None]
"""Called with the fraction of an analysis done."""


def map_of(
    subject: Subject, method: str, target: OutputTarget | UnitTarget | None = None
) -> Explanation:
    """``method``'s explanation of the subject's target (or ``target``), default options."""
    return explain(
        subject.model,
        subject.adapter,
        subject.inputs,
        target or subject.target,
        method,
        check_options(method, {}),
    )


def residues_of(target: OutputTarget | UnitTarget) -> list[int]:
    """The target's residue(s), 0-based."""
    return [target.i] if target.j is None else [target.i, target.j]


def input_map(
    subject: Subject, method: str, target: OutputTarget | UnitTarget | None = None
) -> np.ndarray:
    """The attribution to the model input, ``(C, L)``, of :func:`map_of`."""
    attribution = map_of(subject, method, target).attribution
    assert attribution is not None, f"{method} gives no attribution to the input"
    return attribution
