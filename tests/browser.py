"""A real headless Chromium for end-to-end tests (the server runs with ``background_server``).

Chromium is Debian's, driven by Python Playwright with the flags of
:data:`foldlens.server.background.CHROMIUM_ARGS`. Every request the page makes is routed through
:class:`OffsiteGuard`, which lets loopback requests through and records (and aborts) any other.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import numpy as np
from playwright.sync_api import Browser, Page, sync_playwright

from foldlens.server.background import CHROMIUM, CHROMIUM_ARGS


class OffsiteGuard:
    """A Playwright route handler: continue loopback requests, abort and record all others."""

    def __init__(self) -> None:
        self.offsite: list[str] = []

    def __call__(self, route: object, request: object) -> None:
        url = request.url  # type: ignore[attr-defined]
        host = urlsplit(url).hostname
        if host in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.offsite.append(url)
            route.abort()  # type: ignore[attr-defined]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, with foldlens' flags."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def guarded(browser: Browser, wait_ms: int) -> Iterator[tuple[Page, OffsiteGuard, list[str]]]:
    """A page of a fresh context whose requests go through :class:`OffsiteGuard`, and the errors
    its console reports; on exit, an assertion that it requested no other origin."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    guard = OffsiteGuard()
    context.route("**/*", guard)
    context.set_default_timeout(wait_ms)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page, guard, errors
    context.close()
    assert guard.offsite == [], f"the page requested other origins: {guard.offsite}"


def image_spread(png: bytes) -> float:
    """Standard deviation of the RGB values of a PNG screenshot (0 for a blank image)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    return float(np.std(pixels))
