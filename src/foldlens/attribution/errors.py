"""Errors and warnings raised by the attribution engine."""


class UnsupportedActivationError(RuntimeError):
    """A rule-based method met an activation it has no exact rule for, and ``strict=True``."""


class UnsupportedActivationWarning(UserWarning):
    """A rule-based method met an activation without an exact rule; the plain gradient was used."""
