"""What a job is asked to predict, checked and normalised, and the job id derived from it.

A job reads a sequence from exactly one source — a pasted sequence or FASTA record, the first row
of an uploaded MSA, an uploaded structure, or a shipped example — and may combine an MSA (profile
mode) with a structure (true maps shown beside the predictions) when their sequences agree. The
job id is the SHA-256 of the normalised inputs, the model name and its version, so resubmitting the
same protein finds the same job while new weights make a new one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models import available, reads_profile, spec, version
from ..protein.msa import Alignment, parse_msa
from ..protein.sequences import parse_fasta
from ..protein.structure import Backbone, read_structure
from ..protein.structure import structure_name as chain_name
from .errors import InvalidInputError
from .examples import example

JOB_ID_LENGTH = 32


@dataclass(frozen=True)
class JobInput:
    """The normalised inputs of one job, as stored with it.

    ``msa`` holds the alignment's rows over the query columns (one per line, the query first),
    ``example`` names a shipped example whose profile is used, ``structure`` is the text of a PDB
    or mmCIF file.
    """

    name: str
    sequence: str
    model: str
    model_version: str
    msa: str | None = None
    example: str | None = None
    structure: str | None = None
    search: dict[str, Any] | None = None
    """The MSA search asked for: database name and digest, search parameters."""

    def job_id(self) -> str:
        """SHA-256 of the sequence, profile source, structure coordinates, model and version, and
        of the search asked for (database digest and parameters) when one was."""
        structure = None if self.structure is None else _coordinates_digest(self.backbone())
        canonical: dict[str, Any] = {
            "sequence": self.sequence,
            "msa": None if self.msa is None else hashlib.sha256(self.msa.encode()).hexdigest(),
            "example": self.example,
            "structure": structure,
            "model": self.model,
            "version": self.model_version,
        }
        if self.search is not None:  # absent otherwise: jobs from before keep their ids
            canonical["search"] = self.search
        digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
        return digest[:JOB_ID_LENGTH]

    def alignment(self) -> Alignment | None:
        if self.msa is None:
            return None
        rows = self.msa.split("\n")
        return Alignment([f"row{k}" for k in range(len(rows))], rows)

    def profile(self) -> np.ndarray | None:
        """``(L, 20)``: the shipped example's profile, or the MSA's (computed: seconds for big
        alignments), or ``None`` in single-sequence mode."""
        if self.example is not None:
            return example(self.example).profile()
        alignment = self.alignment()
        return None if alignment is None else alignment.profile()

    def backbone(self) -> Backbone | None:
        return None if self.structure is None else read_structure(self.structure)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> JobInput:
        return cls(**json.loads(text))


def prediction_mode(model: str, has_profile: bool) -> str:
    """``profile`` when an alignment's profile was given (an MSA, or an example's) and the model
    reads one (a feature group of its input needs it), else ``single``. A model no longer
    registered here is taken to read it."""
    if not has_profile:
        return "single"
    return "profile" if model not in available() or reads_profile(spec(model)) else "single"


def _coordinates_digest(backbone: Backbone | None) -> str | None:
    if backbone is None:
        return None
    coords = np.round(np.concatenate([backbone.n, backbone.ca, backbone.c, backbone.o]), 2)
    return hashlib.sha256(backbone.chain.encode() + coords.astype("<f4").tobytes()).hexdigest()


def _single_record(text: str, max_length: int) -> tuple[str, str]:
    records = parse_fasta(text, max_length=max_length)
    if len(records) > 1:
        raise InvalidInputError(
            f"the text holds {len(records)} FASTA records; submit one protein per job "
            "(`foldlens predict` takes many)"
        )
    return records[0].id, records[0].sequence


def job_input(
    *,
    model: str = "default",
    sequence: str | None = None,
    msa: str | None = None,
    structure: str | None = None,
    structure_name: str | None = None,
    example: tuple[str, str, str] | None = None,
    search: dict[str, Any] | None = None,
) -> JobInput:
    """Check and normalise the inputs of one job; :class:`InvalidInputError` says what is wrong.

    ``example`` is ``(id, sequence, structure text)`` of a shipped example (its profile is used);
    ``search`` the MSA search to run first (:meth:`~foldlens.service.search_stage.SearchSettings.
    request`), for a protein given without an alignment.
    """
    try:
        model_spec = spec(model)
    except ValueError as error:
        raise InvalidInputError(str(error)) from error
    limit = model_spec.max_length
    candidates: list[tuple[str, str, str]] = []  # (source, name, sequence)
    alignment = None
    backbone = None
    try:
        if sequence is not None and sequence.strip():
            candidates.append(("the pasted sequence", *_single_record(sequence, limit)))
        if msa is not None:
            alignment = parse_msa(msa, max_length=limit)
            candidates.append(("the MSA's first row", alignment.ids[0], alignment.query))
        if structure is not None:
            backbone = read_structure(structure, max_length=limit)
            name = chain_name(structure_name or "", backbone.chain)
            candidates.append(("the structure", name, backbone.sequence))
        if example is not None:
            example_id, example_sequence, structure = example
            candidates.append((f"example {example_id}", example_id, example_sequence))
    except ValueError as error:
        raise InvalidInputError(str(error)) from error
    if not candidates:
        raise InvalidInputError("give a sequence, an MSA, a structure or an example")
    source, name, query = candidates[0]
    for other, _, other_sequence in candidates[1:]:
        if other_sequence != query:
            raise InvalidInputError(
                f"{other} ({len(other_sequence)} residues) does not match {source} "
                f"({len(query)} residues); give inputs of one protein"
            )
    if search is not None and (alignment is not None or example is not None):
        given = "an MSA" if alignment is not None else f"example {example and example[0]}'s profile"
        raise InvalidInputError(
            f"the job has {given} already: search finds an alignment for a sequence given alone"
        )
    return JobInput(
        name=name,
        sequence=query,
        model=model,
        model_version=version(model),
        msa=None if alignment is None else "\n".join(alignment.rows),
        example=None if example is None else example[0],
        structure=structure,
        search=search,
    )
