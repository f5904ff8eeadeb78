"""The job store: one embedded SQLite database (WAL) holding jobs, their inputs and results.

Each write is one transaction, so a crash leaves a job either without a result or with a whole one.
A job's row moves ``queued → running → done | failed``; a result row exists exactly when the job is
``done``. Connections are opened per operation, which keeps the store safe to use from the request
threads and the worker at once. The schema is versioned (``PRAGMA user_version``): opening a data
folder written by an older foldlens applies the :data:`MIGRATIONS` it lacks, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import JobNotFoundError, NotYoursError
from .inputs import JobInput, prediction_mode

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    message TEXT,
    inputs TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    id TEXT PRIMARY KEY REFERENCES jobs (id),
    predictions BLOB NOT NULL,
    predictions_json BLOB NOT NULL,
    truth BLOB
);
CREATE TABLE IF NOT EXISTS explanations (
    key TEXT PRIMARY KEY,
    job TEXT NOT NULL REFERENCES jobs (id),
    method TEXT NOT NULL,
    request TEXT NOT NULL,
    result BLOB NOT NULL,
    created REAL NOT NULL
);
"""
MIGRATIONS = (
    # 1: when a job joined the queue, for its place in line (a failed job submitted again
    # queues anew; a job the server stopped on purpose keeps its place).
    "ALTER TABLE jobs ADD COLUMN queued REAL; UPDATE jobs SET queued = created;",
    # 2: uploaded files (an MSA can be 20 MB) in a table of their own, so that reading a job's
    # status never reads them.
    """CREATE TABLE uploads (id TEXT PRIMARY KEY REFERENCES jobs (id), msa TEXT, structure TEXT);
    INSERT INTO uploads (id, msa, structure)
        SELECT id, json_extract(inputs, '$.msa'), json_extract(inputs, '$.structure') FROM jobs;
    ALTER TABLE jobs ADD COLUMN has_msa INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN has_structure INTEGER NOT NULL DEFAULT 0;
    UPDATE jobs SET has_msa = json_extract(inputs, '$.msa') IS NOT NULL,
        has_structure = json_extract(inputs, '$.structure') IS NOT NULL,
        inputs = json_remove(inputs, '$.msa', '$.structure');""",
    # 3: who asked: a submission per submitter, with its own name, time and (hashed) token; the
    # shared job keeps a neutral name. Jobs from before keep their first name in a submission
    # that no token matches.
    """CREATE TABLE submissions (
        id TEXT PRIMARY KEY, job TEXT NOT NULL REFERENCES jobs (id), name TEXT NOT NULL,
        created REAL NOT NULL, token TEXT NOT NULL);
    CREATE INDEX submissions_of_job ON submissions (job);
    INSERT INTO submissions (id, job, name, created, token)
        SELECT lower(hex(randomblob(16))), id, json_extract(inputs, '$.name'), created, ''
        FROM jobs;
    UPDATE jobs SET inputs = json_set(inputs, '$.name',
        coalesce(json_extract(inputs, '$.example'), 'query'));""",
    # 4: what a job found out about its alignment (searched or uploaded): the summary a status
    # poll shows, the searched A3M (gzip) and the coupling maps (NPZ).
    """CREATE TABLE alignments (
        id TEXT PRIMARY KEY REFERENCES jobs (id), summary TEXT NOT NULL, a3m BLOB,
        couplings BLOB);""",
)
"""Schema changes after :data:`SCHEMA`, in order: migration ``k`` brings the version to
``k + 1``."""
MAX_ATTEMPTS = 2
"""A job that was running when the server stopped is retried until it has started this often."""


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    progress: float
    stage: str
    message: str | None
    inputs: JobInput
    attempts: int
    created: float
    updated: float
    queued: float
    alignment: JobAlignment | None = None
    """What the job found out about its alignment, once it has run."""


@dataclass(frozen=True)
class JobAlignment:
    """A job's alignment as the job left it: ``summary`` (JSON-ready: where it came from, its
    depth, the prediction mode it led to, the couplings' fit), ``a3m`` (gzip-compressed, for a
    searched alignment) and ``couplings`` (NPZ of :class:`~foldlens.coevolution.Couplings`, when
    they were fitted)."""

    summary: dict[str, Any]
    a3m: bytes | None = None
    couplings: bytes | None = None


