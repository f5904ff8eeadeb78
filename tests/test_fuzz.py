"""Schema fuzzing: schemathesis drives every operation of the OpenAPI contract with generated
requests, valid and invalid — no answer may be a server error or break the contract (status codes,
media types and bodies as documented, ``Allow`` on 405, ...).

The app runs without its lifespan, so no worker computes: submitted jobs stay queued. To reach the
checks of targets and options, two thirds of the requests naming a job name a finished one (a short
protein, predicted before the fuzzing starts); the explanations they start run under a small time
budget per task and are not waited for, so the run stays within a minute. Schema-valid requests that
the service refuses on their meaning (a sequence of digits, a PNG as an MSA, a residue past the end)
get a documented 400, so the check that schema-valid data is accepted is left out.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from foldlens.server import create_app
from foldlens.server.security import LOOPBACK_HOSTS
from foldlens.service import job_input
from foldlens.service.admission import Limits
from foldlens.service.jobs import JobService
from polling import DEADLINE

EXAMPLES_PER_OPERATION = 80
MINIMUM_CASES = 1000

cases: list[str] = []
folder = tempfile.TemporaryDirectory(prefix="foldlens-fuzz-")
"""The app's data folder: the schema is read when the module is collected, before fixtures."""


def without_lifespan(app: Callable[..., Any]) -> Callable[..., Any]:
    """The app with its lifespan answered but not run: no worker thread starts."""

    async def serve(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await app(scope, receive, send)

    return serve


app = create_app(
    Path(folder.name),
    allowed_hosts=(*LOOPBACK_HOSTS, "testserver"),  # schemathesis's ASGI client's host
    limits=Limits(jobs=20, jobs_per_client=5, submissions_per_minute=100_000),
    task_seconds=0.5,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app))


@pytest.fixture(scope="module", autouse=True)
def finished_job() -> Iterator[str]:
    """A short protein predicted in the app's data folder (by a worker of its own); the folder
    goes after the module, and with it everything the fuzzing stored."""
    worker = JobService(Path(folder.name))
    worker.start()
    job = worker.submit(job_input(sequence="MKTAYIAKQRQISFVKSHFSRQ")).job
    assert worker.wait_idle(DEADLINE) and worker.get(job.id).status == "done"
    worker.stop(DEADLINE)
    yield job.id
    app.state.explanations.stop()  # cancels what the fuzzing started and lets its thread go
    assert not [t for t in threading.enumerate() if t.name.startswith("foldlens-explain")]
    folder.cleanup()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck)
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case, finished_job: str) -> None:
    cases.append(case.operation.label)
    if "job_id" in (case.path_parameters or {}) and len(cases) % 3:
        case.path_parameters["job_id"] = finished_job  # type: ignore[index]
    body = case.body
    wait = body.get("wait") if isinstance(body, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait <= 10:
        body["wait"] = 0  # start the work, do not wait for it (an invalid wait stays invalid)
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    options = body.get("options") if isinstance(body, dict) else None
    if not negative and isinstance(options, dict) and body.get("methods"):
        # the schema cannot say that options name chosen methods only: keep the case deep (not
        # for invalid data, whose invalid part may be the options of a method not chosen)
        chosen = body["methods"] if isinstance(body["methods"], list) else []
        body["options"] = {k: v for k, v in body["options"].items() if k in chosen}
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])


def test_the_fuzzing_ran_enough_cases() -> None:
    """Runs after the operations (pytest keeps the file's order)."""
    assert len(set(cases)) == len(list(schema.get_all_operations()))
    assert len(cases) >= MINIMUM_CASES, len(cases)
