"""Plain-text tables for the command line: columns padded to their widest cell, the last column
wrapped to the terminal's width."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

GAP = "  "
NARROWEST_LAST_COLUMN = 24


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], width: int = 0) -> str:
    """``headers`` above ``rows``, one line per row, each column as wide as its widest cell but
    the last, which wraps (indented under itself) to fit ``width`` characters (0: the
    terminal's width, at least :data:`NARROWEST_LAST_COLUMN` for the last column)."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[k]) for row in cells) for k in range(len(headers) - 1)]
    indent = sum(widths) + len(GAP) * len(widths)
    width = width or shutil.get_terminal_size((100, 24)).columns
    last = max(NARROWEST_LAST_COLUMN, width - indent)
    lines = []
    for k, row in enumerate(cells):
        lead = GAP.join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + GAP
        wrapped = textwrap.wrap(row[-1], last) or [""]
        lines.append((lead + wrapped[0]).rstrip())
        lines.extend(" " * indent + more for more in wrapped[1:])
        if k == 0:
            lines.append(GAP.join("-" * w for w in widths) + GAP + "-" * min(last, 40))
    return "\n".join(lines)
