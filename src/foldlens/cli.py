"""The ``foldlens`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .attribution import methods


def _cmd_methods(args: argparse.Namespace) -> int:
    width = max(len(name) for name in methods())
    for name, summary in methods().items():
        print(f"{name:<{width}}  {summary}")
    return 0


def _cmd_explain_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    def progress(step: int, loss: float) -> None:
        if step % 50 == 0 or step == args.steps:
            print(f"\rtraining the demo network: step {step}/{args.steps}, loss {loss:.4f}", end="",
                  file=sys.stderr, flush=True)  # fmt: skip
            if step == args.steps:
                print(file=sys.stderr)

    result = run_demo(args.out, residue=args.residue, steps=args.steps, progress=progress)
    print(f"explained residue {result.residue} of ubiquitin: predicted patch score "
          f"{result.predicted:.3f} (true {result.true:.3f})")  # fmt: skip
    print(f"{'method':<32}{'seconds':>9}{'share in true window':>24}")
    for method, seconds in result.seconds.items():
        share = result.window_share.get(method)
        print(f"{method:<32}{seconds:>9.3f}{'' if share is None else f'{share:>24.2f}'}")
    for path in result.files:
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foldlens", description="Protein structure prediction you can explain."
    )
    parser.add_argument("--version", action="version", version=f"foldlens {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("methods", help="list the attribution methods")
    listing.set_defaults(run=_cmd_methods)

    demo = commands.add_parser(
        "explain-demo",
        help="train a small network to find hydrophobic patches and explain it with every method",
    )
    demo.add_argument("--out", type=Path, default=Path("explain-demo"), help="output folder")
    demo.add_argument("--residue", type=int, default=None, help="residue to explain (0-based)")
    demo.add_argument("--steps", type=int, default=400, help="training steps")
    demo.set_defaults(run=_cmd_explain_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ValueError as error:
        print(f"foldlens: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
