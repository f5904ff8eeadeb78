"""Load check: concurrent clients submitting and reading jobs against a real server, on loopback.

    python -m benchmarks.load [--clients 8] [--jobs-per-client 6] [--length 150] [--seconds 120]

A fresh ``foldlens serve`` starts on a free 127.0.0.1 port with an empty data folder. Each client
(a thread with its own connection) repeats: submit a new random sequence, poll the job until it is
done, read the predictions (gzip JSON), submit the same sequence again (found, not recomputed) and
read its status. Every client stops after ``--jobs-per-client`` jobs or ``--seconds``.

Printed: per request kind the count, p50 and p95 latency; overall requests/s and jobs/s; the error
count (any non-2xx answer or failed connection; must be 0). The baseline row is the same number of
predictions computed in this process without HTTP, so the difference is the cost of the service.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from foldlens.models import load, spec
from foldlens.predict import Query, predict
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.server.background import background_server


class Client:
    """One HTTP/1.1 keep-alive connection that records latency per request kind."""

    def __init__(self, base: str, latencies: dict[str, list[float]], errors: list[str]) -> None:
        address = urlsplit(base)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        self.latencies = latencies
        self.errors = errors

    def request(self, kind: str, method: str, path: str, body: dict | None = None) -> dict | None:
        headers = {"Accept-Encoding": "gzip"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        try:
            self.connection.request(method, path, payload, headers)
            response = self.connection.getresponse()
            data = response.read()
        except OSError as error:
            self.errors.append(f"{kind}: {error}")
            self.connection.close()
            return None
        self.latencies[kind].append(time.perf_counter() - start)
        if not 200 <= response.status < 300:
            self.errors.append(f"{kind}: HTTP {response.status} {data[:200]!r}")
            return None
        if response.getheader("Content-Type", "").startswith("application/json"):
            if response.getheader("Content-Encoding") == "gzip":
                import gzip

                data = gzip.decompress(data)
            parsed: dict = json.loads(data)
            return parsed
        return None


def random_sequence(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(AMINO_ACIDS) for _ in range(length))


def run_client(
    base: str,
    seed: int,
    args: argparse.Namespace,
    latencies: dict[str, list[float]],
    errors: list[str],
    jobs_done: list[int],
) -> None:
    rng = random.Random(seed)
    client = Client(base, latencies, errors)
    deadline = time.monotonic() + args.seconds
    for _ in range(args.jobs_per_client):
        if time.monotonic() > deadline:
            return
        sequence = random_sequence(rng, args.length)
        job = client.request("submit", "POST", "/api/jobs", {"sequence": sequence})
        if job is None:
            continue
        while job is not None and job["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                errors.append(f"job {job['id']} not done within {args.seconds} s")
                return
            time.sleep(0.1)
            job = client.request("poll", "GET", f"/api/jobs/{job['id']}")
        if job is None or job["status"] != "done":
            errors.append(f"job ended as {None if job is None else job['status']}")
            continue
        client.request("predictions", "GET", f"/api/jobs/{job['id']}/predictions")
        again = client.request("resubmit", "POST", "/api/jobs", {"sequence": sequence})
        if again is not None and again["id"] != job["id"]:
            errors.append("resubmitting the same sequence made a new job")
        client.request("status", "GET", f"/api/jobs/{job['id']}")
        jobs_done.append(1)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def baseline(jobs: int, length: int) -> float:
    """Seconds for ``jobs`` predictions in this process (no HTTP, no store)."""
    model, model_spec = load("default"), spec("default")
    rng = random.Random(12345)
    start = time.perf_counter()
    for _ in range(jobs):
        predict(model, Query("q", random_sequence(rng, length)), model_spec)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs-per-client", type=int, default=6)
    parser.add_argument("--length", type=int, default=150, help="residues per random sequence")
    parser.add_argument("--seconds", type=float, default=120.0, help="time limit per client")
    args = parser.parse_args()

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    jobs_done: list[int] = []
    # Every client here comes from 127.0.0.1: one address, so its caps are the whole load's.
    flags = ("--max-jobs-per-client", str(args.clients), "--submissions-per-minute", "100000")
    with (
        tempfile.TemporaryDirectory() as folder,
        background_server(Path(folder), flags=flags) as base,
    ):
        start = time.perf_counter()
        threads = [
            threading.Thread(
                target=run_client, args=(base, seed, args, latencies, errors, jobs_done)
            )
            for seed in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    direct = baseline(len(jobs_done), args.length)

    requests = sum(len(v) for v in latencies.values())
    print(
        f"{args.clients} clients, {len(jobs_done)} jobs of {args.length} residues, "
        f"{requests} requests in {elapsed:.1f} s on loopback\n"
    )
    print(f"{'request':<14}{'count':>7}{'p50 ms':>10}{'p95 ms':>10}")
    for kind, values in latencies.items():
        print(
            f"{kind:<14}{len(values):>7}{1000 * statistics.median(values):>10.1f}"
            f"{1000 * percentile(values, 0.95):>10.1f}"
        )
    print(f"\n{'':<30}{'jobs/s':>10}{'requests/s':>12}")
    print(
        f"{'server (HTTP, store, worker)':<30}{len(jobs_done) / elapsed:>10.2f}"
        f"{requests / elapsed:>12.1f}"
    )
    print(f"{'baseline (predict in-process)':<30}{len(jobs_done) / direct:>10.2f}{'':>12}")
    print(f"\nerrors: {len(errors)}")
    for error in errors[:10]:
        print(f"  {error}")
    return 1 if errors or not jobs_done else 0


if __name__ == "__main__":
    sys.exit(main())
