"""Schema fuzzing: schemathesis drives every operation of the OpenAPI contract with generated
requests, valid and invalid — no answer may be a server error or break the contract (status codes,
media types and bodies as documented, ``Allow`` on 405, ...).

The app runs without its lifespan, so no worker computes: submitted jobs stay queued, and the run
stays within seconds. Schema-valid requests that the service refuses on their meaning (a sequence
of digits, a PNG as an MSA) get a documented 400, so the check that schema-valid data is accepted
is left out.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from foldlens.server import create_app
from foldlens.server.security import LOOPBACK_HOSTS
from foldlens.service.admission import Limits

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
)
schema = schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app))


@pytest.fixture(scope="module", autouse=True)
def _remove_the_data_folder() -> Iterator[None]:
    yield
    folder.cleanup()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck)
)
def test_every_operation_keeps_its_contract(case: schemathesis.Case) -> None:
    cases.append(case.operation.label)
    case.call_and_validate(excluded_checks=[schemathesis.checks.positive_data_acceptance])


def test_the_fuzzing_ran_enough_cases() -> None:
    """Runs after the operations (pytest keeps the file's order)."""
    assert len(set(cases)) == len(list(schema.get_all_operations()))
    assert len(cases) >= MINIMUM_CASES, len(cases)
