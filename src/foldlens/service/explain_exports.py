"""Downloads of one explanation: the figure (PNG, SVG, PDF), the arrays (NPZ, CSV, JSON), a PDB
with the per-residue attribution in the B-factor column, a PyMOL script colouring by it, and a
signed sequence logo (logomaker).

The per-residue value everywhere is the signed sum over the input features,
``s_k = Σ_f A_fk`` (for mutagenesis the mean change over the 20 substitutions; for attribution to
a 2D layer's input, half of each cell's channel sum to each of its two residues). The logo needs
an attribution to the model input's letters, so it is not offered for layer attributions.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import numpy as np

from ..figures import FIGURE_FORMATS, figure_bytes
from ..protein.alphabet import AMINO_ACIDS
from ..protein.structure import Backbone
from .analysis_figures import analysis_figure
from .errors import InvalidInputError, NotAvailableError
from .exports import Rendered

EXPORTS = {
    "figure": tuple(FIGURE_FORMATS),
    "arrays": ("npz", "csv", "json"),
    "pdb": ("pdb",),
    "pymol": ("pml",),
    "logo": tuple(FIGURE_FORMATS),
}


def _letter_matrix(result: dict[str, Any]) -> tuple[np.ndarray, str]:
    """``(L, 20)`` signed values per residue and amino acid, and what they are."""
    if "wrt" in result:
        raise NotAvailableError(
            f"the logo shows attribution to the input's amino-acid letters; this explanation is "
            f"attributed to the input of layer {result['wrt']}"
        )
    if "delta" in result:
        delta = np.array(result["delta"], dtype=float)
        return np.nan_to_num(delta), "change of the target on mutation"
    attribution = np.array(result["attribution"], dtype=float)
    rows, group = _letter_rows(result)
    return attribution[rows].T, f"attribution to the {group} letters"


LETTERS_BEFORE_GROUPS = [{"name": "one-hot", "size": len(AMINO_ACIDS)}]
"""Explanations stored before inputs had named groups: the default network's layout."""


def _letter_rows(result: dict[str, Any]) -> tuple[slice, str]:
    """The rows of the model's feature group that encodes the residue's letter (labels
    ``AMINO_ACIDS`` in order, e.g. the default network's one-hot rows), and its name."""
    start = 0
    for group in result.get("feature_groups", LETTERS_BEFORE_GROUPS):
        names = result["features"][start : start + group["size"]]
        if [name.removeprefix(group["name"]).strip() for name in names] == list(AMINO_ACIDS):
            return slice(start, start + group["size"]), group["name"]
        start += group["size"]
    raise NotAvailableError(
        "the logo shows attribution to the amino-acid letters; this model's input has no "
        "feature group of the 20 letters"
    )


def _figure(result: dict[str, Any], sequence: str, description: str) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    length = len(sequence)
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(8.0, length / 14), 6.5),
        sharex=True,
        height_ratios=(3, 1),
        layout="constrained",
    )
    if "pair" in result:
        return _pair_figure(result, sequence, description)
    if "delta" in result:
        matrix = np.array(result["delta"], dtype=float).T
        rows = list(result["alphabet"])
        label = "Δ target"
    else:
        matrix = np.array(result["attribution"], dtype=float)
        rows = [
            name.replace("one-hot ", "").replace("profile ", "p") for name in result["features"]
        ]
        label = "attribution"
    bound = float(np.nanmax(np.abs(matrix))) or 1.0
    residues = np.arange(1, length + 1)
    image = top.imshow(
        matrix,
        aspect="auto",
        cmap="RdBu_r",
        interpolation="nearest",
        norm=TwoSlopeNorm(0, -bound, bound),
        extent=(0.5, length + 0.5, len(rows) - 0.5, -0.5),
    )
    if "wild_type" in result:
        top.scatter(residues, result["wild_type"], s=4, c="black", marker="o", label="wild type")
    top.set_yticks(range(len(rows)), rows, fontsize=6)
    top.set_title(f"{result['method']}\n{description}", fontsize=9)
    fig.colorbar(image, ax=top, label=label, shrink=0.8)
    signed = np.array(result["residue_sum"], dtype=float)
    bottom.bar(residues, signed, width=1.0, color=np.where(signed >= 0, "tab:red", "tab:blue"))
    bottom.set_ylabel("per residue")
    bottom.set_xlabel("residue")
    return fig


