"""An atlas folder served read-only (``foldlens serve --atlas DIR``): ``/atlas`` is its report
with every protein linked to ``/atlas/proteins/<file>``, a page drawn from that protein's file
(its predicted contacts with the explained ones marked, each method's per-residue attribution
for every target), from which the protein opens in the explorer as a job of the server.

Nothing is written to the folder; the report's parts are read once, at start.
"""

from __future__ import annotations

import html
import json
import zipfile
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from matplotlib.figure import Figure
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..atlas.protein_work import HEADS
from ..atlas.report import report_html, svg_of
from ..atlas.run import ATLAS_FORMAT
from ..service.inputs import job_input
from ..service.jobs import JobService
from .clients import client_of

PAGES_CACHED = 32


@dataclass(frozen=True, eq=False)
class AtlasFolder:
    """The parts of an atlas folder its pages show (hashed by identity, for the page cache)."""

    root: Path
    summary: dict[str, Any]
    found: dict[str, Any]
    drawn: dict[str, str]
    proteins: list[dict[str, Any]]

    @classmethod
    def open(cls, root: Path) -> AtlasFolder:
        """The atlas in ``root``; a ``ValueError`` naming what is missing when it is not one."""
        needed = [root / name for name in ("atlas.json", "aggregates.json", "proteins.json")]
        missing = [path.name for path in needed if not path.is_file()]
        if missing:
            raise ValueError(f"{root} is not an atlas folder (no {', '.join(missing)})")
        summary = json.loads((root / "atlas.json").read_text())
        if summary.get("format") != ATLAS_FORMAT:
            raise ValueError(
                f"{root} holds an atlas of format {summary.get('format')}, this foldlens reads "
                f"format {ATLAS_FORMAT}: run foldlens atlas again into a new folder"
            )
        drawn = {path.stem: path.read_text() for path in sorted((root / "figures").glob("*.svg"))}
        found = json.loads((root / "aggregates.json").read_text())
        proteins = json.loads((root / "proteins.json").read_text())
        return cls(root, summary, found, drawn, proteins)

    def report(self) -> str:
        return report_html(
            self.summary, self.found, self.drawn, self.proteins, lambda f: f"/atlas/proteins/{f}"
        )

    def has(self, file: str) -> bool:
        return file in self._files

    @cached_property
    def _files(self) -> frozenset[str]:
        return frozenset(self.summary["files"])

    def arrays(self, file: str) -> dict[str, Any]:
        """The protein file's arrays (``file`` must be one of the atlas's); a damaged or missing
        file is a 500 that says so."""
        try:
            with np.load(self.root / "proteins" / file) as stored:
                return {name: stored[name] for name in stored.files}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise HTTPException(500, f"the atlas's file {file} cannot be read: {error}") from error

    def protein_page(self, file: str) -> str:
        return _protein_page(self, file)


