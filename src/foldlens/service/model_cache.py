"""The networks and encoded inputs that the job and explanation services share.

A network is loaded once per model and per thread that runs it: the job worker's progress hooks
and the explanation worker's views then never see each other's forward passes, and neither waits
for the other. A job's encoded input (its profile computed from an MSA can take seconds) is kept
for the most recent jobs, so a run of explanations of one job encodes it once.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from torch import nn

from ..coevolution.couplings import Couplings
from ..models import Encoded, adapter, load
from ..protein.msa import parse_msa
from ..protein.record import Protein
from .store import Job

KEPT_INPUTS = 8


class ModelCache:
    """Loaded networks (per model and thread) and the encoded inputs of the last jobs."""

    def __init__(self, kept_inputs: int = KEPT_INPUTS) -> None:
        self.kept_inputs = kept_inputs
        self._models: dict[tuple[str, int], nn.Module] = {}
        self._inputs: OrderedDict[str, Encoded] = OrderedDict()
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
        """The job's protein encoded for its model, computed once while the job is recent."""
        with self._lock:
            if job.id in self._inputs:
                self._inputs.move_to_end(job.id)
                return self._inputs[job.id]
        encoded = adapter(job.inputs.model).encoded(protein_of(job))
        with self._lock:
            self._inputs[job.id] = encoded
            while len(self._inputs) > self.kept_inputs:
                self._inputs.popitem(last=False)
        return encoded


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
