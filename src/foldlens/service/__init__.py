"""Jobs, their SQLite store, exports and examples: the one layer that combines the others."""

from .errors import (
    InvalidInputError,
    JobNotFoundError,
    NotAvailableError,
    NotReadyError,
    ServiceError,
)
from .inputs import JobInput, job_input
from .jobs import JobService
from .store import Job, JobResult, JobStore

__all__ = [
    "InvalidInputError",
    "Job",
    "JobInput",
    "JobNotFoundError",
    "JobResult",
    "JobService",
    "JobStore",
    "NotAvailableError",
    "NotReadyError",
    "ServiceError",
    "job_input",
]
