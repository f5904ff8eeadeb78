"""The web server: ``create_app(data_dir)`` and ``default_data_dir()``."""

import os
from pathlib import Path

from .app import create_app


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/foldlens``, by default ``~/.local/share/foldlens``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "foldlens"


__all__ = ["create_app", "default_data_dir"]
