"""The explorer's speed as a person meets it, as ratios to one full-model gradient of the cell.

    python -m benchmarks.explorer [--example 2xyiA] [--cells 3] [--quick]

The *reference*, measured first in this process: the vanilla gradient of a Cβ–Cβ expected distance
through the whole default network (``fl.attribute``, default packing, the torch threads the
server uses too), median over the cells. Then, for cells new to the server each time:

- **API**: a fresh ``foldlens serve`` (loopback, empty data folder) predicts the example; the
  gradient, deconvnet and guided-backprop maps of a new cell in one request (and the server's own
  compute time, so the rest is HTTP/JSON overhead); the same request again (cached); in-silico
  mutagenesis of a new cell at its default window, and at every residue (``--quick`` skips it),
  with the task's progress;
- **page**: Debian's Chromium clicks a Cβ–Cβ cell (to the first panel drawn and to all three) and a
  residue of the SS3 track;
- **prediction by length**: ``predict`` on random sequences of 100–500 residues, and the exponent
  of time ∝ L^k fitted to them;
- **memory**: a second fresh server with a 500-residue job, the clicks of a page's visit through
  the API (new cells near and far from the diagonal, residues, mutagenesis), then its peak RSS.

Each row prints seconds, the ratio to the reference and the goal. The mutagenesis floor row is
arithmetic, not a timing: its convolutions' floating-point operations at the rate this machine's
2D convolutions reach, to show how far any exact float32 method could go.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable
from json import dumps, loads
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import foldlens.attribution as fl
from foldlens.models import adapter, load
from foldlens.models.default import DefaultNet
from foldlens.models.views import OutputTarget, Whole, head_readout
from foldlens.predict import predict
from foldlens.protein.alphabet import AMINO_ACIDS
from foldlens.protein.record import Protein
from foldlens.server.background import CHROMIUM, CHROMIUM_ARGS, background_server, server_process
from foldlens.service.examples import example
from foldlens.service.explain import explain_together

RULES = ("gradient", "deconvnet", "guided_backprop")
MUTAGENESIS_WINDOW = 3  # the option's default
Rows = list[tuple[str, float, float | None]]
"""What, seconds, goal as a ratio to the reference (``None``: no goal)."""


def cells(count: int) -> list[tuple[int, int]]:
    """New Cβ–Cβ cells of a 298-residue protein, away from its ends, far from the diagonal and
    near it in turn."""
    return [(30 + (53 * k) % 200, 30 + (170 + 71 * k) % 230) for k in range(count)]


# -- in this process ------------------------------------------------------------------------------


def reference_seconds(example_id: str, count: int) -> float:
    """One vanilla gradient of a cell's expected distance through the whole network (median)."""
    chosen = example(example_id)
    model, found = load("default"), adapter("default")
    x = found.encoded(Protein(chosen.sequence, chosen.profile())).x
    whole = Whole(model, found.heads)
    times = []
    for k, (i, j) in enumerate([(5, 6), *cells(count)]):
        readout = head_readout(found.spec, OutputTarget("dist_cb_cb", i, j), cell=False)
        start = time.perf_counter()
        fl.attribute(whole, x, lambda out, r=readout: r(out)[0], method="gradient")
        if k > 0:  # the first is a warm-up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_process_seconds(example_id: str, count: int) -> float:
    """The three rule maps of a cell through its view, in this process (median)."""
    chosen = example(example_id)
    model, found = load("default"), adapter("default")
    inputs = found.encoded(Protein(chosen.sequence, chosen.profile()))
    explain_together(model, found, inputs, OutputTarget("dist_cb_cb", 5, 6), list(RULES))
    times = []
    for i, j in cells(count):
        start = time.perf_counter()
        explain_together(model, found, inputs, OutputTarget("dist_cb_cb", i + 1, j), list(RULES))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def convolution_rate() -> float:
    """Floating-point operations per second of the 2D trunk's convolutions here (channels-last,
    no gradients, a 122-cell window: what mutagenesis runs)."""
    weight = torch.randn(64, 64, 3, 3)
    window = torch.randn(4, 64, 122, 122).contiguous(memory_format=torch.channels_last)
    best = math.inf
    with torch.no_grad():
        for _ in range(5):
            start = time.perf_counter()
            F.conv2d(window, weight, dilation=2)
            best = min(best, time.perf_counter() - start)
    return 4 * 118 * 118 * 64 * 64 * 9 * 2 / best


