import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from foldlens.server import create_app

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on an empty data folder of this test module's own."""
    with TestClient(create_app(tmp_path_factory.mktemp("app"))) as client:
        yield client


@pytest.fixture(scope="module")
def job(client: TestClient) -> dict:
    """The finished prediction of the example 2o38B (90 residues, with structure and profile)."""
    job = client.post("/api/jobs", json={"example": "2o38B"}).json()
    while job["status"] not in ("done", "failed"):
        time.sleep(0.05)
        job = client.get(f"/api/jobs/{job['id']}").json()
    assert job["status"] == "done"
    return job
