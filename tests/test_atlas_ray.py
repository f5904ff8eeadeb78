"""The atlas on Ray: a real two-node Ray cluster on this machine (``ray start --head`` and a second
``ray start``, separate processes) gets the work spread over both nodes, and the files equal a
single-process run's; the embedded Ray of ``--workers 2`` gives the same files too.

Each Ray run is a ``foldlens atlas`` command of its own, as a user runs it: a Ray driver keeps
its cluster's token for the life of its process, so one process cannot join two clusters."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from polling import wait_for

RAY = str(Path(sys.executable).with_name("ray"))
NODE_ADDRESS = "127.0.0.2"
"""A loopback address other than 127.0.0.1: Ray swaps 127.0.0.1 for the machine's network
address in its multi-node mode (:mod:`foldlens.atlas.execution`)."""
PROTEINS = {
    "first": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ",
    "second": "GSHMLEDPVDAFQLGRSLIKQGNVPSA",
    "third": "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERSGARSKQRRPQGL",
    "fourth": "MAEGEITTFTALTEKFNLPPGNYKKPKLLYCSNGGHFLRILPDGTVDGTRDRSDQHIQLQL",
}
TARGETS = "contacts:top=2:sep=6,ss3"
METHODS = ("gradient", "guided_backprop")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def _start_node(
    arguments: list[str], folder: Path, log: Path, environment: dict[str, str]
) -> subprocess.Popen[bytes]:
    """``ray start --block`` with ``arguments``; returns once the node says it runs."""
    process = subprocess.Popen(
        [RAY, "start", "--block", "--node-ip-address", NODE_ADDRESS, "--num-cpus", "1",
         "--disable-usage-stats", "--object-store-memory", str(100 * 2**20),
         "--temp-dir", str(folder), *arguments],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=environment,
    )  # fmt: skip
    wait_for(
        lambda: (process.poll(), log.read_text(errors="replace")),
        lambda state: state[0] is not None or "Ray runtime started" in state[1],
        f"ray start {' '.join(arguments)}",
    )
    assert process.poll() is None, log.read_text(errors="replace")
    return process


@pytest.fixture
def two_node_cluster() -> Iterator[tuple[str, dict[str, str]]]:
    """A Ray head and a second node on this machine, one CPU each, token authentication with a
    token of their own: the address and the environment that joins it. Stopped after (each
    ``ray start --block`` stops its node's processes)."""
    root = Path(tempfile.mkdtemp(prefix="flray"))  # short: Ray's socket paths must fit 107 bytes
    token = root / "token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    environment = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    address = f"{NODE_ADDRESS}:{_free_port()}"
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.append(
            _start_node(
                ["--head", "--port", address.split(":")[1], "--include-dashboard", "false"],
                root / "head",
                root / "head.log",
                environment,
            )
        )
        nodes.append(
            _start_node(["--address", address], root / "node", root / "node.log", environment)
        )
        yield address, environment
    finally:
        for node in nodes:
            node.send_signal(signal.SIGTERM)
        for node in nodes:
            node.wait()
        left = subprocess.run(
            ["pgrep", "-f", str(root)], capture_output=True, text=True, check=False
        ).stdout.split()
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"Ray processes left running: {left}"


def _fasta(folder: Path) -> Path:
    path = folder / "set.fasta"
    path.write_text("".join(f">{name}\n{sequence}\n" for name, sequence in PROTEINS.items()))
    return path


def _same_files(found: Path, expected: Path) -> None:
    """The same protein files with equal arrays: the same work at the same torch thread count
    gives the same bits wherever it runs. (At another thread count sums run in another order, and
    a ReLU whose input is within rounding of 0 may switch: maps then differ by ~1e-4.)"""
    names = sorted(p.name for p in (found / "proteins").iterdir())
    assert names == sorted(p.name for p in (expected / "proteins").iterdir())
    assert len(names) == len(PROTEINS)
    for name in names:
        ours, theirs = np.load(found / "proteins" / name), np.load(expected / "proteins" / name)
        assert sorted(ours.files) == sorted(theirs.files)
        for key in ours.files:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{name} {key}")


@pytest.fixture(scope="module")
def single_process_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The atlas in one process with one torch thread, as Ray's workers have."""
    return _atlas_command(tmp_path_factory.mktemp("single"), ["--threads", "1"])


def _atlas_command(
    folder: Path, options: list[str], environment: dict[str, str] | None = None
) -> Path:
    """``foldlens atlas`` of the four proteins with ``options``, in a process of its own; the
    output folder."""
    out = folder / "atlas"
    argv = [sys.executable, "-m", "foldlens", "atlas", str(_fasta(folder)), "--out", str(out),
            "--targets", TARGETS, "--methods", *METHODS, *options]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{len(PROTEINS)} written, 0 already done, 0 failed" in done.stdout
    return out


def test_a_two_node_cluster_shares_the_work_and_gives_the_same_files(
    two_node_cluster: tuple[str, dict[str, str]], single_process_run: Path, tmp_path: Path
) -> None:
    address, environment = two_node_cluster
    options = ["--ray", address, "--workers", "2", "--threads", "1"]
    out = _atlas_command(tmp_path, options, environment)
    nodes = json.loads((out / "atlas.json").read_text())["nodes"]
    assert len(nodes) == 2, f"one node did it all: {nodes}"
    assert all(node.startswith(f"{NODE_ADDRESS} ") for node in nodes), nodes
    assert sum(nodes.values()) == len(PROTEINS)
    _same_files(out, single_process_run)


def test_the_embedded_ray_of_two_workers_gives_the_same_files(
    single_process_run: Path, tmp_path: Path
) -> None:
    out = _atlas_command(tmp_path, ["--workers", "2", "--threads", "1"])
    nodes = json.loads((out / "atlas.json").read_text())["nodes"]
    assert len(nodes) == 1 and next(iter(nodes)).startswith("127.0.0.1 "), "on loopback only"
    _same_files(out, single_process_run)


CRASHING_MODEL = """
import os, sys
sys.path.insert(0, {examples!r})
from tiny_ss3 import TinySS3Adapter, TinySS3Net


class CrashingNet(TinySS3Net):
    def forward(self, x):
        if x.shape[-1] == {length}:  # this protein takes its worker process down
            os._exit(1)
        return super().forward(x)


class CrashingAdapter(TinySS3Adapter):
    name = "crashing_ss3"

    def build(self):
        return CrashingNet()
"""


def test_a_worker_that_dies_fails_its_protein_and_the_run_goes_on(tmp_path: Path) -> None:
    """A user's model that kills its process on one protein: that protein is recorded as failed,
    the worker restarts, every other protein is written."""
    examples = str(Path(__file__).parents[1] / "examples")
    model = tmp_path / "crashing.py"
    model.write_text(CRASHING_MODEL.format(examples=examples, length=len(PROTEINS["second"])))
    out = tmp_path / "atlas"
    argv = [sys.executable, "-m", "foldlens", "atlas", str(_fasta(tmp_path)), "--out", str(out),
            "--model", "crashing_ss3", "--model-file", f"{model.name}:CrashingAdapter",
            "--targets", "ss3", "--methods", "gradient", "--workers", "2",
            "--threads", "1"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stderr[-3000:]
    summary = json.loads((out / "atlas.json").read_text())
    assert list(summary["failures"]) == ["second"], summary["failures"]
    assert summary["failures"]["second"].startswith("worker died")
    assert summary["written"] == len(PROTEINS) - 1
