"""Explanation requests: cached answers, background tasks, progress and cancellation.

A request names a finished job, a target and what to compute for it — explanation methods and
their options (attributed to the model input, or to the input of one layer, ``wrt``), one analysis,
or the influence overview of a per-residue head. Each entry has a key, the SHA-256 of its
canonical JSON; finished entries are cached in the job store under it, so a repeated request is
answered at once. Missing ones run as one *task* in a background thread (never in the request
thread), entry after entry; the task reports each entry's state and can be cancelled, and only
whole answers are ever stored. What a task computes depends on its kind
(:mod:`foldlens.service.task_kinds`); queueing, progress, cancellation, the time budget and
storage are the same for every kind.

Identical requests share one task, but not its cancellation: each request that starts or joins a
task gets a *ticket* of its own, and the task stops only when every ticket holder has cancelled.
Another client replaying a request can follow the task, never cancel it for the first.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import logging
import math
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..models import adapter, spec
from ..models.spec import ModelSpec
from ..models.views import OutputTarget, UnitTarget
from ..predict import from_npz
from ..protein.record import Protein
from . import structure_model
from .analyses import check_analysis
from .errors import InvalidInputError, JobNotFoundError, NotReadyError, NotYoursError
from .explain import (
    OVERVIEW_METHODS,
    ExplanationCancelledError,
    check_layer_options,
    check_methods,
    explain_together,
)
from .explain_exports import render_analysis, render_explanation
from .exports import Rendered
from .method_options import check_options, method_catalogue
from .model_cache import ModelCache
from .store import Job, JobStore
from .structure_model import check_foldable
from .targets import check_target, describe, target_json
from .task_kinds import KINDS, Work

log = logging.getLogger(__name__)
MAX_METHODS = 12
WARM_UP_SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNL"
WARM_UP_METHODS = ("gradient", "guided_backprop")
KEPT_TASKS = 256
"""Settled tasks kept for their pollers; older ones are forgotten (their results stay cached)."""
TASK_SECONDS = 900.0
"""Default time budget of one explanation or analysis task (``serve --task-seconds``)."""
TASK_ID_LENGTH = 32


class Budget(threading.Event):
    """A task's cancel flag: set by a cancel, and read as set once the task's time budget is
    spent, so the computation stops at its next pass either way."""

    def __init__(self) -> None:
        super().__init__()
        self.deadline = math.inf

    def start(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    @property
    def spent(self) -> bool:
        return time.monotonic() > self.deadline

    def is_set(self) -> bool:
        return super().is_set() or self.spent


@dataclass
class Task:
    """The methods of one request still to compute, and how far they got."""

    id: str
    job: str
    target: OutputTarget | UnitTarget
    methods: dict[str, dict[str, Any]]
    """Method → checked options."""
    keys: dict[str, str]
    wrt: str | None = None
    """The layer whose input is attributed; ``None``: the model input."""
    kind: str = "explanation"
    """What ``methods`` holds (a key of :data:`~foldlens.service.task_kinds.KINDS`): methods,
    one analysis, or one overview method."""
    states: dict[str, str] = field(default_factory=dict)
    """Method → ``queued``, ``running``, ``done``, ``failed`` or ``cancelled``."""
    messages: dict[str, str] = field(default_factory=dict)
    method_progress: dict[str, float] = field(default_factory=dict)
    """Method → fraction done."""
    cancel: Budget = field(default_factory=Budget)
    tickets: set[str] = field(default_factory=set)
    """The tickets of the requests that want this task; it is cancelled when none is left."""
    finished: threading.Event = field(default_factory=threading.Event)
    version: int = 0
    """Counts the changes of state and progress, so that a client can wait for the next one."""
    changed: threading.Condition = field(default_factory=threading.Condition)
    _waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list
    )
    """Requests waiting in an event loop for the next change (they hold no thread)."""

    def update(
        self,
        method: str,
        state: str | None = None,
        *,
        progress: float | None = None,
        message: str | None = None,
    ) -> None:
        """Record a method's new state, progress or message and wake everyone waiting."""
        with self.changed:
            if state is not None:
                self.states[method] = state
            if progress is not None:
                self.method_progress[method] = progress
            if message is not None:
                self.messages[method] = message
            self.version += 1
            self.changed.notify_all()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_wake, future)

    async def next_change(self, after: int, timeout: float) -> None:
        """Return once ``version`` exceeds ``after`` (or after ``timeout`` seconds), waiting in
        the event loop: a long poll holds no thread of the server's pool."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            future: asyncio.Future[None] = loop.create_future()
            with self.changed:
                if self.version > after:
                    return
                self._waiters.append((loop, future))
            try:
                await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
            except TimeoutError:
                return
            finally:
                with self.changed:
                    if (loop, future) in self._waiters:
                        self._waiters.remove((loop, future))

    async def settled(self, timeout: float) -> None:
        """Return once every method is settled (or after ``timeout`` seconds), in the loop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.status == "running" and loop.time() < deadline:
            await self.next_change(self.version, deadline - loop.time())

    @property
    def progress(self) -> float:
        """Fraction of the task's methods done (finished ones count whole)."""
        finished = {"done", "failed", "cancelled"}
        parts = [
            1.0 if self.states[m] in finished else self.method_progress.get(m, 0.0)
            for m in self.methods
        ]
        return sum(parts) / len(parts)

    @property
    def status(self) -> str:
        states = set(self.states.values())
        if states & {"queued", "running"}:
            return "running"
        if "cancelled" in states:
            return "cancelled"
        return "failed" if "failed" in states else "done"


