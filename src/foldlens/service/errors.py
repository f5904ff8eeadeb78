"""Errors of the service layer; the server maps each to an HTTP status with its message."""


class ServiceError(Exception):
    """Base of the errors a client caused; ``str(error)`` is the message to show."""

    status = 400


class InvalidInputError(ServiceError):
    """The submitted sequence, file or option cannot be used (400)."""


class JobNotFoundError(ServiceError):
    """No job has this id (404)."""

    status = 404


class NotYoursError(ServiceError):
    """The request lacks the ticket that would let it change this (403)."""

    status = 403


class NotReadyError(ServiceError):
    """The job has not finished, so its results do not exist yet (409)."""

    status = 409


class NotAvailableError(ServiceError):
    """The job exists but has no such result, e.g. true maps without a structure (404)."""

    status = 404


class StoppedError(ServiceError):
    """Work that a request waited for stopped before it finished: over this server's time budget,
    or an internal error; the message says which (503)."""

    status = 503
