"""``foldlens predict``: read a sequence, FASTA, MSA or structure; write predictions and plots.

Every prediction has ``sequence``, ``mode`` (``profile`` when an MSA gave a profile, else
``single``) and one array per head of the model, read out of its logits by the head's transform.
The default model gives the whole public schema: ``ss3`` (L×3, H E C), ``ss8`` (L×8,
H G I E B T S C), ``rsa`` (L, 0–1), ``dist_ca_ca``, ``dist_ca_cb``, ``dist_cb_ca``, ``dist_cb_cb``
(L×L expected distances, Å) and ``contact`` (L×L, P(Cβ–Cβ < 8 Å)). A model whose distance heads
are distograms adds the confidence read from them (:mod:`foldlens.folding.confidence`): ``plddt``
(L, 0–100, predicted lDDT of each residue) and ``pae`` (L×L, Å, the expected absolute error of
the Cβ–Cβ distance).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .figures import available_figures, prediction_figure, save_figure
from .folding.confidence import confidence
from .folding.distograms import distograms_from_logits, has_distograms
from .models import ModelAdapter, adapter, reads_profile
from .protein.labels import CONTACT_CUTOFF, expected_distance
from .protein.msa import Alignment, parse_msa
from .protein.record import Protein
from .protein.sequences import MAX_LENGTH, check_sequence, read_fasta
from .protein.structure import Backbone, read_structure, structure_name

STRUCTURE_SUFFIXES = {".pdb", ".ent", ".cif", ".mmcif"}
MSA_SUFFIXES = {".a3m", ".sto", ".stk", ".stockholm", ".afa", ".aln"}


@dataclass(frozen=True)
class Query:
    """One protein to predict: its sequence, a profile if an MSA was given, a structure if known."""

    id: str
    sequence: str
    profile: np.ndarray | None = None
    structure: Backbone | None = None
    alignment: Alignment | None = None

    @property
    def protein(self) -> Protein:
        return Protein(self.sequence, self.profile, self.structure, self.alignment)


def _looks_aligned(text: str) -> bool:
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(">")]
    return text.lstrip().startswith("# STOCKHOLM") or any(
        "-" in row or "." in row or any(c.islower() for c in row) for row in rows
    )


def read_queries(source: str, max_length: int = MAX_LENGTH) -> list[Query]:
    """Queries from a file (FASTA, MSA, PDB, mmCIF) or from a literal sequence; a
    ``ValueError`` names the first bad FASTA record."""
    queries, problems = read_input(source, max_length)
    if problems:
        raise ValueError(problems[0])
    return queries


def read_input(source: str, max_length: int = MAX_LENGTH) -> tuple[list[Query], list[str]]:
    """The good queries of a file (FASTA, MSA, PDB, mmCIF) or of a literal sequence, and one
    message per FASTA record that cannot be predicted (the others are still read)."""
    path = Path(source)
    if not path.is_file():
        if any(sep in source for sep in "/\\.") or source.endswith((".fasta", ".fa")):
            raise ValueError(f"no such file: {source}")
        return [Query("query", check_sequence(source, max_length=max_length))], []
    text = path.read_text(errors="replace")
    suffix = path.suffix.lower()
    if suffix in STRUCTURE_SUFFIXES:
        backbone = read_structure(text, max_length=max_length)
        return [
            Query(structure_name(path.stem, backbone.chain), backbone.sequence, structure=backbone)
        ], []
    if suffix in MSA_SUFFIXES or _looks_aligned(text):
        alignment = parse_msa(text, max_length=max_length)
        query = alignment.query
        return [
            Query(alignment.ids[0], query, profile=alignment.profile(), alignment=alignment)
        ], []
    records, problems = read_fasta(text, max_length=max_length)
    return [Query(r.id, r.sequence) for r in records], problems


def _probabilities(logits: torch.Tensor) -> np.ndarray:
    return logits.softmax(0).T.numpy()  # (C, L) logits -> (L, C) probabilities


def _given_probabilities(probabilities: torch.Tensor) -> np.ndarray:
    return probabilities.T.numpy()  # (C, L) -> (L, C)


def _sigmoid(logits: torch.Tensor) -> np.ndarray:
    return torch.sigmoid(logits[0]).numpy()


def _expected_distance(logits: torch.Tensor) -> np.ndarray:
    return expected_distance(logits, dim=0).numpy()


def _identity(values: torch.Tensor) -> np.ndarray:
    return values.numpy()


READOUTS: dict[str, Callable[[torch.Tensor], np.ndarray]] = {
    "softmax": _probabilities,
    "probability": _given_probabilities,
    "sigmoid": _sigmoid,
    "expected distance": _expected_distance,
    "identity": _identity,
}
"""How one sample's logits of a head become the reported values, by the head's ``transform``."""


@torch.no_grad()
def predict(
    model: nn.Module, query: Query | Protein, model_adapter: ModelAdapter | str = "default"
) -> dict[str, Any]:
    """``sequence``, ``mode`` and one float32 array per head of the model (``model`` is the
    network, ``model_adapter`` its adapter or registered name), read out of its outputs.

    >>> from foldlens.models import load
    >>> prediction = predict(load("default"), Protein("MKTAYIAKQRQISFVKSHFSRQLEERLG"))
    >>> prediction["ss3"].shape, prediction["dist_cb_cb"].shape
    ((28, 3), (28, 28))
    """
    found = adapter(model_adapter) if isinstance(model_adapter, str) else model_adapter
    protein = query.protein if isinstance(query, Query) else query
    if len(protein.sequence) > found.max_length:
        raise ValueError(
            f"the sequence has {len(protein.sequence)} residues; model {found.name!r} "
            f"takes at most {found.max_length}"
        )
    out = found.outputs(model, found.encoded(protein).x)
    result: dict[str, Any] = {
        "sequence": protein.sequence,
        "mode": "profile"
        if protein.profile is not None and reads_profile(found.spec)
        else "single",
    }
    for head in found.heads:
        if not head.source:  # read out of another head's logits: the confidence below
            result[head.name] = READOUTS[head.transform](out[head.name][0].float())
    if has_distograms(found):
        distograms = distograms_from_logits(protein.sequence, out)
        confident = confidence(distograms.probabilities, found.confidence_calibration())
        result["plddt"], result["pae"] = confident.plddt, confident.pae
    return result


def to_json(prediction: dict[str, Any]) -> dict[str, Any]:
    """The prediction with arrays as nested lists rounded to 4 decimals (JSON-ready)."""
    return {
        k: v if isinstance(v, str) else np.round(np.asarray(v, dtype=np.float64), 4).tolist()
        for k, v in prediction.items()
    }


def to_npz(prediction: dict[str, Any]) -> bytes:
    """The prediction as the bytes of a compressed NPZ file (strings as 0-d unicode arrays)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in prediction.items()})  # type: ignore[arg-type]
    return buffer.getvalue()