def mutant_operations(net: DefaultNet) -> float:
    """Floating-point operations of the 2D trunk's convolutions for one mutant of a cell whose two
    windows lie apart (the common case): every convolution on its shrinking valid window."""
    size, total = len(net.pair_cell_windows(0, 500)[0][0]), 0.0
    for conv in net.trunk2d.modules():
        if isinstance(conv, torch.nn.Conv2d):
            size -= 2 * conv.dilation[0]
            total += 2 * size * size * conv.in_channels * conv.out_channels * 9 * 2
    return total


def prediction_by_length(lengths: tuple[int, ...]) -> list[tuple[int, float]]:
    """Seconds of ``predict`` (no MSA, no 3D model) on a random sequence of each length."""
    model, found = load("default"), adapter("default")
    rng = np.random.default_rng(0)
    predict(model, Protein("".join(rng.choice(list(AMINO_ACIDS), 50))), found)  # warm-up
    measured = []
    for length in lengths:
        protein = Protein("".join(rng.choice(list(AMINO_ACIDS), length)))
        start = time.perf_counter()
        predict(model, protein, found)
        measured.append((length, time.perf_counter() - start))
    return measured


# -- through the server ---------------------------------------------------------------------------


def post(base: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base}{path}", data=dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return response.status, loads(response.read())


def get(base: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}{path}") as response:
        answer: dict[str, Any] = loads(response.read())
        return answer


def submit(base: str, body: dict[str, Any]) -> str:
    _, job = post(base, "/api/jobs", body)
    while job["status"] not in ("done", "failed"):
        time.sleep(0.1)
        job = get(base, f"/api/jobs/{job['id']}")
    assert job["status"] == "done", job
    return str(job["id"])