@dataclass(frozen=True)
class Request:
    """A checked request: the target, its words, and per method its options and cache key."""

    job: Job
    target: OutputTarget | UnitTarget
    description: str
    methods: dict[str, dict[str, Any]]
    keys: dict[str, str]
    wrt: str | None = None
    kind: str = "explanation"


class ExplanationService:
    """Answers explanation requests for the jobs in ``store`` with one background thread."""

    def __init__(
        self, store: JobStore, task_seconds: float = TASK_SECONDS, models: ModelCache | None = None
    ) -> None:
        if isinstance(task_seconds, bool) or not task_seconds > 0:
            raise ValueError(f"the time budget per task must be positive, got {task_seconds!r}")
        self.store = store
        self.task_seconds = task_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="foldlens-explain")
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self.models = models or ModelCache()

    def warm_up(self, model: str = "default") -> None:
        """Load ``model`` and explain a target of a short protein with it in the background, so
        that the first request waits neither for the weights nor for the first pass's one-off
        set-up (0.8 s of the first explanation at 298 residues)."""
        self._executor.submit(self._warm_up, model)

    def _warm_up(self, model: str) -> None:
        """One pair cell and one residue of :data:`WARM_UP_SEQUENCE`, explained (a failure is
        logged: requests then meet it themselves, with its reason)."""
        try:
            found = adapter(model)
            network = self.models.model(model)
            inputs = found.encoded(Protein(WARM_UP_SEQUENCE))
            heads = [head for head in found.spec.heads if not head.source]
            for kind in ("pair", "per-residue"):
                head = next((h for h in heads if h.kind == kind), None)
                if head is not None:
                    target = OutputTarget(head.name, 0, 1 if kind == "pair" else None)
                    explain_together(network, found, inputs, target, list(WARM_UP_METHODS))
        except Exception:
            log.warning("warming up model %s failed", model, exc_info=True)

    def stop(self) -> None:
        self.cancel_all(timeout=0.0)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def cancel_all(self, timeout: float) -> bool:
        """Cancel every task and wait up to ``timeout`` s for the worker to let go of them all;
        whether it did (a cancelled task stops at its next forward pass)."""
        with self._lock:
            tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel.set()
        deadline = time.monotonic() + timeout
        return all(task.finished.wait(max(0.0, deadline - time.monotonic())) for task in tasks)

    def check(
        self, job_id: str, raw_target: Any, methods: Any, options: Any, wrt: Any = None
    ) -> Request:
        """The request checked against the job's model; :class:`InvalidInputError` otherwise."""
        job = self._done(job_id)
        model_spec = spec(job.inputs.model)
        offered = {m.name for m in method_catalogue(model_spec)}
        if (
            not isinstance(methods, list)
            or not methods
            or len(methods) > MAX_METHODS
            or not all(isinstance(m, str) for m in methods)
        ):
            raise InvalidInputError(f"give 1–{MAX_METHODS} methods, from {sorted(offered)}")
        unknown = [m for m in methods if m not in offered]
        if unknown:
            raise InvalidInputError(
                f"unknown method(s) {unknown}; methods for {model_spec.name}: {sorted(offered)}"
            )
        options = options or {}
        if not isinstance(options, dict) or set(options) - set(methods):
            raise InvalidInputError("options must map chosen methods to their options")
        target = check_target(raw_target, model_spec, len(job.inputs.sequence))
        check_methods(target, methods, wrt, model_spec)
        checked = {m: check_options(m, options.get(m) or {}) for m in dict.fromkeys(methods)}
        for method, given in checked.items():
            check_layer_options(method, given, wrt)
        canonical = target_json(target, model_spec)
        layer = {} if wrt is None else {"wrt": wrt}
        keys = {
            m: _digest({"job": job.id, "target": canonical, "method": m, "options": o} | layer)
            for m, o in checked.items()
        }
        words = _described(target, model_spec, job.inputs.sequence, wrt)
        return Request(job, target, words, checked, keys, wrt)

    def check_analysis(self, job_id: str, raw_target: Any, analysis: Any, options: Any) -> Request:
        """An analysis request checked against the job's model, as a one-entry :class:`Request`
        (the analysis in place of the methods)."""
        job = self._done(job_id)
        model_spec = spec(job.inputs.model)
        target = check_target(raw_target, model_spec, len(job.inputs.sequence))
        checked = check_analysis(analysis, options or {}, target)
        canonical = target_json(target, model_spec)
        key = _digest(
            {"job": job.id, "target": canonical, "analysis": analysis, "options": checked}
        )
        words = describe(target, model_spec, job.inputs.sequence)
        return Request(job, target, words, {analysis: checked}, {analysis: key}, kind="analysis")

    def cached(self, request: Request) -> dict[str, dict[str, Any]]:
        """The methods of ``request`` already explained, with their results."""
        return {method: json.loads(text) for method, text in self.stored(request).items()}

    def stored(self, request: Request) -> dict[str, bytes]:
        """The methods of ``request`` already explained, with their results as the JSON text
        that was stored (strict JSON: answers pass it on without parsing it again)."""
        found = {}
        for method, key in request.keys.items():
            blob = self.store.explanation(key)
            if blob is not None:
                found[method] = gzip.decompress(blob)
        return found

    def start(self, request: Request, done: set[str]) -> tuple[Task, str]:
        """The task computing the methods of ``request`` not in ``done`` (an identical running
        task is reused), and this request's ticket to cancel its interest in it."""
        pending = {m: o for m, o in request.methods.items() if m not in done}
        task_id = _digest(sorted(request.keys[m] for m in pending))[:TASK_ID_LENGTH]
        ticket = secrets.token_urlsafe(16)
        with self._lock:
            running = self._tasks.get(task_id)
            if running is not None and running.status == "running" and not running.cancel.is_set():
                running.tickets.add(ticket)
                return running, ticket
            task = Task(
                task_id,
                request.job.id,
                request.target,
                pending,
                {m: request.keys[m] for m in pending},
                request.wrt,
                request.kind,
            )
            task.states = dict.fromkeys(pending, "queued")
            task.tickets.add(ticket)
            self._tasks.pop(task_id, None)  # re-inserted: the newest
            self._tasks[task_id] = task
            self._forget_old_tasks()
        self._executor.submit(self._run, task)
        return task, ticket

    def _forget_old_tasks(self) -> None:
        """Keep at most :data:`KEPT_TASKS` settled tasks (the oldest go; results stay stored)."""
        settled = [key for key, task in self._tasks.items() if task.finished.is_set()]
        for key in settled[: max(0, len(settled) - KEPT_TASKS)]:
            del self._tasks[key]

    def task(self, task_id: str) -> Task:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None:
            raise JobNotFoundError(f"no explanation task {task_id[:80]!r}")
        return task

    def cancel_job(self, job_id: str) -> None:
        """Cancel every task of a job that was deleted (tickets do not matter any more)."""
        with self._lock:
            for task in self._tasks.values():
                if task.job == job_id:
                    task.cancel.set()

    def cancel(self, task_id: str, ticket: str | None) -> Task:
        """Withdraw the interest of the request holding ``ticket``; the task is cancelled when
        no request wants it any more."""
        task = self.task(task_id)
        with self._lock:
            if ticket not in task.tickets:
                raise NotYoursError(
                    "this task can only be cancelled with the ticket in its cancel link, given to "
                    "the request that started or joined it"
                )
            task.tickets.discard(ticket)
            if not task.tickets:
                task.cancel.set()
        return task

    def result(self, task_id: str, method: str) -> dict[str, Any]:
        return dict(json.loads(gzip.decompress(self.compressed_result(task_id, method))))

    def compressed_result(self, task_id: str, method: str) -> bytes:
        """One finished entry of a task as stored: gzip-compressed JSON."""
        task = self.task(task_id)
        if method not in task.keys:
            raise JobNotFoundError(f"task {task_id} has no method {method!r}")
        blob = self.store.explanation(task.keys[method])
        if blob is None:
            raise NotReadyError(f"{method} is {task.states[method]}")
        return blob

    def export(
        self, key: str, what: str, file_format: str | None, submission: str | None = None
    ) -> Rendered:
        """One download of the cached explanation ``key``, named as ``submission`` named the job
        (else by the job's shared name)."""
        record = self.store.explanation_record(key) if len(key) == 64 else None
        if record is None:
            raise JobNotFoundError(f"no explanation {key[:80]!r}")
        job_id, request_json, blob = record
        job = self.store.get(job_id)
        name = (
            job.inputs.name
            if submission is None
            else self.store.submission(job_id, submission).name
        )
        request = json.loads(request_json)
        if "overview" in request:
            raise JobNotFoundError(f"no explanation {key[:80]!r}")  # an overview has no files
        model_spec = spec(job.inputs.model)
        target = check_target(request["target"], model_spec, len(job.inputs.sequence))
        if "analysis" in request:
            words = describe(target, model_spec, job.inputs.sequence)
            return render_analysis(
                json.loads(gzip.decompress(blob)), name, words, what, file_format
            )
        return render_explanation(
            json.loads(gzip.decompress(blob)),
            name=name,
            sequence=job.inputs.sequence,
            description=_described(target, model_spec, job.inputs.sequence, request.get("wrt")),
            structure=job.inputs.backbone(),
            what=what,
            file_format=file_format,
            model_pdb=self._built_model_pdb(job.id) if what == "pymol" else None,
        )

    def _built_model_pdb(self, job_id: str) -> str | None:
        """The PDB text of the job's 3D model if it has been built, else ``None``."""
        try:
            built = self.cached(self.structure_model(job_id))
        except InvalidInputError:  # a model without distograms has no 3D model
            return None
        return next((answer["pdb"] for answer in built.values()), None)

    def overview(self, job_id: str, head: str, class_name: str | None, method: str) -> Request:
        """The influence matrix of a per-residue head of a finished job, as a one-entry request
        (``{"matrix": rows, "seconds": s}`` once done); an :class:`InvalidInputError` at once for
        a bad request."""
        job = self._done(job_id)
        model_spec = spec(job.inputs.model)
        kinds = {h.name: h.kind for h in model_spec.heads if not h.source}
        if kinds.get(head) != "per-residue":
            per_residue = [name for name, kind in kinds.items() if kind == "per-residue"]
            raise InvalidInputError(
                f"the overview is for per-residue heads {per_residue}, not {head!r}"
            )
        if method not in OVERVIEW_METHODS:
            raise InvalidInputError(
                f"the overview takes one of {list(OVERVIEW_METHODS)}, not {method!r}"
            )
        raw = {"head": head, "i": 0} | ({"class": class_name} if class_name else {})
        target = check_target(raw, model_spec, len(job.inputs.sequence))
        assert isinstance(target, OutputTarget)
        request = KINDS["overview"].stored_request(
            target, adapter(job.inputs.model), method, {}, None
        )
        key = _digest({"job": job.id, **request})
        words = f"overview of {describe(target, model_spec, job.inputs.sequence)}"
        return Request(job, target, words, {method: {}}, {method: key}, kind="overview")

    def structure_model(self, job_id: str) -> Request:
        """The 3D model of a finished job, as a one-entry request
        (:mod:`foldlens.service.structure_model`); an :class:`InvalidInputError` for a model
        without distograms."""
        job = self._done(job_id)
        check_foldable(adapter(job.inputs.model))
        entry, key = structure_model.ENTRY, structure_model.cache_key(job.id)
        return Request(
            job, structure_model.stand_in_target(), "the 3D model", {entry: {}}, {entry: key},
            kind="structure model",
        )  # fmt: skip

    def _done(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job.status != "done":
            raise NotReadyError(f"job {job_id} is {job.status}; explain it once it is done")
        return job

    def _run(self, task: Task) -> None:
        task.cancel.start(self.task_seconds)
        try:
            job = self.store.get(task.job)
            for group in KINDS[task.kind].groups(task.methods):
                self._run_group(task, job, group)
        finally:
            task.finished.set()

    def _run_group(self, task: Task, job: Job, entries: list[str]) -> None:
        """Compute ``entries`` (several only when their kind runs them together) and store each
        as soon as it is done; a failure or a cancel settles those not done and stores nothing
        half-done."""
        if task.cancel.is_set():
            self._stopped(task, entries)
            return
        for entry in entries:
            task.update(entry, "running")
        try:
            KINDS[task.kind].compute(
                self._work(task, job),
                {entry: task.methods[entry] for entry in entries},
                lambda entry, fraction: task.update(entry, progress=fraction),
                lambda entry, answer: self._save(task, job, entry, answer),
            )
        except ExplanationCancelledError:
            self._stopped(task, entries)
        except (InvalidInputError, ValueError, TypeError) as error:
            _settle(task, entries, "failed", str(error))
        except Exception as error:
            log.exception("%s %s of job %s failed", task.kind, entries, task.job)
            _settle(task, entries, "failed", f"internal error ({type(error).__name__})")

    def _work(self, task: Task, job: Job) -> Work:
        def prediction() -> dict[str, Any] | None:
            result = self.store.result(job.id)
            return None if result is None else from_npz(result.predictions)

        return Work(
            self.models.model(job.inputs.model),
            adapter(job.inputs.model),
            self.models.inputs(job),
            task.target,
            task.wrt,
            prediction,
            task.cancel,
            lambda: self.models.couplings(self.store.get(job.id)),
        )

    def _stopped(self, task: Task, entries: list[str]) -> None:
        """Settle entries stopped by a cancel, or failed by the time budget."""
        if task.cancel.spent and not threading.Event.is_set(task.cancel):
            _settle(task, entries, "failed", (
                f"stopped after {self.task_seconds:g} s, this server's budget per explanation "
                "task; ask for fewer steps or samples, or a smaller window"
            ))  # fmt: skip
        else:
            _settle(task, entries, "cancelled")

    def _save(self, task: Task, job: Job, entry: str, answer: dict[str, Any]) -> None:
        """Store one finished entry (whole, in one transaction) with the request it answers."""
        request = KINDS[task.kind].stored_request(
            task.target, adapter(job.inputs.model), entry, task.methods[entry], task.wrt
        )
        document = {"key": task.keys[entry], **answer}
        blob = gzip.compress(json.dumps(document, allow_nan=False).encode(), 5)
        self.store.save_explanation(task.keys[entry], task.job, entry, json.dumps(request), blob)
        task.update(entry, "done", progress=1.0)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _settle(task: Task, methods: list[str], state: str, message: str | None = None) -> None:
    """Mark the methods not yet done (stored) as ``state``."""
    for method in methods:
        if task.states.get(method) != "done":
            task.update(method, state, message=message)


def _described(
    target: OutputTarget | UnitTarget, model_spec: ModelSpec, sequence: str, wrt: str | None
) -> str:
    words = describe(target, model_spec, sequence)
    return words if wrt is None else f"{words}, attributed to the input of layer {wrt}"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
