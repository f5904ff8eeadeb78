"""``foldlens predict``: read a sequence, FASTA, MSA or structure; write predictions and plots.

Every prediction has the keys of the public schema: ``sequence``, ``mode`` (``profile`` when an
MSA gave a profile, else ``single``), ``ss3`` (L×3, H E C), ``ss8`` (L×8, H G I E B T S C), ``rsa``
(L, 0–1), ``dist_ca_ca``, ``dist_ca_cb``, ``dist_cb_ca``, ``dist_cb_cb`` (L×L expected distances,
Å) and ``contact`` (L×L, P(Cβ–Cβ < 8 Å)).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .models.default import DISTANCE_MAPS
from .protein.features import residue_features
from .protein.labels import expected_distance
from .protein.msa import parse_msa
from .protein.sequences import MAX_LENGTH, check_sequence, parse_fasta
from .protein.structure import Backbone, read_structure

STRUCTURE_SUFFIXES = {".pdb", ".ent", ".cif", ".mmcif"}
MSA_SUFFIXES = {".a3m", ".sto", ".stk", ".stockholm", ".afa", ".aln"}
KEYS = ("sequence", "mode", "ss3", "ss8", "rsa", *DISTANCE_MAPS, "contact")


@dataclass(frozen=True)
class Query:
    """One protein to predict: its sequence, a profile if an MSA was given, a structure if known."""

    id: str
    sequence: str
    profile: np.ndarray | None = None
    structure: Backbone | None = None


def _looks_aligned(text: str) -> bool:
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(">")]
    return text.lstrip().startswith("# STOCKHOLM") or any(
        "-" in row or "." in row or any(c.islower() for c in row) for row in rows
    )


def read_queries(source: str, max_length: int = MAX_LENGTH) -> list[Query]:
    """Queries from a file (FASTA, MSA, PDB, mmCIF) or from a literal sequence."""
    path = Path(source)
    if not path.is_file():
        if any(sep in source for sep in "/\\.") or source.endswith((".fasta", ".fa")):
            raise ValueError(f"no such file: {source}")
        return [Query("query", check_sequence(source, max_length=max_length))]
    text = path.read_text(errors="replace")
    suffix = path.suffix.lower()
    if suffix in STRUCTURE_SUFFIXES:
        backbone = read_structure(text, max_length=max_length)
        return [Query(path.stem, backbone.sequence, structure=backbone)]
    if suffix in MSA_SUFFIXES or _looks_aligned(text):
        alignment = parse_msa(text, max_length=max_length)
        return [Query(alignment.ids[0], alignment.query, profile=alignment.profile())]
    return [Query(r.id, r.sequence) for r in parse_fasta(text, max_length=max_length)]


@torch.no_grad()
def predict(model: nn.Module, query: Query) -> dict[str, Any]:
    """The schema's arrays for one query (float32 numpy arrays, and two strings)."""
    x = residue_features(query.sequence, query.profile)[None]
    out = model(x)
    missing = [name for name in ("ss3", "ss8", "rsa", *DISTANCE_MAPS, "contact") if name not in out]
    if missing:
        raise ValueError(
            f"this model has no {', '.join(missing)} head(s); predict needs the default model"
        )
    result: dict[str, Any] = {
        "sequence": query.sequence,
        "mode": "single" if query.profile is None else "profile",
        "ss3": out["ss3"][0].softmax(0).T.numpy(),
        "ss8": out["ss8"][0].softmax(0).T.numpy(),
        "rsa": torch.sigmoid(out["rsa"][0, 0]).numpy(),
    }
    for name in DISTANCE_MAPS:
        result[name] = expected_distance(out[name][0], dim=0).numpy()
    result["contact"] = torch.sigmoid(out["contact"][0, 0]).numpy()
    return result


def write_predictions(prediction: dict[str, Any], out: Path) -> list[Path]:
    """``predictions.npz``, ``predictions.json`` and PNG plots in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v) for k, v in prediction.items()}
    np.savez_compressed(out / "predictions.npz", **arrays)  # type: ignore[arg-type]
    as_json = {
        k: v if isinstance(v, str) else np.round(np.asarray(v, dtype=np.float64), 4).tolist()
        for k, v in prediction.items()
    }
    (out / "predictions.json").write_text(json.dumps(as_json))
    return [out / "predictions.npz", out / "predictions.json", *_plots(prediction, out)]


def _plots(prediction: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    maps = out / "distance_maps.png"
    fig, axes = plt.subplots(2, 2, figsize=(10, 9))
    for ax, name in zip(axes.flat, DISTANCE_MAPS, strict=True):
        image = ax.imshow(prediction[name], cmap="viridis_r", vmin=0, vmax=22)
        ax.set_title(name.replace("dist_", "").replace("_", "–").upper() + " (Å)")
    fig.colorbar(image, ax=axes, shrink=0.6)
    fig.savefig(maps, dpi=110)
    plt.close(fig)

    tracks = out / "tracks.png"
    length = len(prediction["sequence"])
    fig, axes = plt.subplots(3, 1, figsize=(max(8, length / 12), 6), sharex=True)
    for k, (label, colour) in enumerate(
        zip("HEC", ("tab:red", "tab:blue", "tab:gray"), strict=True)
    ):
        axes[0].plot(prediction["ss3"][:, k], color=colour, label=label)
    axes[0].set_ylabel("P(3-state)")
    axes[0].legend(loc="upper right", ncol=3)
    axes[1].imshow(
        prediction["ss8"].T, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest"
    )
    axes[1].set_yticks(range(8), list("HGIEBTSC"))
    axes[2].plot(prediction["rsa"], color="tab:green")
    axes[2].set_ylabel("relative accessibility")
    axes[2].set_xlabel("residue")
    fig.tight_layout()
    fig.savefig(tracks, dpi=110)
    plt.close(fig)
    return [maps, tracks]