@dataclass(frozen=True)
class Submission:
    """One submitter's request for a job: the name they gave it and when they asked."""

    id: str
    job: str
    name: str
    created: float


def shared_name(inputs: JobInput) -> str:
    """The name a job shows to everyone: a shipped example's id, else ``query``; the name a
    submitter gave stays with their submission."""
    return inputs.example or "query"


def token_digest(token: str) -> str:
    """What the store keeps of a submission's token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class JobSummary:
    """A job's state and its inputs without the uploaded files: what a status poll reads."""

    id: str
    status: str
    progress: float
    stage: str
    message: str | None
    attempts: int
    created: float
    updated: float
    queued: float
    name: str
    sequence: str
    model: str
    model_version: str
    example: str | None
    has_msa: bool
    has_structure: bool
    search: dict[str, Any] | None = None
    """The search the job asked for (database, digest, parameters), if any."""
    alignment: dict[str, Any] | None = None
    """The summary of :class:`JobAlignment`, once the job has run."""

    @property
    def mode(self) -> str:
        searched = self.alignment is not None and self.alignment.get("mode") == "profile"
        return prediction_mode(self.model, self.has_msa or self.example is not None or searched)

    @classmethod
    def of(cls, job: Job) -> JobSummary:
        fields = {k: v for k, v in vars(job).items() if k not in ("inputs", "alignment")}
        inputs = job.inputs
        return cls(
            **fields, name=inputs.name, sequence=inputs.sequence, model=inputs.model,
            model_version=inputs.model_version, example=inputs.example,
            has_msa=inputs.msa is not None, has_structure=inputs.structure is not None,
            search=inputs.search,
            alignment=None if job.alignment is None else job.alignment.summary,
        )  # fmt: skip


@dataclass(frozen=True)
class JobResult:
    """``predictions``: NPZ bytes; ``predictions_json``: gzip-compressed JSON; ``truth``: NPZ of
    the true maps or ``None`` without a structure."""

    predictions: bytes
    predictions_json: bytes
    truth: bytes | None
    alignment: JobAlignment | None = None


