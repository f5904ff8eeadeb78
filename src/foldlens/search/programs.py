"""Running a search program (MMseqs2, HH-suite) as a child process that can be cancelled."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from .result import SearchCancelledError


def run(
    command: list[str],
    cancelled: Callable[[], bool] | None = None,
    line: Callable[[str], None] | None = None,
) -> None:
    """Run ``command``, handing each line it prints (stdout and stderr) to ``line``; kill it when
    ``cancelled()`` holds at one of its lines (:class:`SearchCancelledError`); a
    ``RuntimeError`` with its last lines when it fails."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    assert process.stdout is not None
    tail: list[str] = []
    with process:
        for text in process.stdout:
            tail = [*tail[-19:], text.rstrip()]
            if line is not None:
                line(text)
            if cancelled is not None and cancelled():
                process.kill()
                raise SearchCancelledError
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed: " + " | ".join(tail[-5:]))
