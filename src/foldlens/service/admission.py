"""Fair sharing of one server: caps on queued work, and a rate limit on submissions.

A *client* is whoever the server takes the request to come from (the peer address, or the address
a trusted proxy forwarded). Each client may have at most ``jobs_per_client`` jobs queued or
running, all clients together at most ``jobs``, and each may submit at most
``submissions_per_minute`` times in any 60 seconds. A refusal is a :class:`BusyError` (HTTP 429)
that says when to try again. Resubmitting inputs whose job exists queues nothing, so only the rate
limit applies to it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from .errors import ServiceError

WINDOW = 60.0
"""Seconds over which submissions are counted for the rate limit."""
MAX_TRACKED = 10_000
"""Clients whose submission times are kept before quiet ones are forgotten."""


@dataclass(frozen=True)
class Limits:
    """How much one server takes on (the ``serve`` flags of the same names)."""

    jobs: int = 100
    jobs_per_client: int = 5
    submissions_per_minute: int = 30

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive whole number, got {value!r}")


class BusyError(ServiceError):
    """The server or this client has as much work queued as it may (429, ``Retry-After``)."""

    status = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, math.ceil(retry_after))


class Admission:
    """Counts each client's pending jobs and recent submissions against :class:`Limits`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._pending: dict[str, set[str]] = defaultdict(set)
        self._owner: dict[str, str] = {}
        self._submissions: dict[str, deque[float]] = defaultdict(deque)

    def count_submission(self, client: str) -> None:
        """Record one submission by ``client``, or refuse it when the client is over the rate."""
        now = time.monotonic()
        with self._lock:
            recent = self._submissions[client]
            while recent and recent[0] <= now - WINDOW:
                recent.popleft()
            if len(recent) >= self.limits.submissions_per_minute:
                raise BusyError(
                    f"more than {self.limits.submissions_per_minute} submissions a minute from "
                    "your address; wait a moment",
                    recent[0] + WINDOW - now,
                )
            recent.append(now)
            if len(self._submissions) > MAX_TRACKED:  # forget clients quiet for a window
                for quiet in [
                    c for c, times in self._submissions.items() if times[-1] <= now - WINDOW
                ]:
                    del self._submissions[quiet]

    def check_room(self, client: str, pending: int, typical_seconds: float) -> None:
        """Refuse a new job when ``client`` or the server (``pending`` jobs in all) is full."""
        with self._lock:
            mine = len(self._pending.get(client, ()))
        if mine >= self.limits.jobs_per_client:
            raise BusyError(
                f"you have {mine} jobs queued or running, the most one address may have; submit "
                "more when one has finished",
                typical_seconds,
            )
        if pending >= self.limits.jobs:
            raise BusyError(
                f"the server has {pending} jobs queued or running, as many as it takes; "
                "try again later",
                typical_seconds,
            )

    def admitted(self, client: str, job_id: str) -> None:
        with self._lock:
            self._pending[client].add(job_id)
            self._owner[job_id] = client

    def finished(self, job_id: str) -> None:
        with self._lock:
            client = self._owner.pop(job_id, None)
            if client is not None:
                self._pending[client].discard(job_id)
                if not self._pending[client]:
                    del self._pending[client]
