"""The README's table of training attempts, from ``foldlens evaluate --against`` reports.

Each argument is ``LABEL=REPORT.json``; one Markdown row per report with the issue's four goal
metrics (Q3 and long-range contact precision top-L/5, with a profile and from the sequence alone)
and their paired differences to the report's reference weights, all with 95 % intervals.

    python scripts/ablation_table.py "averaged=runs/ft1/valid-averaged.json" …
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

GOALS = ("Q3", "contact precision top-L/5 >=24")
MODES = ("profile", "single")


def cell(value: dict[str, float], signed: bool = False) -> str:
    form = "+.3f" if signed else ".3f"
    return f"{value['value']:{form}} [{value['low']:{form}}, {value['high']:{form}}]"


def row(label: str, report: dict[str, Any]) -> str:
    modes = report["modes"]
    cells = [cell(modes[mode][name]) for name in GOALS for mode in MODES]
    for name in GOALS:
        for mode in MODES:
            paired = modes.get(f"{mode} − reference", {}).get(name)
            cells.append(cell(paired, signed=True) if paired else "")
    return f"| {label} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="LABEL=REPORT.json")
    args = parser.parse_args()
    header = ["attempt"] + [f"{name} {mode}" for name in GOALS for mode in MODES]
    header += [f"Δ {name} {mode}" for name in GOALS for mode in MODES]
    print("| " + " | ".join(header).replace("contact precision top-", "") + " |")
    print("|---" * len(header) + "|")
    for argument in args.reports:
        label, _, path = argument.partition("=")
        print(row(label, json.loads(Path(path).read_text())))


if __name__ == "__main__":
    main()
