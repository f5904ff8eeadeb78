"""The job service: submit inputs, run them in one background worker, read statuses and results.

Requests never compute: :meth:`JobService.submit` stores the job and queues its id, and the worker
thread runs the network. On start, jobs left ``running`` by a server that died are queued again (or
failed after :data:`~foldlens.service.store.MAX_ATTEMPTS` starts), so no job stays running forever.
An orderly stop (SIGTERM) interrupts the running job at its next layer and queues it again without
counting the start, so restarts never fail a job. The same check after every layer stops a job
that went over its time budget, or that every submitter deleted.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from torch import nn

from ..predict import predict, to_json, to_npz, true_maps
from .admission import Admission, Limits
from .alignment_stages import SearchSettings, couplings_stage, search_stage, upload_summary
from .errors import NotAvailableError, NotReadyError
from .examples import example
from .inputs import JobInput, prediction_mode
from .model_cache import ModelCache, protein_of
from .retention import Retention
from .store import Job, JobAlignment, JobResult, JobStore, JobSummary, Submission

log = logging.getLogger(__name__)
DATABASE = "foldlens.sqlite"
JOB_SECONDS = 600.0
"""Default time budget of one job's run (``serve --job-seconds``)."""
SWEEP_EVERY = 600.0
"""Seconds between retention sweeps while no job runs (one also follows every job)."""
DEFAULT_RETRY = 30.0
"""Seconds a refused client is told to wait before any job has shown how long jobs take."""


class StoppingError(Exception):
    """The service is stopping: the running job gives up at its next layer."""


class AbandonedError(Exception):
    """Every submitter of the running job deleted it: it gives up at its next layer."""


class OverBudgetError(Exception):
    """The running job took longer than the server's budget per job."""


@dataclass(frozen=True)
class Submitted:
    """What a submission gets back: the job, whether it was queued now, the submission (the
    submitter's name and time) and its token, the one thing that can delete it."""

    job: Job
    queued: bool
    submission: Submission
    token: str