@lru_cache(maxsize=PAGES_CACHED)
def _protein_page(folder: AtlasFolder, file: str) -> str:
    stored = folder.arrays(file)
    sequence = str(stored["sequence"])
    inputs = json.loads(str(stored["inputs"]))
    targets = stored["targets"]
    contacts = targets[targets[:, 0] == HEADS.index("contact")]
    escape = html.escape
    name = file.rsplit("-", 1)[0]
    rows = "".join(
        f"<tr><td>{i + 1}{sequence[i]}</td><td>{j + 1}{sequence[j]}</td><td>{j - i}</td>"
        f"<td>{float(stored['contact'][i, j]):.2f}</td></tr>"
        for _, i, j, _ in contacts.tolist()
    )
    note = (
        "<p>The atlas explained this protein with its profile; the explorer runs it from its "
        "sequence alone, so its maps differ.</p>"
        if inputs["profile"]
        else ""
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(name)} · foldlens atlas</title><style>body{{font-family:system-ui,"
        "sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}svg{max-width:100%;height:"
        "auto}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid "
        "#ddd}code{word-break:break-all}</style></head><body>"
        f"<p><a href='/atlas'>← atlas</a></p><h1>{escape(name)}</h1>"
        f"<p>{len(sequence)} residues, model <code>{escape(str(stored['model']))}</code></p>"
        f"<p><code>{escape(sequence)}</code></p>"
        f"<form method='post' action='/atlas/proteins/{escape(file)}/explore'>"
        "<button type='submit'>Open in the explorer</button></form>"
        f"{note}{svg_of(_protein_figure(stored))}"
        "<h2>Explained contacts</h2><table><tr><th>i</th><th>j</th><th>j − i</th>"
        f"<th>probability</th></tr>{rows}</table></body></html>"
    )


def _protein_figure(stored: dict[str, Any]) -> Figure:
    """The predicted contact map (if the model has one) with the explained contacts circled, and
    per method the attribution magnitude ``m_k`` of every target (rows) on every residue."""
    methods = [key.split("/")[0] for key in stored if key.endswith("/magnitude")]
    panels = (["contact"] if "contact" in stored else []) + methods
    figure = Figure(figsize=(4 * len(panels), 4))  # not pyplot: pages are drawn in threads
    axes = figure.subplots(1, len(panels), squeeze=False)
    length = len(str(stored["sequence"]))
    residues = (0.5, length + 0.5, length + 0.5, 0.5)  # residues numbered from 1, as in the table
    targets = stored["targets"]
    contacts = targets[targets[:, 0] == HEADS.index("contact")]
    for ax, panel in zip(axes[0], panels, strict=True):
        if panel == "contact":
            probability = stored["contact"].astype(np.float32)
            ax.imshow(probability, cmap="Greys", vmin=0, vmax=1, extent=residues)
            ax.scatter(
                contacts[:, 2] + 1, contacts[:, 1] + 1, s=30, facecolors="none", edgecolors="red"
            )
            ax.set_title("predicted contacts (explained: red)", fontsize=9)
            continue
        magnitude = stored[f"{panel}/magnitude"]
        share = magnitude / np.maximum(magnitude.sum(1, keepdims=True), 1e-30)
        rows = (0.5, length + 0.5, len(share) + 0.5, 0.5)
        ax.imshow(share, aspect="auto", cmap="magma", interpolation="nearest", extent=rows)
        ax.set_title(f"{panel}: |map| share per residue", fontsize=9)
        ax.set_xlabel("residue")
        ax.set_ylabel(f"target ({len(contacts)} contacts first)")
    return figure


def add_atlas_pages(
    app: FastAPI, folder: AtlasFolder, service: JobService, trusted: frozenset[str]
) -> None:
    """``/atlas``, ``/atlas/proteins/<file>`` and its ``/explore`` (a job of the protein's
    sequence, then its result page)."""

    def known(file: str) -> str:
        if not folder.has(file):
            raise HTTPException(404)
        return file

    @app.get("/atlas", include_in_schema=False)
    def atlas_report() -> HTMLResponse:
        return HTMLResponse(folder.report())

    @app.get("/atlas/proteins/{file}", include_in_schema=False)
    async def atlas_protein(file: str) -> HTMLResponse:
        page = await run_in_threadpool(folder.protein_page, known(file))
        return HTMLResponse(page)

    @app.post("/atlas/proteins/{file}/explore", include_in_schema=False)
    async def atlas_explore(file: str, request: Request) -> RedirectResponse:
        sequence = str(folder.arrays(known(file))["sequence"])
        client = client_of(request, trusted)
        service.admission.count_submission(client)
        model = folder.summary["model_name"]
        inputs = await run_in_threadpool(lambda: job_input(model=model, sequence=sequence))
        submitted = service.submit(inputs, client)
        return RedirectResponse(
            f"/view/{submitted.job.id}?submission={submitted.submission.id}", status_code=303
        )
