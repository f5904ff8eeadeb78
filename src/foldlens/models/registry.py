"""The model registry: every model foldlens can run, each through its adapter.

Models come from three places, in this order:

1. the shipped adapters (:mod:`foldlens.models.adapters`): ``default``, ``seed2018``, and the
   outside models ``reprof`` and ``predictdssp`` when their weights are installed;
2. the ``foldlens.models`` entry-point group of installed packages: each entry point names a
   :class:`~foldlens.models.adapter.ModelAdapter` subclass or a function returning an adapter;
3. ``register_file("path.py:factory")`` (``foldlens serve --model-file``), the same from a file.

:func:`register` checks an adapter before it is listed (:func:`check_adapter`): a broken one is
refused with an :class:`AdapterError` saying what failed, at start-up rather than on a user's
request. ``"default"`` names the shipped default network.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..protein.record import Protein
from .adapter import AUDIT_SEQUENCE, ModelAdapter
from .adapters.default import DefaultAdapter
from .adapters.predictdssp import PredictDSSPAdapter
from .adapters.reprof import ReprofAdapter
from .adapters.seed2018 import Seed2018Adapter
from .spec import ModelSpec

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "foldlens.models"
SHIPPED: list[type[ModelAdapter]] = [
    DefaultAdapter,
    Seed2018Adapter,
    ReprofAdapter,
    PredictDSSPAdapter,
]
_ADAPTERS: dict[str, ModelAdapter] = {}
_MISSING: dict[str, str] = {}
"""Models that cannot run here, and why (their weights are not installed)."""
_STARTED: list[bool] = []


class AdapterError(ValueError):
    """A model adapter that cannot be registered: the message says which and why."""


class UnknownModelError(ValueError):
    """No model of this name is registered here (a user's model whose server was restarted
    without its ``--model-file``, or a typo)."""


def check_adapter(adapter: ModelAdapter) -> None:
    """Build the adapter's spec, encode a real sequence, load the trained network and run it:
    every head must come out, batch first, with the residue axes of its kind, and a declared
    receptive radius must hold (:func:`_check_receptive_field`)."""
    name = getattr(adapter, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise AdapterError(f"a model adapter needs a name (letters, digits, _), got {name!r}")
    try:
        model_spec = adapter.spec
        inputs = adapter.encoded(Protein(AUDIT_SEQUENCE))
        model = adapter.load()
        with torch.no_grad():
            out = adapter.outputs(model, inputs.x)
        _check_heads(adapter, out, len(AUDIT_SEQUENCE))
        for kind, radius in model_spec.receptive_field.items():
            if radius is not None and radius + 2 <= adapter.max_length:
                _check_receptive_field(adapter, model, kind, radius)
    except AdapterError:
        raise
    except Exception as error:
        raise AdapterError(f"model {name!r} failed its check: {error}") from error


def _check_heads(adapter: ModelAdapter, out: dict[str, Any], length: int) -> None:
    sources = {head.name: head.source for head in adapter.spec.heads if head.source}
    for name, source in sources.items():
        if source not in out:
            raise AdapterError(
                f"model {adapter.name!r}: head {name!r} reads {source!r}, not an output"
            )
    for head in adapter.spec.heads:
        if head.source:
            continue
        values = out.get(head.name)
        axes = 1 if head.kind == "per-residue" else 2
        if not isinstance(values, torch.Tensor) or values.shape[0] != 1:
            raise AdapterError(
                f"model {adapter.name!r} did not output head {head.name!r} (batch first)"
            )
        if tuple(values.shape[-axes:]) != (length,) * axes:
            raise AdapterError(
                f"model {adapter.name!r}: head {head.name!r} has shape {tuple(values.shape)} "
                f"for {length} residues; a {head.kind} head ends in {' × '.join(['L'] * axes)}"
            )


def _check_receptive_field(adapter: ModelAdapter, model: nn.Module, kind: str, radius: int) -> None:
    """Mutating the residue ``radius + 1`` away from residue 0 must leave every head of ``kind``
    at residue 0 (a pair head: at cell (0, 0)) bit for bit unchanged: mutagenesis skips residues
    beyond the radius, so a radius declared too small would silently drop their effects."""
    sequence = (AUDIT_SEQUENCE * (radius // len(AUDIT_SEQUENCE) + 2))[: radius + 2]
    inputs = adapter.encoded(Protein(sequence))
    where = (0,) if kind == "per-residue" else (0, 0)
    with torch.no_grad():
        before = adapter.outputs(model, inputs.x)
        for letter in (0, 9, 17):
            after = adapter.outputs(model, adapter.mutants(inputs, [(radius + 1, letter)]))
            for head in adapter.spec.heads:
                picked = (..., *where)
                if (
                    head.kind == kind
                    and not head.source
                    and not torch.equal(after[head.name][picked], before[head.name][picked])
                ):
                    raise AdapterError(
                        f"model {adapter.name!r} declares a receptive radius of {radius} "
                        f"residues for {kind} heads, but mutating residue {radius + 1} changes "
                        f"head {head.name!r} at residue 0"
                    )


def register(adapter: ModelAdapter, replace: bool = False) -> None:
    """Check ``adapter`` and offer its model under ``adapter.name``."""
    _shipped()
    if adapter.name in _ADAPTERS and not replace:
        raise AdapterError(f"a model named {adapter.name!r} is registered already")
    check_adapter(adapter)
    _ADAPTERS[adapter.name] = adapter
    _MISSING.pop(adapter.name, None)


def _as_adapter(made: Any, where: str) -> ModelAdapter:
    """An adapter from what a file or entry point names: an adapter, its class or a factory."""
    if not isinstance(made, ModelAdapter) and callable(made):
        made = made()
    if not isinstance(made, ModelAdapter):
        raise AdapterError(f"{where} gave {type(made).__name__}, not a ModelAdapter")
    return made


def register_file(reference: str) -> ModelAdapter:
    """Register the adapter made by ``factory`` in the Python file of ``"path.py:factory"`` (a
    :class:`ModelAdapter` subclass or a function returning an adapter)."""
    path_text, _, factory = reference.rpartition(":")
    path = Path(path_text)
    if not path_text or not factory.isidentifier():
        raise AdapterError(f"write the model file as PATH.py:FACTORY, not {reference!r}")
    if not path.is_file():
        raise AdapterError(f"no model file {path}")
    module_name = f"foldlens_model_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise AdapterError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise AdapterError(f"{path} failed to import: {type(error).__name__}: {error}") from error
    if not hasattr(module, factory):
        raise AdapterError(f"{path} has no {factory!r}")
    try:
        adapter = _as_adapter(getattr(module, factory), reference)
    except AdapterError:
        raise
    except Exception as error:
        raise AdapterError(f"{reference} failed: {type(error).__name__}: {error}") from error
    register(adapter)
    return adapter


def unregister(name: str) -> None:
    """Stop offering model ``name`` (a user's; its jobs stay stored)."""
    _ADAPTERS.pop(name, None)


def _shipped() -> None:
    """Register the shipped adapters (those whose weights are here) and the entry points, once."""
    if _STARTED:
        return
    _STARTED.append(True)
    for adapter_class in SHIPPED:
        adapter = adapter_class()
        try:
            adapter.weights()
        except (FileNotFoundError, ImportError) as error:
            _MISSING[adapter.name] = str(error)
            continue
        _ADAPTERS[adapter.name] = adapter
    register_entry_points()


def register_entry_points() -> list[str]:
    """Register the models of the ``foldlens.models`` entry points not registered yet (a broken
    one is logged and listed by :func:`unavailable`); their names."""
    added = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _ADAPTERS:
            continue
        try:
            made = _as_adapter(entry.load(), f"entry point {entry.name}")
            register(made)
        except Exception as error:
            _MISSING[entry.name] = f"entry point {entry.value} failed: {error}"
            log.error("model entry point %s failed: %s", entry.name, error)
            continue
        added.append(made.name)
    return added


def available() -> list[str]:
    """The models that can run here, ``default`` first."""
    _shipped()
    return list(_ADAPTERS)


def unavailable() -> dict[str, str]:
    """Models known but not runnable here, and why."""
    _shipped()
    return dict(_MISSING)


def adapter(name: str = "default") -> ModelAdapter:
    """The adapter of a registered model."""
    _shipped()
    if name not in _ADAPTERS:
        why = f" ({_MISSING[name]})" if name in _MISSING else ""
        raise UnknownModelError(f"unknown model {name!r}{why}; available: {available()}")
    return _ADAPTERS[name]


def build(name: str) -> nn.Module:
    """A registered network with fresh (untrained) weights."""
    return adapter(name).build()


def spec(name: str = "default") -> ModelSpec:
    """The spec of a registered model."""
    return adapter(name).spec


def version(name: str = "default") -> str:
    """``<spec version>-<12 hex digits of the weights' SHA-256>``: changes with the weights."""
    return _version(adapter(name))


@cache
def _version(model: ModelAdapter) -> str:
    return f"{model.version}-{model.digest()[:12]}"


def load(name: str = "default") -> nn.Module:
    """A fresh copy of a registered model in eval mode with its trained weights."""
    return adapter(name).load()