def _pair_figure(result: dict[str, Any], sequence: str, description: str) -> Any:
    """The L × L map of attribution to a 2D layer's input, cut to the cells that matter."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    pair = np.array(result["pair"], dtype=float)
    rows, cols = np.nonzero(pair)
    if rows.size == 0:
        rows = cols = np.arange(len(sequence))
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    bound = float(np.abs(pair).max()) or 1.0
    fig, ax = plt.subplots(figsize=(6.5, 5.5), layout="constrained")
    image = ax.imshow(
        pair[top:bottom, left:right],
        cmap="RdBu_r",
        interpolation="nearest",
        norm=TwoSlopeNorm(0, -bound, bound),
        extent=(left + 0.5, right + 0.5, bottom + 0.5, top + 0.5),
    )
    ax.set_xlabel("residue j")
    ax.set_ylabel("residue i")
    ax.set_title(f"{result['method']}\n{description}", fontsize=9)
    fig.colorbar(image, ax=ax, label="attribution, summed over channels", shrink=0.8)
    return fig


def _logo(result: dict[str, Any], sequence: str, description: str) -> Any:
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    matrix, meaning = _letter_matrix(result)
    frame = pd.DataFrame(matrix, columns=list(AMINO_ACIDS), index=range(1, len(sequence) + 1))
    fig, ax = plt.subplots(figsize=(max(8.0, len(sequence) / 8), 3.2), layout="constrained")
    logomaker.Logo(frame, ax=ax, color_scheme="chemistry", flip_below=False)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title(f"{result['method']}: {meaning}\n{description}", fontsize=9)
    ax.set_xlabel("residue")
    return fig


def _arrays_csv(result: dict[str, Any], sequence: str) -> str:
    matrix, _ = _letter_matrix(result) if "delta" in result else (None, "")
    if matrix is not None:
        names = [f"delta {aa}" for aa in result["alphabet"]]
    elif "pair" in result:  # per residue only: the L × L map is in the NPZ and JSON
        matrix, names = np.zeros((len(sequence), 0)), []
    else:
        matrix = np.array(result["attribution"], dtype=float).T
        names = list(result["features"])
    lines = [",".join(["index", "residue", "sum", "magnitude", *names])]
    for k, residue in enumerate(sequence):
        values = [result["residue_sum"][k], result["residue_magnitude"][k], *matrix[k]]
        lines.append(",".join([str(k + 1), residue, *(f"{v:.6g}" for v in values)]))
    return "\n".join(lines) + "\n"


PYMOL_OBJECT = "foldlens"


def _pymol(
    result: dict[str, Any], sequence: str, description: str, shown: tuple[str, str] | None
) -> str:
    """A PyMOL script that puts the per-residue attribution into the B-factor column and colours
    blue (negative) – white – red (positive). ``shown`` is ``(what, PDB text)`` of the structure
    to colour (the job's own, or its predicted 3D model): the script then carries it and runs on
    its own (``pymol script.pml``); without one it colours a structure the user loads first."""
    signed = np.array(result["residue_sum"], dtype=float)
    bound = float(np.abs(signed).max()) or 1.0
    lines = [f"# foldlens: {result['method']} attribution of {description}"]
    if shown is not None:
        what, pdb = shown
        lines += [
            f"# Carries {what} (residues numbered 1..{len(sequence)}); run: pymol this-file.pml",
            "python",
            f'cmd.read_pdbstr("""{pdb}""", "{PYMOL_OBJECT}")',
            "python end",
        ]
        selection = PYMOL_OBJECT
    else:
        lines += [
            "# This job has neither a structure nor a 3D model yet (the result page's 3D view",
            "# builds one; its download then carries it). Load a structure of this sequence,",
            f"# residues numbered 1..{len(sequence)}, then run this script:",
            f"# {sequence}",
        ]
        selection = "all"
    lines += [
        f"alter {selection}, b=0",
        *(f"alter {selection} and resi {k + 1}, b={v:.6g}" for k, v in enumerate(signed)),
        f"spectrum b, blue_white_red, {selection}, minimum={-bound:.6g}, maximum={bound:.6g}",
        "show cartoon",
    ]
    return "\n".join(lines) + "\n"


ANALYSIS_EXPORTS = {"figure": tuple(FIGURE_FORMATS), "json": ("json",)}


def _checked_format(exports: dict[str, tuple[str, ...]], what: str, file_format: str | None) -> str:
    """``file_format`` (default: the first) checked against what ``exports`` offers for ``what``."""
    formats = exports.get(what)
    if formats is None:
        raise InvalidInputError(f"unknown export {what!r}; exports: {list(exports)}")
    file_format = file_format or formats[0]
    if file_format not in formats:
        raise InvalidInputError(f"{what} comes as {', '.join(formats)}, not {file_format!r}")
    return file_format


def _stem(name: str, what: str) -> str:
    """A file name stem safe on every system."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{name}-{what}")