def from_npz(data: bytes) -> dict[str, Any]:
    """The inverse of :func:`to_npz`."""
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {k: str(arrays[k]) if arrays[k].dtype.kind == "U" else arrays[k] for k in arrays}


def true_maps(structure: Backbone) -> dict[str, Any]:
    """What a known structure says: its four distance maps (Å), ``contact`` (1 where Cβ–Cβ < 8 Å)
    and ``dssp``, the 3-state DSSP letters (H, E, C) of its backbone hydrogen bonds."""
    maps: dict[str, Any] = structure.distance_maps()
    maps["contact"] = (maps["dist_cb_cb"] < CONTACT_CUTOFF).astype(np.uint8)
    maps["dssp"] = structure.secondary_structure()
    return maps


def write_predictions(
    prediction: dict[str, Any], out: Path, truth: dict[str, Any] | None = None
) -> list[Path]:
    """``predictions.npz``, ``predictions.json`` and PNG plots in ``out`` (with the true maps in
    the plots when ``truth`` is given)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "predictions.npz").write_bytes(to_npz(prediction))
    (out / "predictions.json").write_text(json.dumps(to_json(prediction)))
    written = [out / "predictions.npz", out / "predictions.json"]
    for name in available_figures(prediction):
        written.append(out / f"{name}.png")
        save_figure(prediction_figure(name, prediction, truth), written[-1])
    return written