@contextmanager
def _layer_progress(
    model: nn.Module,
    report: Callable[[float], None],
    stopping: Callable[[], Exception | None],
    every: float = 0.5,
) -> Iterator[None]:
    """Call ``report(fraction of layers run)`` at most every ``every`` seconds during a forward,
    and raise the exception ``stopping()`` returns after any layer (once it returns one)."""
    leaves = [m for m in model.modules() if not any(m.children())]
    done = 0
    last = time.monotonic()

    def after_layer(module: nn.Module, inputs: object, output: object) -> None:
        nonlocal done, last
        reason = stopping()
        if reason is not None:
            raise reason
        done += 1
        if time.monotonic() - last >= every:
            last = time.monotonic()
            report(min(1.0, done / len(leaves)))

    handles = [leaf.register_forward_hook(after_layer) for leaf in leaves]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class JobService:
    """Jobs stored in ``data_dir/foldlens.sqlite`` and run by one worker thread: admitted within
    ``limits`` (:mod:`foldlens.service.admission`), each run within ``job_seconds``, finished
    ones kept as ``retention`` says (:mod:`foldlens.service.retention`), deleted by their last
    submitter (:meth:`withdraw`)."""

    def __init__(
        self,
        data_dir: Path,
        limits: Limits | None = None,
        retention: Retention | None = None,
        job_seconds: float = JOB_SECONDS,
        models: ModelCache | None = None,
        search: SearchSettings | None = None,
    ) -> None:
        if isinstance(job_seconds, bool) or not job_seconds > 0:
            raise ValueError(f"the time budget per job must be positive, got {job_seconds!r}")
        self.store = JobStore(data_dir / DATABASE)
        self.search = search or SearchSettings(None, "the server was started without one")
        self.job_seconds = job_seconds
        self._deadline = math.inf
        self.retention = retention or Retention()
        self.admission = Admission(limits or Limits())
        self._submitting = threading.Lock()
        self._typical_seconds: float | None = None
        """A running average of how long a job takes here (``None`` before the first)."""
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._unfinished = 0
        """Jobs queued or running in this process."""
        self._idle = threading.Condition()
        self.models = models or ModelCache()
        self._stopping = threading.Event()
        self._abandoned: set[str] = set()
        """Running jobs that every submitter deleted."""
        self._worker = threading.Thread(target=self._work, name="foldlens-jobs", daemon=True)

    def start(self) -> None:
        for job_id in self.store.recover():
            self._enqueue(job_id)
        self._worker.start()

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until no job is queued or running; whether that happened."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)

    def _enqueue(self, job_id: str) -> None:
        with self._idle:
            self._unfinished += 1
        self._queue.put(job_id)

    def stop(self, timeout: float = 30.0) -> None:
        """Interrupt the running job at its next layer and queue it again; queued jobs wait for
        the next start. Waits up to ``timeout`` s for the worker."""
        self._stopping.set()
        self._queue.put(None)
        self._worker.join(timeout)

    def submit(self, inputs: JobInput, client: str = "local") -> Submitted:
        """A submission of ``inputs``: its job (new, queued again when it had failed, or as it
        is), and the submission under the name ``inputs`` gave.

        A job that would be queued counts against ``client``'s and the server's caps; a
        :class:`~foldlens.service.admission.BusyError` refuses it when either is full.
        """
        with self._submitting:
            if self.store.status(inputs.job_id()) in (None, "failed"):
                retry = self._typical_seconds or DEFAULT_RETRY
                self.admission.check_room(client, self._unfinished, retry)
            job, queued = self.store.submit(inputs)
            submission, token = self.store.add_submission(job.id, inputs.name)
            if queued:
                self.admission.admitted(client, job.id)
                self._enqueue(job.id)
        return Submitted(job, queued, submission, token)

    def withdraw(self, job_id: str, token: str) -> bool:
        """Delete the submission holding ``token``; when it was the job's last, delete the job
        and everything stored for it (a running job stops at its next layer). Whether the job
        goes."""
        with self._submitting:
            if self.store.withdraw(job_id, token):
                return False
            if not self.store.remove(job_id):
                self._abandoned.add(job_id)  # running: the worker drops it
        self.models.forget(job_id)
        return True

    def place_in_line(self, job: JobSummary) -> tuple[int | None, float | None]:
        """The job's place among queued jobs (1: next) and the seconds it may wait to start
        (``None`` unless queued, or before any job has run here)."""
        place = self.store.place_in_line(job)
        if place is None or self._typical_seconds is None:
            return place, None
        return place, place * self._typical_seconds

    def get(self, job_id: str) -> Job:
        return self.store.get(job_id)

    def summary(self, job_id: str) -> JobSummary:
        """The job without its uploaded files: what a status poll needs, whatever their size."""
        return self.store.summary(job_id)

    def result(self, job_id: str) -> JobResult:
        job = self.store.get(job_id)
        result = self.store.result(job_id)
        if job.status != "done" or result is None:
            raise NotReadyError(f"job {job_id} is {job.status}; its results are not ready")
        return result

    def truth(self, job_id: str) -> bytes:
        truth = self.result(job_id).truth
        if truth is None:
            raise NotAvailableError(f"job {job_id} has no structure, so no true maps")
        return truth

    def _work(self) -> None:
        self.retention.sweep(self.store)
        while True:
            try:
                job_id = self._queue.get(timeout=SWEEP_EVERY)
            except queue.Empty:  # idle: old jobs still expire
                self.retention.sweep(self.store)
                continue
            if job_id is None:
                return
            try:
                if not self._stopping.is_set():  # queued jobs wait for the next start
                    self._attempt(job_id)
            finally:
                self.admission.finished(job_id)
                with self._submitting:  # a job deleted while it ran goes now, result and all
                    if job_id in self._abandoned:
                        self._abandoned.discard(job_id)
                        self.store.remove(job_id, running_too=True)
                if not self._stopping.is_set():
                    self.retention.sweep(self.store)
                with self._idle:
                    self._unfinished -= 1
                    self._idle.notify_all()

    def _attempt(self, job_id: str) -> None:
        if not self.store.start(job_id):
            return
        started = time.monotonic()
        self._deadline = started + self.job_seconds
        try:
            self.store.finish(job_id, self._run(self.store.get(job_id)))
            seconds = time.monotonic() - started
            typical = self._typical_seconds
            self._typical_seconds = seconds if typical is None else 0.8 * typical + 0.2 * seconds
        except StoppingError:
            self.store.requeue(job_id)
        except AbandonedError:
            pass  # removed by the worker loop
        except OverBudgetError:
            self.store.fail(
                job_id,
                f"stopped after {self.job_seconds:g} s, this server's time budget per job; a "
                "shorter sequence runs faster",
            )
        except ValueError as error:
            self.store.fail(job_id, str(error))
        except Exception as error:
            log.exception("job %s failed", job_id)
            self.store.fail(
                job_id, f"internal error ({type(error).__name__}); the server log has details"
            )

    def _interruption(self, job_id: str) -> Exception | None:
        """Why the running job must stop now, if it must."""
        if self._stopping.is_set():
            return StoppingError()
        if job_id in self._abandoned:
            return AbandonedError()
        if time.monotonic() > self._deadline:
            return OverBudgetError()
        return None

    def _run(self, job: Job) -> JobResult:
        inputs = job.inputs
        structure = inputs.backbone()
        aligned = self._alignment_stages(job)
        self.store.report(job.id, 0.6, "computing the profile" if aligned else "reading inputs")
        protein = protein_of(replace(job, alignment=aligned))
        reason = self._interruption(job.id)
        if reason is not None:
            raise reason
        self.store.report(job.id, 0.65, "running the network")
        model = self.models.model(inputs.model)
        with _layer_progress(
            model,
            lambda f: self.store.report(job.id, 0.65 + 0.25 * f, "running the network"),
            lambda: self._interruption(job.id),
        ):
            prediction = predict(model, protein, inputs.model)
        self.store.report(job.id, 0.9, "storing the results")
        truth: dict[str, Any] | None = None
        if structure is not None:
            truth = true_maps(structure)
            if inputs.example is not None:
                truth["dssp"] = example(inputs.example).dssp
        return JobResult(
            predictions=to_npz(prediction),
            predictions_json=gzip.compress(json.dumps(to_json(prediction)).encode(), 6),
            truth=None if truth is None else to_npz(truth),
            alignment=aligned,
        )

    def _alignment_stages(self, job: Job) -> JobAlignment | None:
        """Search (when asked) and couplings (:mod:`.alignment_stages`); ``None`` for a job
        without an alignment."""
        inputs = job.inputs

        def report(fraction: float, stage: str) -> None:
            self.store.report(job.id, fraction, stage)

        def interruption() -> Exception | None:
            return self._interruption(job.id)

        a3m = None
        if inputs.search is not None:
            alignment, summary, a3m = search_stage(
                inputs.name, inputs.sequence, inputs.search, self.search, report, interruption
            )
        else:
            uploaded = inputs.alignment()
            if uploaded is None:
                return None
            alignment, summary = uploaded, upload_summary(uploaded)
        if summary["mode"] == "profile" and prediction_mode(inputs.model, True) == "single":
            why = f"model {inputs.model} reads no profile, so it predicts from the sequence alone"
            summary |= {"mode": "single", "why": why}
        couplings, fit = couplings_stage(alignment, report, interruption)
        return JobAlignment(summary | {"couplings": fit}, a3m, couplings)
