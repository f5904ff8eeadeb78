"""Parse a downloaded file by its format, failing when the bytes are not such a file."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import matplotlib.image
import numpy as np

from foldlens.protein.structure import read_structure


def parse_file(content: bytes, file_format: str) -> object:
    """NPZ → dict of arrays, JSON → object, CSV → rows, PNG → pixels, SVG → XML tree,
    PDF → bytes (checked), PDB → backbone, PML → text (checked)."""
    if file_format == "npz":
        return dict(np.load(io.BytesIO(content)))
    if file_format == "json":
        return json.loads(content)
    if file_format == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    if file_format == "png":
        return matplotlib.image.imread(io.BytesIO(content), format="png")
    if file_format == "svg":
        return ET.fromstring(content)
    if file_format == "pdf":
        assert content.startswith(b"%PDF") and b"%%EOF" in content[-32:]
        return content
    if file_format == "pml":
        assert b"spectrum b" in content
        return content.decode()
    assert file_format == "pdb", file_format
    return read_structure(content.decode())
