"""Figures of a prediction (and of the true structure when known), drawn with matplotlib.

``prediction_figure`` draws one view — the four distance maps, the contact map, the per-residue
tracks or the confidence (pLDDT and the PAE-like map) — of whichever heads the prediction has;
``figure_bytes`` renders it as PNG, SVG or PDF.
The CLI writes PNGs and the web API serves all three formats from the same code.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .folding.confidence import PLDDT_BANDS, plddt_band
from .protein.labels import DISTANCE_CENTRES, DISTANCE_MAPS, DSSP8

FIGURE_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
MAX_DISTANCE = 22.0
DISTANCE_CAP = float(DISTANCE_CENTRES[-1])
"""The largest distance the distogram predicts; true distances are capped here when compared."""


def residue_extent(length: int) -> tuple[float, float, float, float]:
    """``imshow``'s extent for an L × L map whose axes read residues 1…L (row i down, column j
    across), each cell centred on its residue number."""
    return (0.5, length + 0.5, length + 0.5, 0.5)


def _residue_axes(ax: Any) -> None:
    ax.set_xlabel("residue j")
    ax.set_ylabel("residue i")


def map_title(name: str) -> str:
    """``dist_ca_cb`` → ``Cα–Cβ``."""
    atoms = {"ca": "Cα", "cb": "Cβ"}
    return f"{atoms[name[5:7]]}–{atoms[name[8:10]]}"


def _distance_maps(prediction: dict[str, Any], truth: dict[str, Any] | None) -> Figure:
    names = [name for name in DISTANCE_MAPS if name in prediction]
    rows = 3 if truth is not None else 1
    fig, axes = plt.subplots(
        rows,
        len(names),
        figsize=(3.4 * len(names), 3.2 * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    extent = residue_extent(len(prediction["sequence"]))
    for col, name in enumerate(names):
        image = axes[0, col].imshow(
            prediction[name], cmap="viridis_r", vmin=0, vmax=MAX_DISTANCE, extent=extent
        )
        axes[0, col].set_title(f"predicted {map_title(name)}")
        if truth is not None:
            axes[1, col].imshow(
                truth[name], cmap="viridis_r", vmin=0, vmax=MAX_DISTANCE, extent=extent
            )
            axes[1, col].set_title(f"true {map_title(name)}")
            capped = np.minimum(truth[name], DISTANCE_CAP)
            difference = axes[2, col].imshow(
                prediction[name] - capped, cmap="RdBu_r", vmin=-10, vmax=10, extent=extent
            )
            axes[2, col].set_title(f"predicted − min(true, {DISTANCE_CAP:g} Å)")
        for ax in axes[:, col]:
            _residue_axes(ax)
    fig.colorbar(
        image,
        ax=axes[:1].ravel().tolist() if truth is not None else axes,
        shrink=0.8,
        label="distance (Å)",
    )
    if truth is not None:
        fig.colorbar(image, ax=axes[1].ravel().tolist(), shrink=0.8, label="distance (Å)")
        fig.colorbar(difference, ax=axes[2].ravel().tolist(), shrink=0.8, label="Å")
    return fig


def _contact_map(prediction: dict[str, Any], truth: dict[str, Any] | None) -> Figure:
    fig, ax = plt.subplots(figsize=(6.2, 5.4), layout="constrained")
    contact = prediction["contact"]
    image = ax.imshow(contact, cmap="Greys", vmin=0, vmax=1, extent=residue_extent(len(contact)))
    if truth is not None:
        i, j = np.nonzero(np.triu(truth["contact"], k=6))
        ax.scatter(
            j + 1,
            i + 1,
            s=4,
            c="tab:red",
            marker="s",
            linewidths=0,
            label="true contact (|i−j| ≥ 6)",
        )
        ax.legend(loc="lower left", fontsize=8)
    ax.set_title("P(Cβ–Cβ < 8 Å)")
    _residue_axes(ax)
    fig.colorbar(image, ax=ax, label="probability")
    return fig


def _tracks(prediction: dict[str, Any], truth: dict[str, Any] | None) -> Figure:
    """One panel per per-residue head the prediction has: 3-state (with the true helices and
    strands shaded when ``truth`` is given), 8-state and relative accessibility."""
    length = len(prediction["sequence"])
    panels = [name for name in TRACK_HEADS if name in prediction]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(max(8, length / 12), 2 * len(panels)),
        sharex=True,
        squeeze=False,
        layout="constrained",
    )
    for ax, name in zip(axes[:, 0], panels, strict=True):
        TRACK_PANELS[name](ax, prediction[name], truth)
    axes[-1, 0].set_xlabel("residue")
    axes[-1, 0].set_xlim(0.5, length + 0.5)
    return fig


def _residues(values: np.ndarray) -> np.ndarray:
    """Residue numbers 1…L for a per-residue track."""
    return np.arange(1, len(values) + 1)


def _ss3_panel(ax: Any, ss3: np.ndarray, truth: dict[str, Any] | None) -> None:
    for k, (label, colour) in enumerate(
        zip("HEC", ("tab:red", "tab:blue", "tab:gray"), strict=True)
    ):
        ax.plot(_residues(ss3), ss3[:, k], color=colour, label=label)
    if truth is not None:
        for k, state in enumerate("HE"):
            observed = np.array([s == state for s in truth["dssp"]])
            ax.fill_between(
                _residues(ss3),
                0,
                observed * 1.0,
                step="mid",
                alpha=0.12,
                color=("tab:red", "tab:blue")[k],
                linewidth=0,
            )
    ax.set_ylabel("P(3-state)")
    ax.legend(loc="upper right", ncol=3)


def _ss8_panel(ax: Any, ss8: np.ndarray, truth: dict[str, Any] | None) -> None:
    ax.imshow(
        ss8.T, aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
        extent=(0.5, len(ss8) + 0.5, 7.5, -0.5),
    )  # fmt: skip
    ax.set_yticks(range(8), list(DSSP8))
    ax.set_ylabel("P(8-state)")


def _rsa_panel(ax: Any, rsa: np.ndarray, truth: dict[str, Any] | None) -> None:
    ax.plot(_residues(rsa), rsa, color="tab:green")
    ax.set_ylabel("relative accessibility")


def _confidence(prediction: dict[str, Any], truth: dict[str, Any] | None) -> Figure:
    """pLDDT per residue in AlphaFold DB's colour bands, and the PAE-like map."""
    plddt, pae = prediction["plddt"], prediction["pae"]
    fig, (track, square) = plt.subplots(
        1, 2, figsize=(11, 4.2), layout="constrained", width_ratios=(1.6, 1)
    )
    track.bar(_residues(plddt), plddt, width=1.0, color=[plddt_band(v)[1] for v in plddt])
    for lowest, name, colour in PLDDT_BANDS:
        track.bar([], [], color=colour, label=f"{name} (≥ {lowest:g})" if lowest else name)
    track.set_ylim(0, 100)
    track.set_xlim(0.5, len(plddt) + 0.5)
    track.set_xlabel("residue")
    track.set_ylabel("pLDDT")
    track.legend(loc="lower left", fontsize=8, ncol=2)
    image = square.imshow(
        pae, cmap="Greens_r", vmin=0, vmax=max(10.0, float(pae.max())),
        extent=residue_extent(len(pae)),
    )  # fmt: skip
    square.set_title("expected error of the Cβ–Cβ distance")
    _residue_axes(square)
    fig.colorbar(image, ax=square, label="Å")
    return fig


