"""Explanation speed as a person sees it: the real server and page in headless Chromium.

    python -m benchmarks.explorer [--example 2xyiA] [--cells 3]

A fresh ``foldlens serve`` (loopback, empty data folder) predicts the example (2xyiA: 298 residues).
Then, for new targets (never cached):

- per-residue: a click on residue k of the SS3 track (the class under the pointer); timed from the
  click to the moment the gradient, deconvnet and guided-backprop panels are drawn; and, as before,
  from opening the page with the target in its URL (``?target=ss3:H:k``), which loads and draws
  the prediction first;
- distance map: a click on a Cβ–Cβ cell; timed from the click to the first panel and to all three.

Baseline, same run: the same three explanations computed in this process (no HTTP, no page), which
is the floor the page can reach. Medians over the targets; each target is new to the server.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import urllib.request
from json import dumps, loads
from pathlib import Path
from typing import Any

import torch

from foldlens.models import adapter, load
from foldlens.models.views import OutputTarget
from foldlens.protein.record import Protein
from foldlens.server.background import CHROMIUM, CHROMIUM_ARGS, background_server
from foldlens.service.examples import example
from foldlens.service.explain import explain, explain_together

RULES = ("gradient", "deconvnet", "guided_backprop")


def submit(base: str, example_id: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/jobs",
        data=dumps({"example": example_id}).encode(),
        headers={"Content-Type": "application/json"},
    )
    job = loads(urllib.request.urlopen(request).read())
    while job["status"] not in ("done", "failed"):
        time.sleep(0.1)
        job = loads(urllib.request.urlopen(f"{base}/api/jobs/{job['id']}").read())
    return str(job["id"])


DESCRIPTION = "document.querySelector(\"[data-testid='target-description']\")?.textContent"


def panels_ready(count: int, mentions: str = "", not_before: str | None = None) -> str:
    """A page condition: the first ``count`` rule panels are drawn, for a target whose words
    contain ``mentions`` (and differ from ``not_before``, the words of the previous target)."""
    described = f"{DESCRIPTION}?.includes({dumps(mentions)})"
    if not_before is not None:
        described += f" && {DESCRIPTION} !== {dumps(not_before)}"
    drawn = [
        f"document.querySelector(\"[data-testid='panel-{m}']\")?.dataset.state === 'ready'"
        for m in RULES[:count]
    ]
    return " && ".join([described, *drawn])


def page_timings(base: str, job: str, length: int, cells: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {
        "per-residue, all three": [],
        "per-residue, page opened": [],
        "map cell, first panel": [],
        "map cell, all three": [],
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for k in range(cells):
            residue = 30 + 97 * k
            opened = time.perf_counter()
            page.goto(f"{base}/view/{job}?target=ss3:H:{residue}")
            page.wait_for_function(panels_ready(3, str(residue)), timeout=60_000, polling=10)
            timings["per-residue, page opened"].append(time.perf_counter() - opened)
        page.goto(f"{base}/view/{job}")
        page.wait_for_selector("body[data-ready='true']", timeout=60_000)
        tracks = page.get_by_test_id("tracks")
        for k in range(cells):
            residue = 60 + 97 * k  # 0-based; new to the server
            tracks.scroll_into_view_if_needed()
            x, y = track_point(tracks, "ss3", residue)
            page.wait_for_timeout(300)
            before = page.evaluate(DESCRIPTION)
            clicked = time.perf_counter()
            page.mouse.click(x, y)
            condition = panels_ready(3, str(residue + 1), not_before=before)
            page.wait_for_function(condition, timeout=60_000, polling=10)
            timings["per-residue, all three"].append(time.perf_counter() - clicked)
        heatmap = page.get_by_test_id("map-dist_cb_cb")
        for k in range(cells):
            heatmap.scroll_into_view_if_needed()
            box = heatmap.bounding_box()
            assert box is not None
            i, j = 40 + 60 * k, 200 - 50 * k
            x = box["x"] + (j + 0.5) / length * box["width"]
            y = box["y"] + (i + 0.5) / length * box["height"]
            page.wait_for_timeout(300)
            before = page.evaluate(DESCRIPTION)
            clicked = time.perf_counter()
            page.mouse.click(x, y)
            condition = panels_ready(1, "j = ", not_before=before)
            page.wait_for_function(condition, timeout=60_000, polling=10)
            timings["map cell, first panel"].append(time.perf_counter() - clicked)
            condition = panels_ready(3, "j = ", not_before=before)
            page.wait_for_function(condition, timeout=60_000, polling=10)
            timings["map cell, all three"].append(time.perf_counter() - clicked)
        browser.close()
    return timings


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


def baseline_timings(example_id: str, cells: int) -> dict[str, list[float]]:
    """The same targets computed in this process as the server computes them: the three
    rule-based methods together, from one forward pass of the target's view, each ready as its
    backward passes finish."""
    chosen = example(example_id)
    model, model_adapter = load("default"), adapter("default")
    inputs = model_adapter.encoded(Protein(chosen.sequence, chosen.profile()))
    explain(model, model_adapter, inputs, OutputTarget("rsa", 0), "gradient", {})  # warm-up
    timings: dict[str, list[float]] = {
        "per-residue, all three": [],
        "map cell, first panel": [],
        "map cell, all three": [],
    }
    for k in range(cells):
        start = time.perf_counter()
        explain_together(
            model, model_adapter, inputs, OutputTarget("ss3", 60 + 97 * k), list(RULES)
        )
        timings["per-residue, all three"].append(time.perf_counter() - start)
        target = OutputTarget("dist_cb_cb", 40 + 60 * k, 200 - 50 * k)
        first: list[float] = []
        start = time.perf_counter()
        explain_together(
            model,
            model_adapter,
            inputs,
            target,
            list(RULES),
            ready=lambda _, first=first: first.append(time.perf_counter()),
        )
        timings["map cell, first panel"].append(first[0] - start)
        timings["map cell, all three"].append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--example", default="2xyiA")
    parser.add_argument("--cells", type=int, default=3, help="targets of each kind")
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    length = len(example(args.example).sequence)
    with tempfile.TemporaryDirectory() as folder, background_server(Path(folder)) as base:
        job = submit(base, args.example)
        page = page_timings(base, job, length, args.cells)
    direct = baseline_timings(args.example, args.cells)
    print(f"{args.example}, {length} residues; medians of {args.cells} new targets; seconds\n")
    print(f"{'what':<26}{'page':>8}{'in-process':>12}{'target':>8}")
    goals = {
        "per-residue, all three": 1.0,
        "per-residue, page opened": None,
        "map cell, first panel": 1.0,
        "map cell, all three": 3.0,
    }
    for what, goal in goals.items():
        direct_time = f"{statistics.median(direct[what]):.2f}" if what in direct else "-"
        print(
            f"{what:<26}{statistics.median(page[what]):>8.2f}"
            f"{direct_time:>12}{f'< {goal:g}' if goal else '':>8}"
        )


if __name__ == "__main__":
    main()
