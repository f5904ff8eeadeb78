"""What one submitter can see and do to another's job: names and times belong to submissions,
shared computations keep a neutral name, and only a submission's token deletes it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from foldlens.server import create_app
from foldlens.service import JobStore, job_input
from foldlens.service.jobs import JobService
from foldlens.service.store import MIGRATIONS, SCHEMA
from polling import DEADLINE, LOCAL, finish_task, wait_for, wait_job

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"
ROTATED = SEQUENCE[5:] + SEQUENCE[:5]


def submit(client: TestClient, name: str, sequence: str = SEQUENCE) -> dict:
    response = client.post("/api/jobs", json={"sequence": f">{name}\n{sequence}"})
    assert response.status_code in (200, 202), response.text
    return response.json()


def delete(client: TestClient, job_id: str, token: str) -> int:
    return client.delete(f"/api/jobs/{job_id}", headers={"x-foldlens-token": token}).status_code


def test_each_submitter_sees_only_their_own_name(client: TestClient) -> None:
    alice = submit(client, "alice_secret_target")
    bob = submit(client, "bob_protein")
    assert alice["id"] == bob["id"]  # one computation
    assert (alice["name"], bob["name"]) == ("alice_secret_target", "bob_protein")
    job_id = alice["id"]
    wait_job(client, job_id)
    status = client.get(f"/api/jobs/{job_id}").json()
    assert status["name"] == "query" and status["created"] is None
    mine = client.get(f"/api/jobs/{job_id}", params={"submission": bob["submission"]}).json()
    assert mine["name"] == "bob_protein" and mine["created"] == bob["created"]
    forged = client.get(f"/api/jobs/{job_id}", params={"submission": "0" * 32})
    assert forged.status_code == 404
    everything = [
        client.get(f"/api/jobs/{job_id}").text,
        client.get(f"/api/jobs/{job_id}/predictions").text,
        *[client.get(link["url"]).content.decode("latin-1") for link in status["exports"]],
    ]
    assert not any("alice" in text for text in everything)
    named = next(link for link in mine["exports"] if link["what"] == "residues")
    response = client.get(named["url"])
    assert "bob_protein" in response.headers["content-disposition"]


def test_only_a_submission_token_deletes_and_only_the_last_deletes_the_job(
    client: TestClient,
) -> None:
    first = submit(client, "first", ROTATED)
    second = submit(client, "second", ROTATED)
    job_id = first["id"]
    wait_job(client, job_id)
    request = {"target": {"head": "rsa", "i": 3}, "methods": ["gradient"]}
    finish_task(client, client.post(f"/api/jobs/{job_id}/explain", json=request).json()["task"])
    explained = client.post(f"/api/jobs/{job_id}/explain", json=request)
    assert explained.status_code == 200
    assert delete(client, job_id, "not-a-token") == 403
    missing = client.delete(f"/api/jobs/{job_id}")
    assert missing.status_code == 422 and "X-Foldlens-Token" in missing.json()["detail"]
    assert delete(client, job_id, second["token"]) == 204
    assert delete(client, job_id, second["token"]) == 403  # spent
    gone = client.get(f"/api/jobs/{job_id}", params={"submission": second["submission"]})
    assert gone.status_code == 404
    assert client.get(f"/api/jobs/{job_id}/predictions").status_code == 200  # first still has it
    assert delete(client, job_id, first["token"]) == 204
    assert client.get(f"/api/jobs/{job_id}").status_code == 404
    assert client.get(f"/api/jobs/{job_id}/predictions").status_code == 404
    key = explained.json()["results"]["gradient"]["key"]
    export = client.get(
        f"/api/explanations/results/{key}/export", params={"what": "arrays", "format": "json"}
    )
    assert export.status_code == 404  # the job's explanations went with it


def test_deleting_a_running_job_stops_it_and_leaves_nothing(tmp_path: Path) -> None:
    service = JobService(tmp_path)
    service.start()
    try:
        submitted = service.submit(job_input(sequence=(SEQUENCE * 10)[:600]))
        job_id = submitted.job.id
        wait_for(lambda: service.get(job_id), lambda j: j.status == "running", "the job")
        assert service.withdraw(job_id, submitted.token)
        wait_for(lambda: service.store.status(job_id), lambda s: s is None, "its removal")
        assert service.wait_idle(DEADLINE)
        with sqlite3.connect(tmp_path / "foldlens.sqlite") as db:
            for table, column in (
                ("jobs", "id"),
                ("results", "id"),
                ("uploads", "id"),
                ("submissions", "job"),
            ):
                count = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (job_id,))
                assert count.fetchone()[0] == 0, table
    finally:
        service.stop(DEADLINE)


def test_a_queued_job_deleted_by_its_submitter_never_runs(tmp_path: Path) -> None:
    client = TestClient(create_app(tmp_path), base_url=LOCAL)  # no lifespan: no worker
    job = submit(client, "mine")
    assert delete(client, job["id"], job["token"]) == 204
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_an_older_data_folder_keeps_its_names_private(tmp_path: Path) -> None:
    """Before submissions, a job held its first submitter's name: the migration moves it into a
    submission no token opens, and the job shows the shared name."""
    path = tmp_path / "foldlens.sqlite"
    inputs = job_input(sequence=f">private_name\n{SEQUENCE}")
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute(
            "INSERT INTO jobs (id, status, inputs, created, updated) VALUES (?, 'done', ?, 5, 5)",
            (inputs.job_id(), inputs.to_json()),
        )
    store = JobStore(path)
    assert store.summary(inputs.job_id()).name == "query"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        ((name, token),) = db.execute("SELECT name, token FROM submissions").fetchall()
        (stored,) = db.execute("SELECT inputs FROM jobs").fetchone()
    assert (name, token) == ("private_name", "") and "private" not in json.loads(stored)["name"]
    with pytest.raises(Exception, match="no submission with this token"):
        store.withdraw(inputs.job_id(), "")
