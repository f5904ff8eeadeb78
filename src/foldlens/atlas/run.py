"""Explain every protein of an atlas into one file per protein, resumable: the driver reads the
proteins, skips what is done, hands the rest to an executor (:mod:`.execution`: this process or
Ray) and writes what comes back.

A protein's file is ``proteins/<name>-<key>.npz`` where ``key`` is the SHA-256 of what made it —
the model input (sequence, profile, every encoded feature), the model's version (weights digest),
the target specification, the methods and the analyses — so a rerun skips what is done and redoes
what changed. Files are written to a temporary name and renamed, so an interrupted run never
leaves half a file. A protein that cannot be read or explained is recorded in ``atlas.json`` and
the run goes on. The arrays are those of :func:`.protein_work.explain_protein`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..file_names import safe_file_name
from ..models import adapter as model_adapter
from ..models.adapter import Encoded, ModelAdapter
from ..protein.record import Protein
from ..service.method_options import INPUT_ONLY, method_catalogue
from .aggregates import Tally
from .execution import Placement, explained, require_ray
from .inputs import AtlasProtein, atlas_proteins
from .protein_work import ANALYSES, Outcome, Recipe, model_id
from .report import write_report
from .table import TABLE, require_pyarrow, write_table
from .targets import check_heads, parse_targets

ATLAS_FORMAT = 2
"""Changes when the files' contents change (part of every key)."""


@dataclass
class AtlasRun:
    """What a run did: files written, skipped (already there), and failures by protein."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    nodes: Counter[str] = field(default_factory=Counter)
    """Proteins explained per Ray node (``"local"`` in this process)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Each explained protein's seconds of work, where it ran."""

    def fail(self, name: str, problem: str) -> None:
        """Record ``problem`` of protein (or input file) ``name``, after any it had."""
        self.failures[name] = "; ".join(filter(None, [self.failures.get(name), problem]))

    def to_json(self) -> dict[str, Any]:
        return {
            "written": len(self.written),
            "skipped": len(self.skipped),
            "failed": len(self.failures),
            "failures": self.failures,
            "nodes": dict(self.nodes),
            "seconds": {name: round(value, 3) for name, value in self.seconds.items()},
        }


def check_methods(methods: Sequence[str], model_name: str) -> list[str]:
    """``methods`` if the model offers them all for an atlas (perturbation of residues aside)."""
    offered = [m.name for m in method_catalogue(model_adapter(model_name).spec)]
    allowed = [m for m in offered if m not in INPUT_ONLY]
    wrong = [m for m in methods if m not in allowed]
    if wrong or not methods:
        raise ValueError(f"atlas methods are {allowed}, not {wrong or 'none'}")
    return list(dict.fromkeys(methods))


def check_analyses(analyses: Sequence[str]) -> list[str]:
    """``analyses`` if an atlas runs them all (:data:`.protein_work.ANALYSES`)."""
    wrong = [a for a in analyses if a not in ANALYSES]
    if wrong:
        raise ValueError(f"atlas analyses are {list(ANALYSES)}, not {wrong}")
    return list(dict.fromkeys(analyses))


def run_atlas(
    source: str,
    out: Path,
    recipe: Recipe,
    placement: Placement | None = None,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AtlasRun:
    """Explain the proteins of ``source`` (:func:`.inputs.atlas_proteins`) as ``recipe`` says,
    where ``placement`` says (this process by default), into ``out``; ``progress(done, total)``
    after each protein."""
    recipe = checked_recipe(recipe)
    placement = placement or Placement()
    require_pyarrow()
    if placement.on_ray:
        require_ray()
    found = model_adapter(recipe.model_name)
    proteins = list(atlas_proteins(source, found.max_length, limit))
    folder = out / "proteins"
    folder.mkdir(parents=True, exist_ok=True)
    run = AtlasRun()
    to_do = {
        index: (protein, path)
        for index, protein, path in _to_do(proteins, found, recipe, folder, run)
    }
    report = progress or (lambda done, total: None)
    done = len(proteins) - len(to_do)
    report(done, len(proteins))
    work = ((index, protein) for index, (protein, _) in to_do.items())
    for index, outcome in explained(recipe, work, placement):
        _record(proteins[index].name, outcome, to_do[index][1], run)
        done += 1
        report(done, len(proteins))
    summary = {
        "format": ATLAS_FORMAT,
        "source": source,
        "model": model_id(found),
        "model_name": recipe.model_name,
        "targets": recipe.specification,
        "methods": list(recipe.methods),
        "analyses": list(recipe.analyses),
        **run.to_json(),
        "files": sorted({path.name for path in [*run.written, *run.skipped]}),
    }
    (out / "atlas.json").write_text(json.dumps(summary, indent=1))
    summarise(out, summary)
    return run


def summarise(out: Path, summary: dict[str, Any]) -> None:
    """The table of the run's files (:mod:`.table`), its aggregates and the report."""
    methods = summary["methods"]
    files = [out / "proteins" / name for name in summary["files"]]
    tally = Tally(methods)
    proteins = write_table(files, methods, out / TABLE, tally.add)
    write_report(out, summary, tally.aggregates(), proteins)


def checked_recipe(recipe: Recipe) -> Recipe:
    """``recipe`` with its methods and analyses deduplicated, if the model has every head the
    targets read and offers every method; otherwise a ``ValueError`` before any work."""
    check_heads(parse_targets(recipe.specification), model_adapter(recipe.model_name).spec)
    methods = check_methods(recipe.methods, recipe.model_name)
    return replace(recipe, methods=tuple(methods), analyses=tuple(check_analyses(recipe.analyses)))


def _to_do(
    proteins: Sequence[AtlasProtein],
    found: ModelAdapter,
    recipe: Recipe,
    folder: Path,
    run: AtlasRun,
) -> Iterator[tuple[int, Protein, Path]]:
    """``(index, protein, file)`` of each protein still to explain; the others (unreadable, done
    before, or the same input again under the same name) recorded in ``run``."""
    queued: set[Path] = set()
    for index, item in enumerate(proteins):
        if item.protein is None:
            run.fail(item.name, item.problem)
            continue
        try:
            key = protein_key(found.encoded(item.protein), found, recipe)
        except ValueError as error:  # the model cannot take this protein
            run.fail(item.name, f"ValueError: {error}")
            continue
        path = folder / f"{safe_file_name(item.name)}-{key[:16]}.npz"
        if path.exists() or path in queued:
            run.skipped.append(path)
        else:
            queued.add(path)
            yield index, item.protein, path


def _record(name: str, outcome: Outcome, path: Path, run: AtlasRun) -> None:
    run.nodes[outcome.node] += 1
    run.seconds[name] = outcome.seconds
    if outcome.arrays is None:
        run.fail(name, outcome.problem)
        return
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as handle:
        np.savez_compressed(handle, **outcome.arrays)  # type: ignore[arg-type]
    partial.replace(path)
    run.written.append(path)


def protein_key(inputs: Encoded, found: ModelAdapter, recipe: Recipe) -> str:
    """SHA-256 of the model input, the model's version, the targets, methods and analyses."""
    x = inputs.x.detach().float().contiguous().numpy()
    digest = hashlib.sha256()
    digest.update(x.tobytes())
    what = {
        "format": ATLAS_FORMAT,
        "shape": list(x.shape),
        "model": model_id(found),
        "model_name": recipe.model_name,
        "targets": recipe.specification,
        "methods": list(recipe.methods),
        "analyses": list(recipe.analyses),
    }
    digest.update(json.dumps(what, sort_keys=True).encode())
    return digest.hexdigest()
