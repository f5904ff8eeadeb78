"""The networks and per-job warm state that the job and explanation services share.

A network is loaded once per model and per thread that runs it: the job worker's progress hooks
and the explanation worker's views then never see each other's forward passes, and neither waits
for the other. A job's *warm state* — its encoded input (a profile computed from an MSA can take
seconds, and the protein holds the MSA itself) and the couplings fitted to its MSA — is kept for
the most recently used jobs, least recently used first out, within one budget of bytes
(``foldlens serve --cache-mb``); a deleted job's goes at once. Tensors only, never autograd
graphs: two requests of one job share the values, each builds its own graph.

Measured and not kept (``python -m benchmarks.explorer``): the default network's per-residue
trunk, the same for every cell of a job, is 8 % of a cell's three rule maps, since attribution to
the input must run backward through it anyway; the 2D trunk's forward activations of the whole
map, which would spare a click its forward pass (a fifth of its time), take 0.7 GB per job at
298 residues (every 2D layer's L × L × 64 values before and after its ReLU).
"""

from __future__ import annotations

import gzip
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..coevolution.couplings import Couplings
from ..models import Encoded, adapter, load
from ..protein.msa import parse_msa
from ..protein.record import Protein
from .store import Job

CACHE_MB = 512
"""Default budget of the per-job warm state (``foldlens serve --cache-mb``)."""


class ModelCache:
    """Loaded networks (per model and thread) and the warm state of the last jobs, at most
    ``budget`` bytes of it (one entry larger than the budget is computed, used and not kept)."""

    def __init__(self, budget: int = CACHE_MB << 20) -> None:
        if isinstance(budget, bool) or budget < 0:
            raise ValueError(f"the cache budget must be a number of bytes ≥ 0, got {budget!r}")
        self.budget = budget
        self._models: dict[tuple[str, int], nn.Module] = {}
        self._warm: OrderedDict[tuple[str, str], tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def model(self, name: str) -> nn.Module:
        """This thread's copy of the trained network ``name``."""
        key = (name, threading.get_ident())
        with self._lock:
            found = self._models.get(key)
        if found is None:
            found = load(name)
            with self._lock:
                found = self._models.setdefault(key, found)
        return found

    def copies(self, name: str) -> list[nn.Module]:
        """Every thread's copy of network ``name`` loaded so far."""
        with self._lock:
            return [model for (model_name, _), model in self._models.items() if model_name == name]

    def inputs(self, job: Job) -> Encoded:
        """The job's protein encoded for its model."""
        encoded: Encoded = self._kept(
            (job.id, "inputs"), lambda: adapter(job.inputs.model).encoded(protein_of(job))
        )
        return encoded

    def couplings(self, job: Job) -> Couplings | None:
        """The couplings the job fitted to its MSA, if it fitted any."""
        found: Couplings | None = self._kept((job.id, "couplings"), lambda: couplings_of(job))
        return found

    def forget(self, job_id: str) -> None:
        """Drop a deleted job's warm state."""
        with self._lock:
            for key in [key for key in self._warm if key[0] == job_id]:
                del self._warm[key]

    @property
    def held(self) -> int:
        """Bytes of warm state held now."""
        with self._lock:
            return sum(size for _, size in self._warm.values())

    def _kept(self, key: tuple[str, str], compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._warm:
                self._warm.move_to_end(key)
                return self._warm[key][0]
        value = compute()
        if value is None:
            return None  # not there yet: asked again next time
        size = nbytes(value)
        with self._lock:
            self._warm[key] = (value, size)
            held = sum(kept for _, kept in self._warm.values())
            while held > self.budget and self._warm:
                _, (_, dropped) = self._warm.popitem(last=False)
                held -= dropped
        return value


def nbytes(value: Any) -> int:
    """The bytes ``value`` holds: its arrays, tensors and strings, through dataclasses, lists,
    tuples and dicts (an estimate of what keeping it costs; shared objects counted each time)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, str | bytes):
        return sys.getsizeof(value)
    if isinstance(value, list | tuple):
        return sys.getsizeof(value) + sum(nbytes(item) for item in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(nbytes(k) + nbytes(v) for k, v in value.items())
    fields = getattr(value, "__dict__", None)
    if fields is not None:
        return sys.getsizeof(value) + nbytes(fields)
    return sys.getsizeof(value)


def protein_of(job: Job) -> Protein:
    """What the job says of its protein: the sequence, the profile (an example's, the uploaded
    MSA's, or the searched MSA's when it was deep enough), the uploaded structure and the MSA
    (uploaded or searched)."""
    inputs = job.inputs
    structure = inputs.backbone()
    searched = job.alignment
    if inputs.search is None or searched is None or searched.a3m is None:
        return Protein(inputs.sequence, inputs.profile(), structure, inputs.alignment())
    alignment = parse_msa(gzip.decompress(searched.a3m).decode())
    profile = alignment.profile() if searched.summary["mode"] == "profile" else None
    return Protein(inputs.sequence, profile, structure, alignment)


def couplings_of(job: Job) -> Couplings | None:
    """The couplings the job fitted to its MSA, if it fitted any."""
    stored = job.alignment
    return (
        None if stored is None or stored.couplings is None else Couplings.from_npz(stored.couplings)
    )
