"""Downloads of a finished job: predictions (NPZ, JSON, CSV), figures (PNG, SVG, PDF) and, when the
structure is known, a PDB with a chosen per-residue value in the B-factor column.

:func:`catalogue` lists what a job offers (the page renders its download menu from it) and
:func:`render` produces one file. Per-residue *tracks* are named after the model spec's heads: a
softmax head gives one track per class (``ss3_H``), a single-channel head one track (``rsa``).
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..coevolution.couplings import Couplings, couplings_figure
from ..figures import FIGURE_FORMATS, available_figures, figure_bytes, prediction_figure
from ..folding.distograms import has_distograms
from ..folding.predicted_structure import pdb_to_mmcif
from ..models import ModelSpec, adapter, spec
from ..predict import from_npz
from ..protein.structure import Backbone
from .errors import InvalidInputError, NotAvailableError
from .store import JobAlignment

FIGURE_LABELS = {
    "distance_maps": "Distance maps",
    "contact": "Contact map",
    "tracks": "Per-residue tracks",
    "confidence": "Confidence (pLDDT, expected distance errors)",
}
MODEL_FORMATS = {"pdb": ("chemical/x-pdb", "PDB"), "cif": ("chemical/x-mmcif", "mmCIF")}


@dataclass(frozen=True)
class Download:
    what: str
    format: str
    label: str
    track: str | None = None


@dataclass(frozen=True)
class Rendered:
    content: bytes | Iterator[bytes]
    """The file, or its chunks for a file too large to hold whole."""
    media_type: str
    filename: str

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, in one or more pieces."""
        if isinstance(self.content, bytes):
            yield self.content
        else:
            yield from self.content


def residue_tracks(model_spec: ModelSpec) -> list[str]:
    """Names of the per-residue values of a model's predictions, in head order."""
    tracks = []
    for head in model_spec.heads:
        if head.kind == "per-residue":
            tracks += [f"{head.name}_{c}" for c in head.classes] if head.classes else [head.name]
    return tracks


def pair_heads(model_spec: ModelSpec) -> list[str]:
    """Names of the pair maps of a model's predictions, in head order."""
    return [head.name for head in model_spec.heads if head.kind == "pair"]


def track_values(prediction: dict[str, Any], model_spec: ModelSpec, track: str) -> np.ndarray:
    """The ``(L,)`` values of one track of a prediction."""
    if track not in residue_tracks(model_spec):
        raise InvalidInputError(f"unknown track {track!r}; tracks: {residue_tracks(model_spec)}")
    head, _, state = track.partition("_")
    values = np.asarray(prediction[head])
    return values[:, model_spec.head(head).classes.index(state)] if state else values


def catalogue(
    model: str,
    has_structure: bool,
    alignment: dict[str, Any] | None = None,
    model3d_built: bool = False,
) -> list[Download]:
    """Every download a finished job of ``model`` offers (``alignment``: the summary of what the
    job found out about its alignment, see :class:`~foldlens.service.store.JobAlignment`; the 3D
    model's files once it is built)."""
    model_spec = spec(model)
    heads = {head.name for head in model_spec.heads}
    foldable = has_distograms(adapter(model))
    if foldable:
        heads |= {"plddt", "pae"}
    tracks = residue_tracks(model_spec)
    items = [
        Download("predictions", "npz", "Predictions (NPZ)"),
        Download("predictions", "json", "Predictions (JSON)"),
    ]
    if tracks:
        items.append(Download("residues", "csv", "Per-residue values (CSV)"))
    if pair_heads(model_spec):
        items.append(Download("pairs", "csv", "Pair values, i < j (CSV)"))
    for what in available_figures(heads):
        label = FIGURE_LABELS[what]
        items += [Download(what, fmt, f"{label} ({fmt.upper()})") for fmt in FIGURE_FORMATS]
    if foldable and model3d_built:
        items += [
            Download("model3d", fmt, f"3D model ({label})")
            for fmt, (_, label) in MODEL_FORMATS.items()
        ]
    if has_structure:
        choices: list[str | None] = [*tracks] or [None]
        for track in choices:
            label = f"Structure, B-factor = {track}" if track else "Structure (PDB)"
            items.append(Download("structure", "pdb", label, track))
    if alignment is not None and alignment["source"] == "search":
        items.append(Download("msa", "a3m", "Searched MSA (A3M)"))
        items.append(Download("search", "json", "Search summary (JSON)"))
    if alignment is not None and alignment["couplings"]["fitted"]:
        items.append(Download("couplings", "npz", "Coevolution couplings (NPZ)"))
        label = "Coevolution map"
        items += [Download("couplings", fmt, f"{label} ({fmt.upper()})") for fmt in FIGURE_FORMATS]
    return items


def _residues_csv(prediction: dict[str, Any], model_spec: ModelSpec) -> str:
    tracks = residue_tracks(model_spec)
    columns = [track_values(prediction, model_spec, track) for track in tracks]
    lines = [",".join(["index", "residue", *tracks])]
    for i, residue in enumerate(prediction["sequence"]):
        lines.append(",".join([str(i + 1), residue, *(f"{c[i]:.4f}" for c in columns)]))
    return "\n".join(lines) + "\n"


