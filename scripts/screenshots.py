"""Screenshots of a result page for the README: a fresh server, the example 2o38B predicted in
single-sequence mode, a Cβ–Cβ cell explained by gradient, deconvnet and guided backprop: the top
of the page and the explorer, at 1400 px (light and dark) and 390 px wide.

    .venv/bin/python scripts/screenshots.py --out docs
"""

from __future__ import annotations

import argparse
import json
import tempfile
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from foldlens.server.background import CHROMIUM, CHROMIUM_ARGS, background_server

SHOTS = ((1400, 900, "light"), (390, 844, "light"), (1400, 900, "dark"))
"""Viewport width, height and colour scheme of the screenshots: the page's top and the explorer's
panels (dark: the panels only)."""
TARGET = "dist_cb_cb:20,60"
WAIT_MS = 300_000


def _submit(base: str, sequence: str) -> str:
    """A job of ``sequence`` alone; the path of its page as its submitter sees it."""
    request = urllib.request.Request(
        f"{base}/api/jobs",
        data=json.dumps({"sequence": f">2o38B\n{sequence}"}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return str(json.load(answer)["view"])


def _example_sequence(base: str, name: str) -> str:
    with urllib.request.urlopen(f"{base}/api/examples") as answer:
        return next(e["sequence"] for e in json.load(answer) if e["id"] == name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data, background_server(Path(data)) as base:
        view = _submit(base, _example_sequence(base, "2o38B"))
        url = f"{base}{view}&target={TARGET}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width, height, scheme in SHOTS:
                page = browser.new_page(
                    viewport={"width": width, "height": height}, color_scheme=scheme
                )
                page.set_default_timeout(WAIT_MS)
                page.goto(url)
                page.wait_for_selector("body[data-explained='3']")
                suffix = "" if scheme == "light" else "-dark"
                explain = ("explain", "[data-testid=panel-gradient]")
                parts = [("top", None), explain] if scheme == "light" else [explain]
                for part, anchor in parts:
                    if anchor is not None:
                        page.locator(anchor).evaluate("element => element.scrollIntoView()")
                    page.wait_for_timeout(500)  # the 3D view's first frames
                    path = args.out / f"result-page-{width}-{part}{suffix}.png"
                    page.screenshot(path=str(path))
                    print(f"wrote {path}")
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
