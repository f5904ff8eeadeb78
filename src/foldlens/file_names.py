"""File names made from names people give (FASTA headers, chain names)."""

from __future__ import annotations

import re


def safe_file_name(name: str, fallback: str = "record") -> str:
    """``name`` with every run of characters other than letters, digits, ``_ . -`` replaced by
    ``_`` and no leading dot: no separators, nothing hidden, on any file system."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".") or fallback
