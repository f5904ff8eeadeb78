"""A real headless Chromium for end-to-end tests (the server runs with ``background_server``).

Chromium is Debian's, driven by Python Playwright with the flags of
:data:`foldlens.server.background.CHROMIUM_ARGS`. Every request the page makes is routed through
:class:`OffsiteGuard`, which lets loopback requests through and records (and aborts) any other.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import numpy as np


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


def image_spread(png: bytes) -> float:
    """Standard deviation of the RGB values of a PNG screenshot (0 for a blank image)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    return float(np.std(pixels))
