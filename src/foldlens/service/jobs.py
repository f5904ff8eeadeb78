"""The job service: submit inputs, run them in one background worker, read statuses and results.

Requests never compute: :meth:`JobService.submit` stores the job and queues its id, and the worker
thread runs the network. On start, jobs left ``running`` by a server that died are queued again (or
failed after :data:`~foldlens.service.store.MAX_ATTEMPTS` starts), so no job stays running forever.
An orderly stop (SIGTERM) interrupts the running job at its next layer and queues it again without
counting the start, so restarts never fail a job.
"""

from __future__ import annotations

import gzip
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torch import nn

from ..models import load, spec
from ..predict import Query, predict, to_json, to_npz, true_maps
from .errors import NotAvailableError, NotReadyError
from .examples import example
from .inputs import JobInput
from .store import Job, JobResult, JobStore

log = logging.getLogger(__name__)
DATABASE = "foldlens.sqlite"


class StoppingError(Exception):
    """The service is stopping: the running job gives up at its next layer."""


@contextmanager
def _layer_progress(
    model: nn.Module,
    report: Callable[[float], None],
    stopping: threading.Event,
    every: float = 0.5,
) -> Iterator[None]:
    """Call ``report(fraction of layers run)`` at most every ``every`` seconds during a forward,
    and raise :class:`StoppingError` after any layer once ``stopping`` is set."""
    leaves = [m for m in model.modules() if not any(m.children())]
    done = 0
    last = time.monotonic()

    def after_layer(module: nn.Module, inputs: object, output: object) -> None:
        nonlocal done, last
        if stopping.is_set():
            raise StoppingError
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
    """Jobs stored in ``data_dir/foldlens.sqlite`` and run by one worker thread."""

    def __init__(self, data_dir: Path) -> None:
        self.store = JobStore(data_dir / DATABASE)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._unfinished = 0
        """Jobs queued or running in this process."""
        self._idle = threading.Condition()
        self._models: dict[str, nn.Module] = {}
        self._stopping = threading.Event()
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

    def submit(self, inputs: JobInput) -> tuple[Job, bool]:
        """The job of ``inputs`` and whether it was queued now (new, or failed before)."""
        job, queued = self.store.submit(inputs)
        if queued:
            self._enqueue(job.id)
        return job, queued

    def get(self, job_id: str) -> Job:
        return self.store.get(job_id)

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

    def _model(self, name: str) -> nn.Module:
        if name not in self._models:
            self._models[name] = load(name)
        return self._models[name]

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            try:
                if not self._stopping.is_set():  # queued jobs wait for the next start
                    self._attempt(job_id)
            finally:
                with self._idle:
                    self._unfinished -= 1
                    self._idle.notify_all()

    def _attempt(self, job_id: str) -> None:
        if not self.store.start(job_id):
            return
        try:
            self.store.finish(job_id, self._run(self.store.get(job_id)))
        except StoppingError:
            self.store.requeue(job_id)
        except ValueError as error:
            self.store.fail(job_id, str(error))
        except Exception as error:
            log.exception("job %s failed", job_id)
            self.store.fail(
                job_id, f"internal error ({type(error).__name__}); the server log has details"
            )

    def _run(self, job: Job) -> JobResult:
        inputs = job.inputs
        self.store.report(job.id, 0.1, "computing the profile" if inputs.msa else "reading inputs")
        profile = inputs.profile()
        structure = inputs.backbone()
        if self._stopping.is_set():
            raise StoppingError
        self.store.report(job.id, 0.3, "running the network")
        query = Query(inputs.name, inputs.sequence, profile, structure)
        model = self._model(inputs.model)
        with _layer_progress(
            model,
            lambda f: self.store.report(job.id, 0.3 + 0.5 * f, "running the network"),
            self._stopping,
        ):
            prediction = predict(model, query, spec(inputs.model))
        self.store.report(job.id, 0.8, "storing the results")
        truth: dict[str, Any] | None = None
        if structure is not None:
            truth = true_maps(structure)
            if inputs.example is not None:
                truth["dssp"] = example(inputs.example).dssp
        return JobResult(
            predictions=to_npz(prediction),
            predictions_json=gzip.compress(json.dumps(to_json(prediction)).encode(), 6),
            truth=None if truth is None else to_npz(truth),
        )
