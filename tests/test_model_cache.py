"""The warm state of recent jobs: kept within a budget of bytes, least recently used out first,
dropped when a job is deleted, and shared by the explanation requests of one job."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from foldlens.models.adapter import Encoded
from foldlens.server import create_app
from foldlens.service.model_cache import ModelCache, nbytes
from foldlens.service.store import Job
from polling import LOCAL, wait_job

CELL = {"head": "dist_cb_cb", "i": 3, "j": 40}


def finished(client: TestClient, example: str) -> tuple[str, str]:
    """A finished job of ``example``: its id and the token that may delete it."""
    answer = client.post("/api/jobs", json={"example": example}).json()
    assert wait_job(client, answer["id"])["status"] == "done"
    return answer["id"], answer["token"]


@pytest.fixture(scope="module")
def jobs(client: TestClient) -> list[Job]:
    service = client.app.state.service  # type: ignore[attr-defined]
    return [service.get(finished(client, name)[0]) for name in ("1k61C", "2o38B")]


def test_the_size_of_a_jobs_input_counts_its_arrays(jobs: list[Job]) -> None:
    encoded = ModelCache().inputs(jobs[1])
    assert isinstance(encoded, Encoded) and encoded.protein.profile is not None
    arrays = encoded.x.numel() * 4 + encoded.protein.profile.nbytes
    assert arrays <= nbytes(encoded) <= arrays + 64 * 1024


def test_warm_state_stays_within_its_budget_least_recently_used_out_first(
    jobs: list[Job],
) -> None:
    first, second = jobs
    sizes = [nbytes(ModelCache().inputs(job)) for job in jobs]
    room = max(sizes) + min(sizes) // 2
    cache = ModelCache(budget=room)  # room for either, not both
    kept = cache.inputs(first)
    assert cache.inputs(first) is kept and cache.held == nbytes(kept)
    other = cache.inputs(second)
    assert cache.held == nbytes(other) <= room  # the first went
    again = cache.inputs(first)
    assert again is not kept and cache.held == nbytes(again)  # computed again, the second went
    cache.forget(first.id)
    assert cache.held == 0


def test_an_empty_budget_keeps_nothing_and_still_answers(jobs: list[Job]) -> None:
    cache = ModelCache(budget=0)
    assert cache.inputs(jobs[0]).x.shape[-1] == len(jobs[0].inputs.sequence)
    assert cache.held == 0
    with pytest.raises(ValueError, match="bytes"):
        ModelCache(budget=-1)


def test_a_deleted_jobs_warm_state_goes_with_it(client: TestClient) -> None:
    job_id, token = finished(client, "1ly2A")
    cache = client.app.state.explanations.models  # type: ignore[attr-defined]
    answer = client.post(
        f"/api/jobs/{job_id}/explain", json={"target": CELL, "methods": ["gradient"], "wait": 10}
    )
    assert answer.status_code == 200
    assert any(key[0] == job_id for key in cache._warm)
    assert (
        client.delete(f"/api/jobs/{job_id}", headers={"X-Foldlens-Token": token}).status_code == 204
    )
    assert not any(key[0] == job_id for key in cache._warm)


def test_the_explanation_worker_warms_up_without_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """At start the worker explains a short protein (so the first click pays no one-off set-up);
    leaving the app waits for it, and it logged no failure."""
    with TestClient(create_app(tmp_path), base_url=LOCAL) as client:
        models = client.app.state.explanations.models  # type: ignore[attr-defined]
    assert models.copies("default")
    assert "warming up" not in caplog.text
