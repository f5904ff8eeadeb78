"""Run a command and hold its whole process tree to a memory limit.

    python scripts/peak_memory.py --limit-gb 4 -- .venv/bin/pytest -q

Every ``--every`` seconds the memory of the command and of all its descendants (servers, browsers,
workers) is summed: the proportional set size of each process (``Pss`` in
``/proc/PID/smaps_rollup``), so pages that processes share are counted once in all. The peak is
printed when the command ends. When the sum passes the limit the tree is stopped at once and the
exit status is 1, so a leak fails the run before it takes the machine down; otherwise the exit
status is the command's. Standard library only (Linux).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GB = 1e9


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, for every process on the machine."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The fields after the command name, which is in parentheses and may hold spaces.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _descendants(root: int) -> list[int]:
    tree = _children()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(tree.get(pid, []))
    return found


def _pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass  # the process ended between listing and reading
    return 0


def tree_memory(root: int) -> int:
    """Bytes of memory held by ``root`` and its descendants (sum of their PSS)."""
    return sum(_pss_bytes(pid) for pid in _descendants(root))


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the command's process group, then SIGKILL what is left after 10 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-gb", type=float, required=True, help="memory limit of the tree")
    parser.add_argument("--every", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    limit = int(args.limit_gb * GB)
    start = time.monotonic()
    process = subprocess.Popen(command, start_new_session=True)
    peak = 0
    try:
        while process.poll() is None:
            peak = max(peak, tree_memory(process.pid))
            if peak > limit:
                _stop(process)
                print(
                    f"peak_memory: the command's processes held {peak / GB:.2f} GB, over the "
                    f"limit of {args.limit_gb:g} GB: stopped",
                    file=sys.stderr,
                )
                return 1
            time.sleep(args.every)
    except KeyboardInterrupt:
        _stop(process)
        raise
    minutes = (time.monotonic() - start) / 60
    print(
        f"peak_memory: peak {peak / GB:.2f} GB of {args.limit_gb:g} GB allowed, "
        f"{minutes:.1f} min, exit status {process.returncode}"
    )
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