TRACK_PANELS: dict[str, Callable[[Any, np.ndarray, dict[str, Any] | None], None]] = {
    "ss3": _ss3_panel,
    "ss8": _ss8_panel,
    "rsa": _rsa_panel,
}
TRACK_HEADS = tuple(TRACK_PANELS)


FIGURES: dict[str, Callable[[dict[str, Any], dict[str, Any] | None], Figure]] = {
    "distance_maps": _distance_maps,
    "contact": _contact_map,
    "tracks": _tracks,
    "confidence": _confidence,
}
DRAWS = {
    "distance_maps": DISTANCE_MAPS,
    "contact": ("contact",),
    "tracks": TRACK_HEADS,
    "confidence": ("plddt", "pae"),
}
"""The keys each figure draws; it is available when the prediction has any of them."""


def available_figures(keys: Iterable[str]) -> list[str]:
    """The figures that a prediction with these keys (or a model with these heads) can draw."""
    present = set(keys)
    return [name for name in FIGURES if present.intersection(DRAWS[name])]


def prediction_figure(
    name: str, prediction: dict[str, Any], truth: dict[str, Any] | None = None
) -> Figure:
    """One of ``distance_maps``, ``contact``, ``tracks`` and ``confidence``.

    With ``truth`` (true distance maps, ``contact`` 0/1 and ``dssp`` letters) the true maps and the
    differences join the distance maps, true contacts are overlaid and true helices and strands
    are shaded behind the 3-state track.
    """
    if name not in available_figures(prediction):
        raise ValueError(f"no {name!r} figure for this prediction")
    return FIGURES[name](prediction, truth)


def figure_bytes(figure: Figure, file_format: str) -> bytes:
    """Render and close ``figure`` as ``png``, ``svg`` or ``pdf``."""
    if file_format not in FIGURE_FORMATS:
        raise ValueError(f"unknown figure format {file_format!r}; formats: {list(FIGURE_FORMATS)}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=file_format, dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def save_figure(figure: Figure, path: Path) -> None:
    """Write ``figure`` to ``path`` in the format its suffix names, and close it."""
    path.write_bytes(figure_bytes(figure, path.suffix.lstrip(".")))
