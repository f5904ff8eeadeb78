"""The weights shipped inside the package (``foldlens/models/weights``)."""

from __future__ import annotations

from importlib import resources


def packaged_weights(filename: str) -> bytes:
    """The bytes of a shipped weights file (a float16 state dict)."""
    path = resources.files("foldlens.models") / "weights" / filename
    if not path.is_file():
        raise FileNotFoundError(f"the shipped weights {filename} are missing: {path}")
    return path.read_bytes()