class JobStore:
    """Jobs and results in ``path`` (created with its schema when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        with self._transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path} was written by a newer foldlens (schema {version}); upgrade"
                )
            for migration in MIGRATIONS[version:]:
                for statement in filter(str.strip, migration.split(";")):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        fields = dict(row)
        del fields["has_msa"], fields["has_structure"]
        uploads = {"msa": fields.pop("msa"), "structure": fields.pop("structure")}
        fields["inputs"] = JobInput(**json.loads(fields["inputs"]), **uploads)
        summary, a3m, couplings = (fields.pop(k) for k in ("summary", "a3m", "couplings"))
        if summary is not None:
            fields["alignment"] = JobAlignment(json.loads(summary), a3m, couplings)
        return Job(**fields)

    def submit(self, inputs: JobInput) -> tuple[Job, bool]:
        """The job for ``inputs`` and whether it was (re)queued: a new job is created, a failed one
        is queued again, any other existing job is returned as it is."""
        job_id = inputs.job_id()
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                light = {k: v for k, v in vars(inputs).items() if k not in ("msa", "structure")}
                light["name"] = shared_name(inputs)
                db.execute(
                    "INSERT INTO jobs (id, status, inputs, created, updated, queued, has_msa, "
                    "has_structure) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?)",
                    (job_id, json.dumps(light), now, now, now, inputs.msa is not None,
                     inputs.structure is not None),
                )  # fmt: skip
                db.execute(
                    "INSERT INTO uploads (id, msa, structure) VALUES (?, ?, ?)",
                    (job_id, inputs.msa, inputs.structure),
                )
            elif row["status"] == "failed":
                db.execute(
                    "UPDATE jobs SET status = 'queued', progress = 0, stage = '', message = NULL, "
                    "attempts = 0, updated = ?, queued = ? WHERE id = ?",
                    (now, now, job_id),
                )
            queued = row is None or row["status"] == "failed"
        return self.get(job_id), queued

    def add_submission(self, job_id: str, name: str) -> tuple[Submission, str]:
        """A new submission of the job, and its token (returned once, stored hashed)."""
        submission = Submission(secrets.token_hex(16), job_id, name, time.time())
        token = secrets.token_urlsafe(24)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO submissions (id, job, name, created, token) VALUES (?, ?, ?, ?, ?)",
                (submission.id, job_id, name, submission.created, token_digest(token)),
            )
        return submission, token

    def submission(self, job_id: str, submission_id: str) -> Submission:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, job, name, created FROM submissions WHERE id = ? AND job = ?",
                (submission_id, job_id),
            ).fetchone()
        if row is None:
            raise JobNotFoundError(f"job {job_id} has no submission {submission_id[:40]!r}")
        return Submission(**dict(row))

    def withdraw(self, job_id: str, token: str) -> int:
        """Remove the submission whose token this is; how many submissions of the job remain."""
        with self._transaction() as db:
            removed = db.execute(
                "DELETE FROM submissions WHERE job = ? AND token = ?", (job_id, token_digest(token))
            ).rowcount
            if not removed:
                raise NotYoursError(
                    f"job {job_id} has no submission with this token; only a submitter can "
                    "delete a job, with the token its submission returned"
                )
            (remaining,) = db.execute(
                "SELECT COUNT(*) FROM submissions WHERE job = ?", (job_id,)
            ).fetchone()
        return int(remaining)

    def remove(self, job_id: str, running_too: bool = False) -> bool:
        """Delete the job with everything stored for it — unless it is running (``running_too``
        deletes it anyway); whether it was deleted."""
        with self._transaction() as db:
            condition = "" if running_too else " AND status != 'running'"
            if not db.execute(f"DELETE FROM jobs WHERE id = ?{condition}", (job_id,)).rowcount:
                return False
            for table, column in (
                ("results", "id"),
                ("alignments", "id"),
                ("uploads", "id"),
                ("explanations", "job"),
                ("submissions", "job"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (job_id,))
        return True

    def used_bytes(self) -> int:
        """Bytes of the database in use (pages not on the free list)."""
        with self._connect() as db:
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            free = db.execute("PRAGMA freelist_count").fetchone()[0]
            size = db.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def finished_oldest_first(self) -> list[tuple[str, float]]:
        """``(id, updated)`` of every done or failed job, least recently updated first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, updated FROM jobs WHERE status IN ('done', 'failed') "
                "ORDER BY updated, id"
            ).fetchall()
        return [(row["id"], float(row["updated"])) for row in rows]

    def status(self, job_id: str) -> str | None:
        """The job's status, or ``None`` when there is no such job."""
        with self._connect() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else str(row["status"])

    def place_in_line(self, job: JobSummary) -> int | None:
        """1 for the next queued job to run, 2 for the one after, ...; ``None`` unless queued."""
        if job.status != "queued":
            return None
        with self._connect() as db:
            ahead = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND (queued < ? OR "
                "(queued = ? AND id < ?))",
                (job.queued, job.queued, job.id),
            ).fetchone()[0]
        return int(ahead) + 1

    def get(self, job_id: str) -> Job:
        """The job with all its inputs, the uploaded files included."""
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM jobs LEFT JOIN uploads USING (id) LEFT JOIN alignments USING (id) "
                "WHERE id = ?",
                (job_id,),
            ).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id}")
        return self._job(row)

    def summary(self, job_id: str) -> JobSummary:
        """The job without its uploaded files (cheap, whatever their size)."""
        with self._connect() as db:
            row = db.execute(
                "SELECT jobs.*, alignments.summary FROM jobs LEFT JOIN alignments USING (id) "
                "WHERE id = ?",
                (job_id,),
            ).fetchone()
        if row is None:
            raise JobNotFoundError(f"no job {job_id}")
        fields = dict(row)
        inputs = json.loads(fields.pop("inputs"))
        summary = fields.pop("summary")
        fields["alignment"] = None if summary is None else json.loads(summary)
        fields["search"] = inputs.get("search")
        fields["has_msa"], fields["has_structure"] = (
            bool(fields["has_msa"]),
            bool(fields["has_structure"]),
        )
        return JobSummary(
            **fields, **{k: inputs.get(k) for k in ("name", "sequence", "model", "model_version",
                                                    "example")},
        )  # fmt: skip

    def start(self, job_id: str) -> bool:
        """Mark a queued job running; ``False`` when it is not queued (already taken or gone)."""
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated = ? "
                "WHERE id = ? AND status = 'queued'",
                (time.time(), job_id),
            ).rowcount
        return changed == 1

    def report(self, job_id: str, progress: float, stage: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, stage = ?, updated = ? "
                "WHERE id = ? AND status = 'running'",
                (progress, stage, time.time(), job_id),
            )

    def finish(self, job_id: str, result: JobResult) -> None:
        """Store the result and mark the job done, atomically (nothing, if the job was deleted
        meanwhile)."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return
            db.execute(
                "INSERT OR REPLACE INTO results (id, predictions, predictions_json, truth) "
                "VALUES (?, ?, ?, ?)",
                (job_id, result.predictions, result.predictions_json, result.truth),
            )
            if result.alignment is not None:
                alignment = result.alignment
                db.execute(
                    "INSERT OR REPLACE INTO alignments (id, summary, a3m, couplings) "
                    "VALUES (?, ?, ?, ?)",
                    (job_id, json.dumps(alignment.summary), alignment.a3m, alignment.couplings),
                )
            db.execute(
                "UPDATE jobs SET status = 'done', progress = 1, stage = 'done', updated = ? "
                "WHERE id = ?",
                (time.time(), job_id),
            )

    def requeue(self, job_id: str) -> None:
        """Queue a running job again that the server interrupted on purpose (it is stopping):
        the start does not count towards ``MAX_ATTEMPTS``."""
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET status = 'queued', progress = 0, stage = 'queued again after a "
                "restart', attempts = MAX(attempts - 1, 0), updated = ? "
                "WHERE id = ? AND status = 'running'",
                (time.time(), job_id),
            )

    def fail(self, job_id: str, message: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET status = 'failed', message = ?, stage = 'failed', updated = ? "
                "WHERE id = ?",
                (message, time.time(), job_id),
            )

    def result(self, job_id: str) -> JobResult | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT predictions, predictions_json, truth FROM results WHERE id = ?", (job_id,)
            ).fetchone()
        return None if row is None else JobResult(**dict(row))

    def recover(self) -> list[str]:
        """After a restart: requeue jobs that were running (or fail them after ``MAX_ATTEMPTS``
        starts) and return every queued job id, oldest first."""
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET status = 'failed', stage = 'failed', message = 'the server "
                "stopped twice while this job was running; submit it again to retry' "
                "WHERE status = 'running' AND attempts >= ?",
                (MAX_ATTEMPTS,),
            )
            db.execute(
                "UPDATE jobs SET status = 'queued', progress = 0, stage = 'queued again after a "
                "restart' WHERE status = 'running'"
            )
            rows = db.execute(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY queued, id"
            ).fetchall()
        return [row["id"] for row in rows]

    def explanation(self, key: str) -> bytes | None:
        """A cached explanation (gzip-compressed JSON), or ``None``."""
        with self._connect() as db:
            row = db.execute("SELECT result FROM explanations WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row["result"])

    def has_explanation(self, key: str) -> bool:
        """Whether an explanation (or another stored task answer) is cached under ``key``."""
        with self._connect() as db:
            found = db.execute("SELECT 1 FROM explanations WHERE key = ?", (key,)).fetchone()
        return found is not None

    def explanation_record(self, key: str) -> tuple[str, str, bytes] | None:
        """``(job id, request JSON, result)`` of a cached explanation, or ``None``."""
        with self._connect() as db:
            row = db.execute(
                "SELECT job, request, result FROM explanations WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (row["job"], row["request"], bytes(row["result"]))

    def save_explanation(
        self, key: str, job_id: str, method: str, request: str, result: bytes
    ) -> None:
        """Cache one finished explanation; ``request`` is the JSON of target, method and options
        (nothing, if the job was deleted meanwhile)."""
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                return
            db.execute(
                "INSERT OR REPLACE INTO explanations (key, job, method, request, result, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, job_id, method, request, result, time.time()),
            )

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            rows = db.execute("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").fetchall()
        return {row["status"]: row["n"] for row in rows}
