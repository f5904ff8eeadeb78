"""Load check: concurrent clients submitting and reading jobs against a real server, on loopback,
while one more client floods the queue.

    python -m benchmarks.load [--clients 50] [--jobs-per-client 2] [--length 100] [--seconds 600]
                              [--no-flood]

A fresh ``foldlens serve`` starts on a free 127.0.0.1 port with an empty data folder, trusting
127.0.0.1 as a proxy so that each client, sending its own ``X-Forwarded-For`` address, is a client
of its own to the server's fair sharing (default caps: 5 jobs queued per address, 30 submissions a
minute). Each client (a thread with its own connection) repeats: submit a new random sequence, poll
the job until it is done, read the predictions (gzip JSON), submit the same sequence again (found,
not recomputed) and read its status. Every client stops after ``--jobs-per-client`` jobs or
``--seconds``. The flooder submits new sequences as fast as the server answers, until the others
are done; its 429 refusals are the caps at work, counted apart.

Printed: per request kind the count, p50 and p95 latency (``poll``: status polls while the flood
runs); overall requests/s and jobs/s; the flooder's accepted and refused submissions; the error
count (any other non-2xx answer or failed connection; must be 0). The baseline row is the same
number of predictions computed in this process without HTTP, so the difference is the cost of the
service.
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

from foldlens.models import load
from foldlens.predict import Query, predict
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.server.background import background_server


class Client:
    """One HTTP/1.1 keep-alive connection that records latency per request kind."""

    def __init__(
        self, base: str, latencies: dict[str, list[float]], errors: list[str], number: int
    ) -> None:
        address = urlsplit(base)
        self.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        self.latencies = latencies
        self.errors = errors
        self.forwarded = f"10.0.{number // 250}.{number % 250 + 1}"
        self.refused = 0

    def request(
        self, kind: str, method: str, path: str, body: dict | None = None, refusable: bool = False
    ) -> dict | None:
        """The JSON answer; ``None`` after an error, or a 429 when ``refusable`` (counted)."""
        headers = {"Accept-Encoding": "gzip", "X-Forwarded-For": self.forwarded}
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
        if refusable and response.status == 429:
            self.refused += 1
            return None
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
    client = Client(base, latencies, errors, seed)
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


def flood(
    base: str,
    latencies: dict[str, list[float]],
    errors: list[str],
    until: threading.Event,
    counts: dict[str, int],
) -> None:
    """Submit new sequences back to back until ``until`` is set."""
    rng = random.Random(-1)
    client = Client(base, latencies, errors, 999)
    while not until.is_set():
        sequence = random_sequence(rng, 60)
        if client.request("flood", "POST", "/api/jobs", {"sequence": sequence}, refusable=True):
            counts["accepted"] += 1
    counts["refused"] = client.refused


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def baseline(jobs: int, length: int) -> float:
    """Seconds for ``jobs`` predictions in this process (no HTTP, no store)."""
    model = load("default")
    rng = random.Random(12345)
    start = time.perf_counter()
    for _ in range(jobs):
        predict(model, Query("q", random_sequence(rng, length)), "default")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--jobs-per-client", type=int, default=2)
    parser.add_argument("--length", type=int, default=100, help="residues per random sequence")
    parser.add_argument("--seconds", type=float, default=600.0, help="time limit per client")
    parser.add_argument("--no-flood", action="store_true", help="no client floods the queue")
    args = parser.parse_args()

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    jobs_done: list[int] = []
    flags = ("--trusted-proxy", "127.0.0.1", "--max-jobs", str(10 * args.clients))
    flooding = threading.Event()
    counts = {"accepted": 0, "refused": 0}
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
        flooder = threading.Thread(target=flood, args=(base, latencies, errors, flooding, counts))
        if not args.no_flood:
            flooder.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        flooding.set()
        if not args.no_flood:
            flooder.join()
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
    if not args.no_flood:
        print(
            f"\nflooder: {counts['accepted']} submissions accepted, {counts['refused']} refused "
            "with 429 (its address's caps)"
        )
    print(f"\nerrors: {len(errors)}")
    for error in errors[:10]:
        print(f"  {error}")
    return 1 if errors or not jobs_done else 0


if __name__ == "__main__":
    sys.exit(main())
