"""Fair sharing of one server: queue caps and submission rates per client address (429 with
Retry-After), places in the queue, retention of finished jobs, and a store that migrates older
data folders.

The apps here run without their lifespan, so the worker never starts and submitted jobs stay
queued: what is capped is decided by state, never by timing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from foldlens.server import create_app
from foldlens.service import JobStore, job_input
from foldlens.service.admission import Limits
from foldlens.service.retention import DAY, Retention
from foldlens.service.store import MIGRATIONS, SCHEMA, JobResult
from polling import LOCAL

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


def sequences(count: int) -> list[str]:
    """Distinct valid sequences (distinct jobs)."""
    return [SEQUENCE[k:] + SEQUENCE[:k] for k in range(count)]


def idle_client(tmp_path: Path, limits: Limits, proxies: tuple[str, ...] = ()) -> TestClient:
    return TestClient(create_app(tmp_path, limits=limits, trusted_proxies=proxies), base_url=LOCAL)


def test_queue_caps_per_client_and_in_all(tmp_path: Path) -> None:
    client = idle_client(tmp_path, Limits(jobs=3, jobs_per_client=2), proxies=("testclient",))
    first, second, third, fourth, fifth = sequences(5)
    for sequence in (first, second):
        assert client.post("/api/jobs", json={"sequence": sequence}).status_code == 202
    refused = client.post("/api/jobs", json={"sequence": third})
    assert refused.status_code == 429 and "2 jobs queued or running" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    again = client.post("/api/jobs", json={"sequence": first})  # nothing new to compute
    assert again.status_code == 200
    other = {"x-forwarded-for": "203.0.113.7"}  # another address, named by the trusted proxy
    assert client.post("/api/jobs", json={"sequence": third}, headers=other).status_code == 202
    full = client.post("/api/jobs", json={"sequence": fourth}, headers=other)
    assert full.status_code == 429 and "the server has 3 jobs" in full.json()["detail"]
    spoofed = {"x-forwarded-for": "203.0.113.7, 198.51.100.1"}  # the proxy's own view is last
    full = client.post("/api/jobs", json={"sequence": fifth}, headers=spoofed)
    assert full.status_code == 429


def test_forwarded_addresses_count_only_from_trusted_proxies(tmp_path: Path) -> None:
    client = idle_client(tmp_path, Limits(jobs_per_client=1))
    first, second = sequences(2)
    assert client.post("/api/jobs", json={"sequence": first}).status_code == 202
    forged = {"x-forwarded-for": "192.0.2.99"}
    response = client.post("/api/jobs", json={"sequence": second}, headers=forged)
    assert response.status_code == 429 and "1 jobs queued" in response.json()["detail"]


def test_submission_rate_per_client(tmp_path: Path) -> None:
    client = idle_client(tmp_path, Limits(submissions_per_minute=3))
    for _ in range(3):
        assert client.post("/api/jobs", json={"sequence": SEQUENCE}).status_code in (200, 202)
    refused = client.post("/api/jobs", json={"sequence": SEQUENCE})
    assert refused.status_code == 429 and "submissions a minute" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert client.get("/api/jobs/" + "0" * 32).status_code == 404  # reading is not limited


def test_queued_jobs_know_their_place(tmp_path: Path) -> None:
    client = idle_client(tmp_path, Limits())
    ids = [
        client.post("/api/jobs", json={"sequence": sequence}).json()["id"]
        for sequence in sequences(3)
    ]
    statuses = [client.get(f"/api/jobs/{job_id}").json() for job_id in ids]
    assert [s["queue_position"] for s in statuses] == [1, 2, 3]
    assert all(s["estimated_wait"] is None for s in statuses)  # no job has run here yet


@pytest.mark.parametrize(
    "limits", [{"jobs": 0}, {"jobs_per_client": -1}, {"submissions_per_minute": 1.5}]
)
def test_limits_must_be_positive_whole_numbers(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive whole number"):
        Limits(**limits)  # type: ignore[arg-type]


def test_an_older_data_folder_is_migrated(tmp_path: Path) -> None:
    """A database written before schema versions opens with its jobs: each gains its place in
    the queue, and its uploaded files move to a table of their own; a database from a newer
    foldlens is refused rather than damaged."""
    path = tmp_path / "foldlens.sqlite"
    msa = f"{SEQUENCE}\n{SEQUENCE[:-3]}---"
    inputs = replace(job_input(sequence=SEQUENCE), msa=msa)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO jobs (id, status, inputs, created, updated) VALUES (?, 'queued', ?, 5, 5)",
            (inputs.job_id(), inputs.to_json()),
        )
    store = JobStore(path)
    assert store.get(inputs.job_id()).inputs == inputs  # the upload moved, unchanged
    summary = store.summary(inputs.job_id())
    assert (summary.queued, summary.mode, summary.has_structure) == (5, "profile", False)
    assert store.place_in_line(summary) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        (light,) = db.execute("SELECT inputs FROM jobs").fetchone()
        assert "msa" not in json.loads(light)  # a status poll reads no upload
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer foldlens"):
        JobStore(path)


def finished_jobs(store: JobStore, count: int, updated: float) -> list[str]:
    """``count`` done jobs with a result each, last updated at ``updated``."""
    ids = []
    for sequence in sequences(count):
        job, _ = store.submit(job_input(sequence=sequence))
        store.start(job.id)
        store.finish(job.id, JobResult(b"x" * 200_000, b"y", None))
        ids.append(job.id)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE jobs SET updated = ?", (updated,))
    return ids


def test_retention_expires_old_finished_jobs_only(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "foldlens.sqlite")
    old = finished_jobs(store, 2, updated=time.time() - 3 * DAY)
    waiting, _ = store.submit(job_input(sequence="MKTAYIAKQRQ"))
    with sqlite3.connect(store.path) as db:  # a job queued for days is still wanted
        db.execute("UPDATE jobs SET updated = ? WHERE id = ?", (time.time() - 9 * DAY, waiting.id))
    assert Retention(days=5).sweep(store) == []
    assert sorted(Retention(days=2).sweep(store)) == sorted(old)
    assert store.status(waiting.id) == "queued"
    assert all(store.status(job_id) is None and store.result(job_id) is None for job_id in old)


def test_max_disk_deletes_the_least_recently_updated_first(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "foldlens.sqlite")
    ids = finished_jobs(store, 6, updated=1000.0)
    with sqlite3.connect(store.path) as db:
        for k, job_id in enumerate(ids):
            db.execute("UPDATE jobs SET updated = ? WHERE id = ?", (1000.0 + k, job_id))
    limit = store.used_bytes() - 500_000  # about three results too many
    deleted = Retention(max_bytes=limit).sweep(store)
    assert deleted == ids[: len(deleted)] and 2 <= len(deleted) <= 4
    assert store.used_bytes() <= limit
    assert all(store.status(job_id) == "done" for job_id in ids[len(deleted) :])


@pytest.mark.parametrize("policy", [{"days": 0}, {"days": -1.0}, {"max_bytes": 0}])
def test_retention_must_be_positive(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Retention(**policy)  # type: ignore[arg-type]
