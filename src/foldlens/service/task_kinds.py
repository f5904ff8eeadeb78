"""What the explanation service's tasks compute, one kind per task type.

A task (:class:`~foldlens.service.explanations.Task`) holds *entries* — explanation methods, one
analysis, or one overview method — each with its options and cache key. The runner
(:class:`~foldlens.service.explanations.ExplanationService`) is the same for every kind: it
queues the task, runs its entries group by group, tracks states, progress, cancellation and the
time budget, and stores each finished entry whole. A kind says only

- which entries run together (:meth:`TaskKind.groups`),
- how a group is computed (:meth:`TaskKind.compute`: JSON answers, handed to ``ready`` as soon as
  each is done), and
- what request is stored beside each answer (:meth:`TaskKind.stored_request`), which is also how
  an export later knows what it is reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from ..attribution.api import SHARED_FORWARD
from ..coevolution.couplings import Couplings
from ..models.adapter import Encoded, ModelAdapter
from ..models.views import OutputTarget, UnitTarget
from . import structure_model
from .analyses import needs_prediction, run_analysis
from .analysis_subject import Subject
from .explain import (
    Explanation,
    ExplanationCancelledError,
    explain,
    explain_together,
    influence_matrix,
)
from .targets import target_json

Progress = Callable[[str, float], None]
"""Called with an entry and the fraction of it done."""
Ready = Callable[[str, dict[str, Any]], None]
"""Called with an entry and its JSON answer as soon as it is done (the runner stores it)."""


@dataclass(frozen=True)
class Work:
    """What a task computes on: the network and its adapter, the job's encoded protein, the
    target, attributed to the model input or the input of layer ``wrt``, a reader of the job's
    prediction (for analyses that pick targets from it; called only then) and the cancel flag."""

    model: nn.Module
    adapter: ModelAdapter
    inputs: Encoded
    target: OutputTarget | UnitTarget
    wrt: str | None
    prediction: Callable[[], dict[str, Any] | None]
    cancel: threading.Event
    couplings: Callable[[], Couplings | None] | None = None
    """A reader of the couplings the job fitted to its MSA."""


class TaskKind:
    """One type of task: see the module docstring."""

    name: str

    def groups(self, entries: dict[str, dict[str, Any]]) -> list[list[str]]:
        """The entries in the groups they run in (by default one by one)."""
        return [[entry] for entry in entries]

    def compute(
        self,
        work: Work,
        entries: dict[str, dict[str, Any]],
        progress: Progress,
        ready: Ready,
    ) -> None:
        """Compute the entries of one group (name → options), handing each answer to ``ready``;
        raise :class:`~foldlens.service.explain.ExplanationCancelledError` when cancelled."""
        raise NotImplementedError

    def stored_request(
        self, work_target: OutputTarget | UnitTarget, adapter: ModelAdapter, entry: str,
        options: dict[str, Any], wrt: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        """The request stored beside an entry's answer."""
        raise NotImplementedError


class Explanations(TaskKind):
    """Attribution methods side by side; the gradient family without options shares one
    forward pass of the target's view (:func:`~foldlens.service.explain.explain_together`)."""

    name = "explanation"

    def groups(self, entries: dict[str, dict[str, Any]]) -> list[list[str]]:
        together = [m for m in entries if m in SHARED_FORWARD and not entries[m]]
        groups = [together] if len(together) > 1 else []
        return groups + [[m] for m in entries if not any(m in group for group in groups)]

    def compute(
        self, work: Work, entries: dict[str, dict[str, Any]], progress: Progress, ready: Ready
    ) -> None:
        sequence = work.inputs.sequence

        def done(answer: Explanation) -> None:
            ready(answer.method, answer.to_json(sequence))

        if len(entries) > 1:
            explain_together(
                work.model, work.adapter, work.inputs, work.target, list(entries), work.wrt, done
            )
            return
        ((method, options),) = entries.items()
        done(
            explain(
                work.model, work.adapter, work.inputs, work.target, method, options, work.cancel,
                lambda fraction: progress(method, fraction), work.wrt,
            )
        )  # fmt: skip

    def stored_request(
        self, work_target: OutputTarget | UnitTarget, adapter: ModelAdapter, entry: str,
        options: dict[str, Any], wrt: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        request = {"target": target_json(work_target, adapter.spec), "method": entry}
        return request | {"options": options} | ({} if wrt is None else {"wrt": wrt})


class Analyses(TaskKind):
    """One analysis of the target's maps (:mod:`foldlens.service.analyses`)."""

    name = "analysis"

    def compute(
        self, work: Work, entries: dict[str, dict[str, Any]], progress: Progress, ready: Ready
    ) -> None:
        ((name, options),) = entries.items()
        prediction = work.prediction() if needs_prediction(name, work.target) else None
        subject = Subject(
            work.model, work.adapter, work.inputs, work.target, prediction, work.couplings
        )
        result = run_analysis(
            name, subject, options, work.cancel, lambda fraction: progress(name, fraction)
        )
        ready(name, result)

    def stored_request(
        self, work_target: OutputTarget | UnitTarget, adapter: ModelAdapter, entry: str,
        options: dict[str, Any], wrt: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        target = target_json(work_target, adapter.spec)
        return {"target": target, "analysis": entry, "options": options}


class Overviews(TaskKind):
    """The influence matrix of a per-residue head: every residue's output attributed to every
    input residue, all rows batched (:func:`~foldlens.service.explain.influence_matrix`). The
    target names the head and class (its residue is unused)."""

    name = "overview"

    def compute(
        self, work: Work, entries: dict[str, dict[str, Any]], progress: Progress, ready: Ready
    ) -> None:
        (method,) = entries
        assert isinstance(work.target, OutputTarget)
        start = time.perf_counter()
        target = work.target
        matrix = influence_matrix(
            work.model, work.adapter, work.inputs.x, target.head, target.index, method, work.cancel
        )
        ready(
            method,
            {
                "matrix": np.round(matrix.astype(np.float64), 6).tolist(),
                "seconds": round(time.perf_counter() - start, 4),
            },
        )

    def stored_request(
        self, work_target: OutputTarget | UnitTarget, adapter: ModelAdapter, entry: str,
        options: dict[str, Any], wrt: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        assert isinstance(work_target, OutputTarget)
        head = adapter.spec.head(work_target.head)
        class_name = head.classes[work_target.index] if head.classes else None
        return {"overview": work_target.head, "class": class_name, "method": entry}


class StructureModels(TaskKind):
    """The job's 3D model, folded from its distograms (:mod:`foldlens.service.structure_model`);
    the target is a stand-in (:func:`~foldlens.service.structure_model.stand_in_target`)."""

    name = "structure model"

    def compute(
        self, work: Work, entries: dict[str, dict[str, Any]], progress: Progress, ready: Ready
    ) -> None:
        def step(done: int, total: int) -> None:
            if work.cancel.is_set():
                raise ExplanationCancelledError
            progress(structure_model.ENTRY, done / total)

        answer = structure_model.structure_model(
            work.model, work.adapter, work.inputs.protein, step
        )
        ready(structure_model.ENTRY, answer)

    def stored_request(
        self, work_target: OutputTarget | UnitTarget, adapter: ModelAdapter, entry: str,
        options: dict[str, Any], wrt: str | None,
    ) -> dict[str, Any]:  # fmt: skip
        return {"structure model": entry, "settings": vars(structure_model.SETTINGS)}


KINDS: dict[str, TaskKind] = {
    kind.name: kind for kind in (Explanations(), Analyses(), Overviews(), StructureModels())
}
