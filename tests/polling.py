"""Waiting for the server's background work in tests: by state, never by the clock.

Nothing here asserts how long work takes. The deadline only turns a hang (a task that never ends)
into a failure, so it is generous enough for a loaded 2-core machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

LOCAL = "http://127.0.0.1"
"""The test clients' base URL: a loopback host, which the server answers by default."""

DEADLINE = 600.0
"""Seconds before a wait gives up: a task or job still going then is taken to hang."""


def wait_for(read: Callable[[], Any], finished: Callable[[Any], bool], what: str) -> Any:
    """Call ``read`` until ``finished`` holds for its value (or fail after :data:`DEADLINE`)."""
    deadline = time.monotonic() + DEADLINE
    value = read()
    while not finished(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} still not finished after {DEADLINE:g} s: {value}")
        time.sleep(0.05)
        value = read()
    return value


def finish_task(client: TestClient, task: dict | None) -> dict | None:
    """The final status of an explanation or analysis task (``None`` stays ``None``)."""
    if task is None:
        return None
    return wait_for(
        lambda: client.get(task["poll"]).json(),
        lambda status: status["status"] != "running",
        f"task {task['id']}",
    )


def wait_job(client: TestClient, job_id: str) -> dict:
    """The status of job ``job_id`` once it is done or failed."""
    return wait_for(
        lambda: client.get(f"/api/jobs/{job_id}").json(),
        lambda status: status["status"] in ("done", "failed"),
        f"job {job_id}",
    )


def finish(client: TestClient, answer: dict) -> dict:
    """Poll an explanation answer's task and return every method's result."""
    results = dict(answer["results"])
    task = finish_task(client, answer["task"])
    if task is not None:
        for method, url in task["results"].items():
            results[method] = client.get(url).json()
    return results
