"""The server under abuse from outside: ``kill -9`` during jobs loses nothing (the database passes
SQLite's integrity check, every stored result is whole, and the next start finishes every job),
and a stalled upload is cut off."""

from __future__ import annotations

import gzip
import io
import json
import signal
import socket
import sqlite3
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from foldlens.server.background import server_process
from polling import DEADLINE, wait_for

SEQUENCE = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"
ROUNDS = 3
JOBS_PER_ROUND = 8
SEQUENCES = [SEQUENCE[k:] + SEQUENCE[:k] for k in range(ROUNDS * JOBS_PER_ROUND)]
"""Distinct proteins: distinct jobs."""
FLAGS = ("--max-jobs-per-client", "100", "--submissions-per-minute", "1000")


def call(base: str, path: str, body: dict | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def check_database(path: Path) -> dict[str, str]:
    """Integrity, whole results, and ``done`` exactly where a result exists; the job statuses."""
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = dict(db.execute("SELECT id, status FROM jobs").fetchall())
        results = db.execute("SELECT id, predictions, predictions_json FROM results").fetchall()
    for _, npz, compressed in results:
        with np.load(io.BytesIO(npz)) as arrays:
            assert len(arrays["ss3"]) == len(SEQUENCE)
        assert json.loads(gzip.decompress(compressed))["sequence"] in SEQUENCES
    done = {job_id for job_id, status in statuses.items() if status == "done"}
    assert done == {job_id for job_id, *_ in results}
    return statuses


def test_kill_9_during_jobs_loses_nothing(tmp_path: Path) -> None:
    proteins = iter(SEQUENCES)
    ids: list[str] = []
    killed_running = 0
    for _ in range(ROUNDS):
        with server_process(tmp_path, flags=FLAGS) as (base, process):
            submitted = [
                call(base, "/api/jobs", {"sequence": next(proteins)})["id"]
                for _ in range(JOBS_PER_ROUND)
            ]
            ids += submitted
            at_kill = wait_for(
                lambda jobs=submitted: [call(base, f"/api/jobs/{j}")["status"] for j in jobs],
                lambda statuses: "running" in statuses or "queued" not in statuses,
                "a running job",
            )
            process.send_signal(signal.SIGKILL)
            killed_running += "running" in at_kill
            process.wait()
        check_database(tmp_path / "foldlens.sqlite")
    with server_process(tmp_path, flags=FLAGS) as (base, _):
        wait_for(
            lambda: [call(base, f"/api/jobs/{job_id}")["status"] for job_id in ids],
            lambda statuses: set(statuses) == {"done"},
            "the jobs after the crashes",
        )
    statuses = check_database(tmp_path / "foldlens.sqlite")
    assert set(statuses.values()) == {"done"}
    assert killed_running, "no kill caught a job running: the test did not test a crash"


def test_a_stalled_upload_gets_408_and_the_server_goes_on(tmp_path: Path) -> None:
    """A client that sends part of a body and stops holds nothing for long: after
    ``--upload-seconds`` it gets 408 and its connection is closed."""
    with server_process(tmp_path, flags=("--upload-seconds", "1")) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=DEADLINE) as stalled:
            stalled.sendall(
                b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"sequence": "MK'
            )
            answer = b""
            while chunk := stalled.recv(4096):  # the server closes the connection after it
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer
        assert call(base, "/api/models")[0]["name"] == "default"


def test_sigterm_during_a_job_queues_it_again_and_the_next_start_runs_it(tmp_path: Path) -> None:
    """The signal a service manager sends: the server stops at the running job's next layer,
    and the job keeps its place with no attempt counted, however often this happens."""
    long_protein = (SEQUENCE * 10)[:600]
    for _ in range(3):
        with server_process(tmp_path, flags=FLAGS) as (base, process):
            job_id = call(base, "/api/jobs", {"sequence": long_protein})["id"]
            wait_for(
                lambda job=job_id: call(base, f"/api/jobs/{job}")["stage"],
                lambda stage: stage == "running the network",
                "the job running",
            )
            process.send_signal(signal.SIGTERM)
            # uvicorn shuts down, then re-raises the signal so that the exit says why
            assert process.wait(timeout=DEADLINE) in (0, -signal.SIGTERM)
        with sqlite3.connect(tmp_path / "foldlens.sqlite") as db:
            status, attempts = db.execute(
                "SELECT status, attempts FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        assert (status, attempts) == ("queued", 0)
    with server_process(tmp_path, flags=FLAGS) as (base, _):
        wait_for(
            lambda: call(base, f"/api/jobs/{job_id}")["status"],
            lambda status: status == "done",
            "the job after the restarts",
        )
