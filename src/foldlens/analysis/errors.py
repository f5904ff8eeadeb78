"""Errors raised by the analyses."""


class AnalysisCancelledError(Exception):
    """The caller's ``cancelled()`` returned True; the analysis stopped before its next step."""