def explained(
    base: str, job: str, target: dict[str, Any], methods: list[str], options: dict[str, Any],
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The answer to an explain request, following its task to the end."""
    body = {"target": target, "methods": methods, "options": options, "wait": 10}
    status, answer = post(base, f"/api/jobs/{job}/explain", body)
    while status == 202:
        task = answer["task"]
        while task["status"] == "running":
            if progress is not None:
                progress(task["progress"])
            task = get(base, f"{task['poll']}&after={task['version']}&wait=10")
        assert task["status"] == "done", task
        status, answer = post(base, f"/api/jobs/{job}/explain", body | {"wait": 0})
    return answer


def api_rows(base: str, job: str, length: int, count: int, every_residue: bool) -> Rows:
    three, computed, cached = [], [], []
    for i, j in cells(count):
        target = {"head": "dist_cb_cb", "i": i, "j": j}
        start = time.perf_counter()
        answer = explained(base, job, target, list(RULES), {})
        three.append(time.perf_counter() - start)
        computed.append(max(result["seconds"] for result in answer["results"].values()))
        start = time.perf_counter()
        explained(base, job, target, list(RULES), {})
        cached.append(time.perf_counter() - start)
    rows: Rows = [
        ("API: three rule maps of a new cell", statistics.median(three), 0.35),
        ("  of which the server computing", statistics.median(computed), None),
        ("  of which HTTP and JSON", statistics.median(three) - statistics.median(computed), None),
        ("API: the same cell again (cached)", statistics.median(cached), None),
    ]
    windows = [("default window", MUTAGENESIS_WINDOW, 5.0, (41, 201))]
    if every_residue:  # the smallest window around i and j that covers the protein
        covering = max(min(abs(k - 41), abs(k - 203)) for k in range(length))
        windows.append(("every residue", covering, 50.0, (41, 203)))
    for words, window, goal, (i, j) in windows:
        start = time.perf_counter()
        explained(
            base, job, {"head": "dist_cb_cb", "i": i, "j": j}, ["mutagenesis"],
            {"mutagenesis": {"window": window}}, lambda fraction, w=words: progress(w, fraction),
        )  # fmt: skip
        print(" " * 60, end="\r")
        rows.append((f"API: mutagenesis of a cell, {words}", time.perf_counter() - start, goal))
    return rows


PAGE_CLOCK = """(() => {
  let clicked = null;
  let ready = {};
  document.addEventListener("pointerdown", (event) => {
    clicked = event.timeStamp;
    ready = {};
  }, true);
  new MutationObserver((changes) => {
    for (const change of changes) {
      const id = change.target.dataset?.testid ?? "";
      if (!id.startsWith("panel-") || change.target.dataset.state !== "ready") continue;
      ready[id] ??= (performance.now() - clicked) / 1000;
      if (RULES.every((method) => `panel-${method}` in ready))
        console.log(`benchmark: ${JSON.stringify(RULES.map((m) => ready[`panel-${m}`]))}`);
    }
  }).observe(document.body, { attributes: true, subtree: true, attributeFilter: ["data-state"] });
})()"""
"""Times read by the page's own clock, from the pointer going down on a target to each rule panel
turning ready, logged once all three are. Python waits for that log line rather than polling
the page: polling would make the page draw frames, in software, on the two cores the server
computes on (and Playwright, starved of CPU meanwhile, notices a ready panel up to 0.5 s late)."""


def progress(what: str, fraction: float) -> None:
    print(f"  mutagenesis, {what}: {fraction:4.0%}", end="\r", flush=True)


def page_rows(base: str, job: str, sequence: str, count: int) -> Rows:
    from playwright.sync_api import sync_playwright

    first, all_three, residue = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/view/{job}")
        page.wait_for_selector("body[data-ready='true']", timeout=60_000)
        page.evaluate(PAGE_CLOCK.replace("RULES", dumps(RULES)))
        heatmap = page.get_by_test_id("map-dist_cb_cb")
        for i, j in cells(count):
            i, j = i + 2, j + 2  # new to the server
            heatmap.scroll_into_view_if_needed()
            box = heatmap.bounding_box()
            assert box is not None
            page.wait_for_timeout(300)
            seconds = clicked_until_ready(
                page,
                box["x"] + (j + 0.5) / len(sequence) * box["width"],
                box["y"] + (i + 0.5) / len(sequence) * box["height"],
            )
            first.append(seconds[0])
            all_three.append(max(seconds))
        tracks = page.get_by_test_id("tracks")
        for k in range(count):
            tracks.scroll_into_view_if_needed()
            x, y = track_point(tracks, "ss3", 30 + (97 * k) % 238)
            page.wait_for_timeout(300)
            residue.append(max(clicked_until_ready(page, x, y)))
        browser.close()
    return [
        ("page: a cell's first panel drawn", statistics.median(first), 0.25),
        ("page: a cell's three panels drawn", statistics.median(all_three), None),
        ("page: a residue's three panels drawn", statistics.median(residue), None),
    ]


def clicked_until_ready(page: Any, x: float, y: float) -> list[float]:
    """Click at (x, y); seconds from the click to each rule panel drawn (:data:`RULES` order)."""
    with page.expect_console_message(
        lambda message: message.text.startswith("benchmark: "), timeout=60_000
    ) as logged:
        page.mouse.click(x, y)
    seconds: list[float] = loads(logged.value.text.removeprefix("benchmark: "))
    return seconds


def track_point(tracks: Any, head: str, residue: int) -> tuple[float, float]:
    """Page coordinates of ``residue`` (0-based) in the track row of ``head``, from the rows and
    columns the tracks canvas publishes."""
    rows = loads(tracks.get_attribute("data-rows") or "[]")
    columns = loads(tracks.get_attribute("data-columns") or "{}")
    row = next(row for row in rows if row["head"] == head)
    box = tracks.bounding_box()
    assert box is not None
    cell = (box["width"] - columns["left"] - columns["right"]) / columns["count"]
    x = box["x"] + columns["left"] + (residue + 0.5) * cell
    return x, box["y"] + row["top"] + row["height"] / 2


def peak_memory(length: int) -> tuple[float, float]:
    """A fresh server's peak RSS (GB) after a page's worth of clicks on a job of ``length``
    residues, and the seconds the job took through the API."""
    sequence = "".join(np.random.default_rng(1).choice(list(AMINO_ACIDS), length))
    with (
        tempfile.TemporaryDirectory() as folder,
        server_process(Path(folder)) as (base, process),
    ):
        start = time.perf_counter()
        job = submit(base, {"sequence": sequence})
        job_seconds = time.perf_counter() - start
        for k in range(8):  # cells: apart, near the diagonal, at the ends
            i = (37 * k + 11) % length
            j = (i + (150 if k % 2 == 0 else 25 + 10 * k)) % length
            explained(base, job, {"head": "dist_cb_cb", "i": i, "j": j}, list(RULES), {})
        for k in range(4):
            target = {"head": "ss3", "i": 50 + 100 * k, "class": "H"}
            explained(base, job, target, list(RULES), {})
        target = {"head": "contact", "i": 100, "j": 300}
        explained(base, job, target, ["mutagenesis"], {})
        status = Path(f"/proc/{process.pid}/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return peak_kb / 2**20, job_seconds


# -- the table ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--example", default="2xyiA")
    parser.add_argument("--cells", type=int, default=3, help="new targets of each kind")
    parser.add_argument(
        "--quick", action="store_true", help="skip mutagenesis at every residue (minutes)"
    )
    args = parser.parse_args()
    sequence = example(args.example).sequence
    threads = torch.get_num_threads()
    print(f"{args.example}: {len(sequence)} residues; {threads} torch threads; medians of "
          f"{args.cells} new targets\n")  # fmt: skip
    reference = reference_seconds(args.example, args.cells)
    rows: Rows = [
        (
            "in-process: three rule maps of a new cell",
            in_process_seconds(args.example, args.cells),
            None,
        )
    ]
    with tempfile.TemporaryDirectory() as folder, background_server(Path(folder)) as base:
        job = submit(base, {"example": args.example})
        rows += api_rows(base, job, len(sequence), args.cells, not args.quick)
        rows += page_rows(base, job, sequence, args.cells)
    mutants = 2 * (2 * MUTAGENESIS_WINDOW + 1) * (len(AMINO_ACIDS) - 1)  # around i and j
    floor = mutants * mutant_operations(load("default")) / convolution_rate()
    row = "{:<48}{:>9.2f}{:>12.2f}{:>8}"
    print(f"{'what':<48}{'seconds':>9}{'× gradient':>12}{'goal':>8}")
    print(row.format("reference: one full-model gradient of a cell", reference, 1, ""))
    for what, seconds, goal in rows:
        print(row.format(what, seconds, seconds / reference, f"≤ {goal:g}" if goal else ""))
    print(
        row.format("floor: default-window mutants at peak conv rate", floor, floor / reference, "")
    )

    print("\nprediction (predict, no MSA) by length")
    measured = prediction_by_length((100, 200, 300, 400, 500))
    for length, seconds in measured:
        print(f"  L = {length:<5}{seconds:>7.2f} s")
    lengths, times = np.log([m[0] for m in measured]), np.log([m[1] for m in measured])
    exponent = float(np.polyfit(lengths, times, 1)[0])
    print(f"  time ∝ L^{exponent:.2f} (the 2D trunk's L² cells dominate from ~200 residues)")

    peak, job_seconds = peak_memory(500)
    print(f"\nmemory: a fresh server, a 500-residue job ({job_seconds:.1f} s through the API) and "
          f"a page's worth of clicks (8 cells, 4 residues, mutagenesis): peak RSS {peak:.2f} GB "
          "(goal < 3)")  # fmt: skip


if __name__ == "__main__":
    main()
