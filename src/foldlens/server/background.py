"""``foldlens serve`` in a child process on a free loopback port, for tests and benchmarks that
must talk to the real server over real HTTP, and how they start Debian's Chromium to drive the page
(SwiftShader gives it a software WebGL, so the 3D view really renders)."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    # Pages and 2D canvases rastered by the CPU rasterizer, not through SwiftShader's emulated GPU
    # (which is there for WebGL): a click's drawing then takes half the CPU it took, closer to
    # what a browser with a real GPU spends, on the cores the server computes on.
    "--disable-gpu-rasterization",
    "--disable-accelerated-2d-canvas",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _stop_with_parent() -> None:
    """In the child before it runs the server: be sent SIGTERM when the parent dies (Linux's
    ``PR_SET_PDEATHSIG``), so a killed test run leaves no server behind."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def background_server(
    data_dir: Path, timeout: float = 180.0, flags: tuple[str, ...] = ()
) -> Iterator[str]:
    """Start the server with its jobs in ``data_dir`` and further ``serve`` ``flags``; yield its
    base URL; stop it on exit.

    The server's log goes to ``data_dir/server.log`` and is raised with the error when it does not
    come up within ``timeout`` seconds.
    """
    with server_process(data_dir, timeout, flags) as (base, _):
        yield base


@contextmanager
def server_process(
    data_dir: Path, timeout: float = 180.0, flags: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`background_server`, yielding the server's process too (to signal or kill it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data_dir / "server.log"
    command = [
        sys.executable,
        "-m",
        "foldlens",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
        *flags,
    ]
    base = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/models", timeout=2).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the server did not start:\n{log_path.read_text()}"
                        ) from None
                    time.sleep(0.2)
            yield base, process
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a long job holds it: nothing may outlive the caller
                process.kill()
                process.wait()