def render_analysis(
    result: dict[str, Any], name: str, description: str, what: str, file_format: str | None
) -> Rendered:
    """One download of one analysis ``result``: its figure or its JSON."""
    file_format = _checked_format(ANALYSIS_EXPORTS, what, file_format)
    filename = f"{_stem(name, result['analysis'])}.{file_format}"
    if what == "json":
        document = {"description": description, **result}
        return Rendered(json.dumps(document).encode(), "application/json", filename)
    figure = analysis_figure(result, description)
    return Rendered(figure_bytes(figure, file_format), FIGURE_FORMATS[file_format], filename)


def render_explanation(
    result: dict[str, Any],
    *,
    name: str,
    sequence: str,
    description: str,
    structure: Backbone | None,
    what: str,
    file_format: str | None,
    model_pdb: str | None = None,
) -> Rendered:
    """One download of one explanation ``result`` (the stored JSON document); ``model_pdb`` is
    the job's predicted 3D model when it has been built (the PyMOL script carries it when the job
    has no structure of its own)."""
    file_format = _checked_format(EXPORTS, what, file_format)
    filename = f"{_stem(name, result['method'])}-{what}.{file_format}"
    if what == "figure":
        figure = _figure(result, sequence, description)
        return Rendered(figure_bytes(figure, file_format), FIGURE_FORMATS[file_format], filename)
    if what == "logo":
        figure = _logo(result, sequence, description)
        return Rendered(figure_bytes(figure, file_format), FIGURE_FORMATS[file_format], filename)
    if what == "pymol":
        shown = (
            ("this job's structure", structure.to_pdb())
            if structure is not None
            else None
            if model_pdb is None
            else ("this job's predicted 3D model", model_pdb)
        )
        script = _pymol(result, sequence, description, shown)
        return Rendered(script.encode(), "text/plain", filename)
    if what == "pdb":
        if structure is None:
            raise NotAvailableError("this job has no structure; the PyMOL script works on yours")
        scores = np.array(result["residue_sum"], dtype=float)
        return Rendered(structure.to_pdb(scores).encode(), "chemical/x-pdb", filename)
    if file_format == "json":
        document = {"description": description, "sequence": sequence, **result}
        return Rendered(json.dumps(document).encode(), "application/json", filename)
    if file_format == "csv":
        return Rendered(_arrays_csv(result, sequence).encode(), "text/csv", filename)
    arrays: dict[str, Any] = {
        "sequence": np.asarray(sequence),
        "method": np.asarray(result["method"]),
        "description": np.asarray(description),
        "residue_sum": np.array(result["residue_sum"], dtype=np.float32),
        "residue_magnitude": np.array(result["residue_magnitude"], dtype=np.float32),
    }
    if "wrt" in result:
        arrays["wrt"] = np.asarray(result["wrt"])
    if "delta" in result:
        arrays["delta"] = np.array(result["delta"], dtype=float).astype(np.float32)
        arrays["alphabet"] = np.asarray(result["alphabet"])
    elif "pair" in result:
        arrays["pair"] = np.array(result["pair"], dtype=np.float32)
        if "grid" in result:
            arrays["grid"] = np.array(result["grid"]["values"], dtype=np.float32)
            arrays["grid_states"] = np.asarray(result["grid"]["states"])
            arrays["grid_rows"] = np.array(result["grid"]["rows"])
            arrays["grid_cols"] = np.array(result["grid"]["cols"])
    else:
        arrays["attribution"] = np.array(result["attribution"], dtype=np.float32)
        arrays["features"] = np.asarray(result["features"])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return Rendered(buffer.getvalue(), "application/octet-stream", filename)
