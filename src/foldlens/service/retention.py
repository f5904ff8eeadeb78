"""How long finished jobs are kept, and how much disk they may take.

A sweep deletes finished (done or failed) jobs, with their results, uploads, explanations and
submissions: first every job not updated for ``days``, then the least recently updated ones while
the database uses more than ``max_bytes``. Queued and running jobs are never swept. The freed pages
are reused by new data, so the database file stops growing at about ``max_bytes``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .store import JobStore

log = logging.getLogger(__name__)
DAY = 86_400.0


@dataclass(frozen=True)
class Retention:
    """``days``: keep finished jobs this long after their last update (``None``: for ever);
    ``max_bytes``: the most the database may use (``None``: no limit)."""

    days: float | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("days", self.days), ("max_bytes", self.max_bytes)):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise ValueError(f"retention {name} must be positive, got {value!r}")

    def sweep(self, store: JobStore) -> list[str]:
        """Delete what the policy no longer keeps; the ids of the deleted jobs."""
        if self.days is None and self.max_bytes is None:
            return []
        deleted = []
        finished = store.finished_oldest_first()
        if self.days is not None:
            cutoff = time.time() - self.days * DAY
            for job_id, updated in finished:
                if updated < cutoff and store.remove(job_id):
                    deleted.append(job_id)
        if self.max_bytes is not None:
            for job_id, _ in finished:
                if store.used_bytes() <= self.max_bytes:
                    break
                if job_id not in deleted and store.remove(job_id):
                    deleted.append(job_id)
        if deleted:
            log.info("retention: deleted %d finished jobs", len(deleted))
        return deleted
