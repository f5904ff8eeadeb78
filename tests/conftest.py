import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from foldlens.server import create_app

sys.path.insert(0, str(Path(__file__).parent))

from polling import DEADLINE, LOCAL, wait_job


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


@pytest.fixture(autouse=True, scope="module")
def _memory_handed_back() -> Iterator[None]:
    """After each test module, its garbage collected and the heap it freed handed back to the
    system (glibc keeps freed memory in its arenas otherwise), so that the suite's memory at any
    moment is the running module's, not the high-water mark of every module before it."""
    yield
    gc.collect()
    LIBC.malloc_trim(0)


@pytest.fixture(autouse=True)
def _no_work_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the app: every explanation or analysis task cancelled and let go
    by its worker, and no prediction job queued or running, so no test's work runs on into the
    next one."""
    client = request.getfixturevalue("client") if "client" in request.fixturenames else None
    yield
    if client is None:
        return
    assert client.app.state.explanations.cancel_all(DEADLINE), "a task did not stop when cancelled"
    assert client.app.state.service.wait_idle(DEADLINE), "a prediction job did not finish"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on an empty data folder of this test module's own."""
    with TestClient(create_app(tmp_path_factory.mktemp("app")), base_url=LOCAL) as client:
        yield client


@pytest.fixture(scope="module")
def job(client: TestClient) -> dict:
    """The finished prediction of the example 2o38B (90 residues, with structure and profile)."""
    job = wait_job(client, client.post("/api/jobs", json={"example": "2o38B"}).json()["id"])
    assert job["status"] == "done"
    return job