PAIR_ROWS_PER_CHUNK = 20_000


def _pairs_csv(prediction: dict[str, Any], keys: list[str]) -> Iterator[bytes]:
    """One row per pair i < j, streamed in chunks (L = 1,000: 499,500 rows, 25 MB): a chunk is
    built column by column and sent before the next, so the file is never whole in memory."""
    sequence = prediction["sequence"]
    i, j = np.triu_indices(len(sequence), k=1)
    letters = np.array(list(sequence))
    maps = [np.asarray(prediction[key]) for key in keys]
    yield (",".join(["i", "j", "residue_i", "residue_j", *keys]) + "\n").encode()
    for start in range(0, len(i), PAIR_ROWS_PER_CHUNK):
        a, b = i[start : start + PAIR_ROWS_PER_CHUNK], j[start : start + PAIR_ROWS_PER_CHUNK]
        columns = [(a + 1).astype(str).tolist(), (b + 1).astype(str).tolist()]
        columns += [letters[a].tolist(), letters[b].tolist()]
        columns += [[f"{v:.4f}" for v in values[a, b].tolist()] for values in maps]
        yield "".join(",".join(row) + "\n" for row in zip(*columns, strict=True)).encode()


def render(
    *,
    name: str,
    model: str,
    what: str,
    file_format: str,
    predictions: bytes,
    predictions_json: bytes,
    truth: bytes | None,
    structure: Backbone | None,
    track: str | None = None,
    alignment: JobAlignment | None = None,
    structure_model: Callable[[], dict[str, Any] | None] | None = None,
) -> Rendered:
    """One download of a finished job (``predictions_json`` is gzip-compressed JSON;
    ``structure_model`` reads the job's 3D model when it has been built)."""
    summary = None if alignment is None else alignment.summary
    offered = {  # the 3D model's files are asked for by name; not built yet: 404 below
        (item.what, item.format)
        for item in catalogue(model, structure is not None, summary, model3d_built=True)
    }
    if (what, file_format) not in offered:
        choices = ", ".join(sorted({f"{w}/{f}" for w, f in offered}))
        raise (NotAvailableError if what == "structure" else InvalidInputError)(
            f"this job offers no {what}/{file_format} download; it offers {choices}"
        )
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "job"
    filename = f"{stem}-{what}.{file_format}"
    if what == "predictions" and file_format == "npz":
        return Rendered(predictions, "application/octet-stream", filename)
    if what == "predictions":
        return Rendered(gzip.decompress(predictions_json), "application/json", filename)
    if what in ("msa", "search", "couplings"):
        assert alignment is not None
        return _alignment_download(what, file_format, alignment, stem, filename)
    if what == "model3d":
        return _model_download(
            structure_model() if structure_model else None, file_format, filename
        )
    prediction = from_npz(predictions)
    if what == "residues":
        text = _residues_csv(prediction, spec(model))
        return Rendered(text.encode(), "text/csv", filename)
    if what == "pairs":
        return Rendered(_pairs_csv(prediction, pair_heads(spec(model))), "text/csv", filename)
    if what == "structure":
        assert structure is not None
        scores = None if track is None else track_values(prediction, spec(model), track)
        if track is not None:
            filename = f"{stem}-{track}.pdb"
        return Rendered(structure.to_pdb(scores).encode(), "chemical/x-pdb", filename)
    if what == "confidence" and "plddt" not in prediction:
        raise NotAvailableError(
            "this job was predicted before foldlens read confidence from the distograms; "
            "submit it again for its confidence figure"
        )
    figure = prediction_figure(what, prediction, None if truth is None else from_npz(truth))
    return Rendered(figure_bytes(figure, file_format), FIGURE_FORMATS[file_format], filename)


def _model_download(answer: dict[str, Any] | None, file_format: str, filename: str) -> Rendered:
    """The job's 3D model as PDB or mmCIF, once it has been built."""
    if answer is None:
        raise NotAvailableError(
            "the 3D model is not built yet: open the 3D view or POST /api/jobs/{id}/model3d"
        )
    pdb = answer["pdb"]
    text = pdb if file_format == "pdb" else pdb_to_mmcif(pdb)
    return Rendered(text.encode(), MODEL_FORMATS[file_format][0], filename)


def _alignment_download(
    what: str, file_format: str, alignment: JobAlignment, stem: str, filename: str
) -> Rendered:
    """The searched MSA, the search's summary, or the couplings (NPZ or figure)."""
    if what == "msa":
        assert alignment.a3m is not None
        return Rendered(gzip.decompress(alignment.a3m), "text/plain", filename)
    if what == "search":
        return Rendered(
            json.dumps(alignment.summary, indent=1).encode(), "application/json", filename
        )
    assert alignment.couplings is not None
    if file_format == "npz":
        return Rendered(alignment.couplings, "application/octet-stream", filename)
    figure = couplings_figure(Couplings.from_npz(alignment.couplings), stem)
    return Rendered(figure_bytes(figure, file_format), FIGURE_FORMATS[file_format], filename)
