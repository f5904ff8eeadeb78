"""Run compiled code eagerly while an attribution is in progress.

A model compiled with ``torch.compile`` (or holding compiled submodules or functions) runs a
captured graph in which no activation call reaches
:class:`~foldlens.attribution.rule_mode.RuleMode`. While any attribution runs, Dynamo's stance is
``force_eager``: compiled callables run their original Python code. The stance is process-wide,
so it is reference-counted across threads and restored when the last attribution ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

_lock = threading.Lock()
_active = 0
_stance: Any = None


@contextmanager
def compiled_code_runs_eagerly() -> Iterator[None]:
    """Within this block every ``torch.compile``-d callable runs its original Python code."""
    global _active, _stance
    with _lock:
        if _active == 0:
            _stance = torch.compiler.set_stance("force_eager")
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                _stance.__exit__(None, None, None)
                _stance = None


def uncompiled(model: torch.nn.Module) -> torch.nn.Module:
    """The module that ``torch.compile(model)`` wraps, or ``model`` itself."""
    original = getattr(model, "_orig_mod", None)
    return original if isinstance(original, torch.nn.Module) else model
