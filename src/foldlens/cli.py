"""The ``foldlens`` command line."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .atlas import DEFAULT_TARGETS
from .folding.fold import FoldSettings
from .search.depth import NEFF_THRESHOLD
from .search.result import SearchParameters
from .server.limits import UPLOAD_SECONDS
from .service.admission import Limits
from .service.errors import ServiceError
from .service.explanations import TASK_SECONDS
from .service.jobs import JOB_SECONDS
from .service.model_cache import CACHE_MB
from .service.retention import Retention
from .text_table import text_table
from .train import TrainConfig

if TYPE_CHECKING:
    from .predict import Query

TEST_SPLIT = Path(__file__).parent / "resources" / "test_split.npz"


def _cmd_methods(args: argparse.Namespace) -> int:
    from .models import spec
    from .service.method_options import method_catalogue

    catalogue = method_catalogue(spec(args.model))
    yes_no = {True: "yes", False: "no"}
    print(
        text_table(
            ["method", f"exact for {args.model}", "to a layer (--wrt)", "what it computes"],
            [
                [
                    m.name,
                    yes_no[m.exact],
                    yes_no[m.layers],
                    m.summary + _approximate(m.approximation),
                ]
                for m in catalogue
            ],
        )
    )
    print('\noptions, set with --options \'{"METHOD": {"OPTION": VALUE}}\':')
    print(
        text_table(
            ["method", "option", "default", "allowed", "meaning"],
            [
                [m.name, name, option.default, *_allowed_and_meaning(option)]
                for m in catalogue
                for name, option in m.options.items()
            ],
        )
    )
    return 0


def _approximate(reason: str) -> str:
    return f" — approximate here: {reason}" if reason else ""


WIDEST_ALLOWED = 40
"""Characters of choices listed in the "allowed" column; longer lists go with the meaning."""


def _allowed_and_meaning(option: Any) -> tuple[str, str]:
    """A service option's choices or range, as a person writes them, and its meaning (which
    lists the choices when they are too many for their column)."""
    if not option.choices:
        return f"{option.minimum:g}–{option.maximum:g}", option.description
    choices = ", ".join(option.choices)
    if len(choices) <= WIDEST_ALLOWED:
        return choices, option.description
    return f"{len(option.choices)} choices", f"{option.description}; one of {choices}"


def _cmd_explain_demo(args: argparse.Namespace) -> int:
    from .demo import UBIQUITIN, run_demo

    if args.residue is not None and not 1 <= args.residue <= len(UBIQUITIN):
        raise ValueError(f"--residue must be 1–{len(UBIQUITIN)} (ubiquitin), not {args.residue}")
    residue = None if args.residue is None else args.residue - 1

    def progress(step: int, loss: float) -> None:
        if step % 50 == 0 or step == args.steps:
            print(
                f"\rtraining the demo network: step {step}/{args.steps}, loss {loss:.4f}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            if step == args.steps:
                print(file=sys.stderr)

    result = run_demo(args.out, residue=residue, steps=args.steps, progress=progress)
    print(
        f"explained residue {result.residue + 1} of ubiquitin: predicted patch score "
        f"{result.predicted:.3f} (true {result.true:.3f})"
    )
    print(f"{'method':<32}{'seconds':>9}{'share in true window':>24}")
    for method, seconds in result.seconds.items():
        share = result.window_share.get(method)
        print(f"{method:<32}{seconds:>9.3f}{'' if share is None else f'{share:>24.2f}'}")
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .models import available, spec, unavailable, version

    specs = [spec(name) for name in available()]
    print(
        text_table(
            ["model", "version", "input per residue", "heads", "layers", "exact methods"],
            [
                [
                    model.name,
                    version(model.name),
                    ", ".join(f"{g.name} ({len(g.labels)})" for g in model.input.groups),
                    len(model.heads),
                    len(model.layers),
                    f"{len(model.exact_methods)} of "
                    f"{len(model.exact_methods) + len(model.approximate_methods)}",
                ]
                for model in specs
            ],
        )
    )
    for model in specs:
        print("\n" + textwrap.fill(f"{model.name}: {model.description}", _columns()))
        print(
            text_table(
                ["head", "shape", "transform", "receptive radius", "meaning"],
                [
                    [h.name, h.shape, h.transform, _radius(model.radius(h.name, h.kind)), h.meaning]
                    for h in model.heads
                ],
            )
        )
        print(f"exact methods: {', '.join(model.exact_methods)}")
        if model.approximate_methods:
            print(f"not exact: {', '.join(model.approximate_methods)} ({model.approximate_reason})")
        print(f"longest protein: {model.max_length} residues")
    for name, reason in unavailable().items():
        print(f"\n{name}: not available here ({reason})")
    return 0


def _columns() -> int:
    return shutil.get_terminal_size((100, 24)).columns


def _radius(residues: int | None) -> str:
    return "whole protein" if residues is None else f"{residues} residues"


def _cmd_predict(args: argparse.Namespace) -> int:
    from .models import load
    from .predict import predict, read_input, true_maps, write_predictions

    queries, problems = read_input(args.input)
    for problem in problems:
        print(f"foldlens: skipped {problem}", file=sys.stderr)
    if not queries:
        raise ValueError(f"no record of {args.input} can be predicted")
    model = load(args.model)
    folders = _folder_names([query.id for query in queries])
    for query, folder in zip(queries, folders, strict=True):
        out = args.out / folder if len(queries) + len(problems) > 1 else args.out
        if args.search and query.alignment is None:
            query = _searched(query, args.db, out)
        prediction = predict(model, query, args.model)
        truth = None if query.structure is None else true_maps(query.structure)
        for path in write_predictions(prediction, out, truth):
            print(f"wrote {path}")
        if args.no_3d:
            continue
        if "plddt" not in prediction:
            print(f"{query.id}: model {args.model!r} predicts no distograms, so no 3D model")
            continue
        print(f"{query.id}: folding the distograms into a 3D model")
        _write_model(model, args.model, query, out)
    if problems:
        print(f"foldlens: {len(problems)} record(s) skipped, see above", file=sys.stderr)
    return 1 if problems else 0


def _folder_names(names: list[str]) -> list[str]:
    """One folder name per record name, safe on any file system (no separators, no leading
    dot) and distinct (``a|b`` and ``a_b`` both read ``a_b``: the second gets ``-2``)."""
    from .file_names import safe_file_name

    folders: list[str] = []
    for name in names:
        folder = safe_file_name(name)
        taken, k = folder, 2
        while taken in folders:
            taken, k = f"{folder}-{k}", k + 1
        folders.append(taken)
    return folders


def _write_model(model: Any, model_name: str, query: Query, out: Path) -> None:
    """``out/model.pdb`` (pLDDT in the B-factor column), with a progress bar; against a known
    structure, its TM-score and lDDT."""
    from tqdm import tqdm

    from .folding.predicted_structure import compare_with, predict_structure
    from .models import adapter

    with tqdm(total=FoldSettings().total_steps(), unit="step", desc="3D model") as bar:
        structure = predict_structure(
            model,
            adapter(model_name),
            query.protein,
            progress=lambda done, _: bar.update(done - bar.n),
        )
    (out / "model.pdb").write_text(structure.to_pdb())
    summary = structure.summary()
    print(f"wrote {out / 'model.pdb'} (mean pLDDT {summary['mean_plddt']:.1f})")
    if query.structure is not None:
        scores = compare_with(structure.backbone, query.structure)
        tm, lddt = scores["tm_score"], scores["lddt"]
        print(f"against {query.id}'s structure: TM-score {tm:.3f}, lDDT {lddt:.3f}")


def _searched(query: Query, db: str | None, out: Path) -> Query:
    """``query`` with the MSA a search finds (written to ``out``) and, when it is deep enough,
    its profile; else the sequence alone, saying why."""
    import json

    from .search.cache import cached_search, default_folder
    from .search.database import find_database
    from .service.alignment_stages import searched_summary

    database, parameters = find_database(db), SearchParameters()
    result, cached = cached_search(query.id, query.sequence, database, parameters, default_folder())
    summary = searched_summary(result, database, parameters, cached)
    out.mkdir(parents=True, exist_ok=True)
    (out / "msa.a3m").write_text(result.a3m)
    (out / "search.json").write_text(json.dumps(summary, indent=1))
    print(f"{query.id}: {summary['sequences']} sequences in {database.name}; {summary['why']}")
    profile = result.alignment.profile() if summary["mode"] == "profile" else None
    return replace(query, profile=profile, alignment=result.alignment)


def _cmd_evaluate_structure(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from .data.chains import ChainSet
    from .figures import save_figure
    from .folding.evaluation import (
        ChainResult,
        evaluate_structures,
        format_report,
        structure_figure,
        structure_report,
    )
    from .models import adapter, load

    chains = ChainSet.load(args.chains)
    eligible = np.flatnonzero(chains.lengths() <= args.max_length)
    drawn = np.random.default_rng(0).choice(eligible, min(args.sample, len(eligible)), False)
    sample = [chains[int(i)] for i in np.sort(drawn)]
    modes = tuple(args.modes.split(","))
    bar = tqdm(total=len(sample) * len(modes), unit="model", desc="folding")

    def progress(result: ChainResult) -> None:
        bar.update()
        bar.set_postfix(chain=result.chain_id, tm=f"{result.tm['folded']:.2f}")

    settings = FoldSettings(starts=args.starts, keep=args.keep)
    results = evaluate_structures(
        load(args.model), adapter(args.model), sample, modes, settings, progress
    )
    bar.close()
    report = structure_report(results, args.resamples)
    table = format_report(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = ", ".join(chain.chain_id for chain in sample)
    (args.out / "report.md").write_text(
        f"{len(sample)} chains of {args.chains.name} (≤ {args.max_length} residues, drawn with "
        f"seed 0): {chosen}\n\n{table}"
    )
    per_chain = [
        {"chain": r.chain_id, "length": r.length, "mode": r.mode, "tm": r.tm, "lddt": r.lddt,
         "mirror_tm": r.mirror_tm, "seconds": r.seconds}
        for r in results
    ]  # fmt: skip
    (args.out / "report.json").write_text(
        json.dumps(
            {
                "model": args.model,
                "chains": [c.chain_id for c in sample],
                "report": report,
                "per_chain": per_chain,
            },
            indent=1,
        )
    )
    save_figure(structure_figure(results, report), args.out / "report.png")
    print(f"wrote {args.out / 'report.md'}, report.json and report.png")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .data.chains import ChainSet
    from .train import (
        TrainConfig,
        averaged_weights_path,
        checkpoint_step,
        history_summary,
        plot_history,
        train,
    )

    chains = ChainSet.load(args.chains) if args.chains else ChainSet.from_export(args.data, "train")
    config = TrainConfig(
        model=args.model,
        steps=args.steps,
        batch=args.batch,
        window=args.window,
        crop=args.crop,
        learning_rate=args.learning_rate,
        warmup=args.warmup,
        profile_drop=args.profile_drop,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        init_weights=str(args.init_weights or ""),
        blocks1d=args.blocks1d,
        blocks2d=args.blocks2d,
        average_from=args.average_from,
    )
    checkpoint = args.checkpoint or Path("checkpoints") / f"{args.model}.ckpt"
    weights = args.weights or Path("checkpoints") / f"{args.model}.pt"
    bar = tqdm(
        total=config.steps, initial=checkpoint_step(checkpoint), unit="step", desc="training"
    )

    def progress(step: int, total: int, record: dict[str, float]) -> None:
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{record['loss']:.3f}")

    history = train(chains, config, checkpoint, weights, progress)
    bar.close()
    summary = history_summary(history)
    print(
        "mean loss over the last 100 steps: "
        + ", ".join(f"{k} {v:.3f}" for k, v in summary.items())
    )
    curve = plot_history(history, weights.with_name(f"{weights.stem}-loss.png"))
    averaged = averaged_weights_path(weights)
    also = f", {averaged} (mean from step {config.average_from})" if averaged.exists() else ""
    print(f"wrote {weights}{also}, {checkpoint} and {curve}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from tqdm import tqdm

    from .data.chains import ChainSet
    from .evaluate import (
        baseline_predictors,
        depth_figure,
        evaluate_model,
        format_depth_table,
        format_table,
    )
    from .figures import save_figure
    from .models import adapter, load

    chains = ChainSet.load(args.chains)
    if args.sample is not None:
        eligible = np.flatnonzero(chains.lengths() <= args.max_pair_length)
        drawn = np.random.default_rng(0).choice(eligible, min(args.sample, len(eligible)), False)
        chains = chains.subset(np.sort(drawn))
        args.pair_chains = len(chains)
    bars: dict[str, tqdm] = {}

    def progress(mode: str, done: int, total: int) -> None:
        if mode not in bars:
            bars[mode] = tqdm(total=total, unit="chain", desc=f"evaluating ({mode})")
        bars[mode].update(done - bars[mode].n)

    baselines, missing = baseline_predictors() if args.baselines else ({}, {})
    for name, reason in missing.items():
        print(f"baseline {name} is not available here: {reason}", file=sys.stderr)
    searched = None
    if args.search:
        from .search.cache import default_folder
        from .search.database import find_database
        from .search.evaluation import searched_msas

        searched = searched_msas(
            chains,
            find_database(args.db),
            SearchParameters(),
            default_folder(),
            lambda done, total: progress("searching", done, total),
        )
    from .train import trained_network

    model = load(args.model) if args.weights is None else trained_network(args.model, args.weights)
    reference = None if args.against is None else trained_network(args.model, args.against)
    report = evaluate_model(
        model,
        adapter(args.model),
        chains,
        args.pair_chains,
        args.max_pair_length,
        args.resamples,
        progress,
        baselines,
        searched,
        args.neff_threshold if args.search else None,
        args.dca,
        default_folder().with_name("couplings") if args.search else None,
        reference,
    )
    report["baselines_missing"] = missing
    if args.weights is not None:
        report["weights"] = str(args.weights)
    if args.against is not None:
        report["reference_weights"] = str(args.against)
    if args.sample is not None:
        report["sample"] = chains.chain_id.tolist()
    for bar in bars.values():
        bar.close()
    print(format_table(report))
    if searched is not None:
        print(format_depth_table(report))
        if args.plot:
            save_figure(depth_figure(report), args.plot)
            print(f"wrote {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json}")
    if args.markdown:
        tables = [format_table(report, markdown=True)]
        if searched is not None:
            tables.append(format_depth_table(report))
        args.markdown.write_text("\n\n".join(tables) + "\n")
        print(f"wrote {args.markdown}")
    return 0


def parse_target(text: str) -> dict[str, object]:
    """``HEAD[:CLASS]@I[,J]`` or ``unit:LAYER:CHANNEL@I[,J]``, residues from 1 → the API's JSON
    target (0-based), e.g. ``dist_cb_cb@12,40``, ``ss3:H@25``, ``unit:trunk2d.3.conv1:7@12,40``."""
    what, at, where = text.partition("@")
    try:
        residues = [int(k) - 1 for k in where.split(",")] if at else []
    except ValueError:
        residues = []
    if not residues or len(residues) > 2 or min(residues) < 0:
        raise ValueError(
            f"cannot read target {text!r}: write HEAD[:CLASS]@I[,J] or "
            "unit:LAYER:CHANNEL@I[,J] with residues numbered from 1"
        )
    target: dict[str, object] = dict(zip(("i", "j"), residues, strict=False))
    parts = what.split(":")
    if parts[0] == "unit":
        if len(parts) != 3 or not parts[2].isdigit():
            raise ValueError(f"cannot read unit target {text!r}: write unit:LAYER:CHANNEL@I[,J]")
        return {"layer": parts[1], "channel": int(parts[2]), **target}
    if len(parts) > 2:
        raise ValueError(f"cannot read target {text!r}")
    return {"head": parts[0], **target} | ({"class": parts[1]} if len(parts) == 2 else {})


def _options(text: str | None) -> dict[str, Any]:
    """``--options``: a JSON object mapping a method or analysis to its options."""
    import json

    try:
        options = json.loads(text) if text else {}
    except json.JSONDecodeError as error:
        raise ValueError(f"--options is not valid JSON ({error})") from error
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise ValueError('--options must map names to objects, e.g. {"deletion": {"steps": 11}}')
    return options


def _one_target(args: argparse.Namespace) -> tuple[Any, Any, Any, Any, Any]:
    """The one protein of ``args.input``, the model ``args.model`` (network and adapter), the
    checked ``args.target`` and the encoded protein."""
    from .models import adapter, load
    from .predict import read_queries
    from .service.targets import check_target

    model_adapter = adapter(args.model)
    queries = read_queries(args.input)
    if len(queries) != 1:
        raise ValueError(f"{args.input} holds {len(queries)} proteins; {args.command} takes one")
    query = queries[0]
    raw, length = parse_target(args.target), len(query.sequence)
    residues = [value for key in ("i", "j") if isinstance(value := raw.get(key), int)]
    past = [residue + 1 for residue in residues if residue >= length]
    if past:
        raise ValueError(
            f"--target {args.target}: residue {past[0]} is past the end of {query.id}, which has "
            f"{length} residues (numbered 1–{length})"
        )
    target = check_target(raw, model_adapter.spec, length)
    inputs = model_adapter.encoded(query.protein)
    return query, load(args.model), model_adapter, target, inputs


def _cmd_explain(args: argparse.Namespace) -> int:
    from .service.errors import NotAvailableError
    from .service.explain import check_methods
    from .service.explain_exports import EXPORTS, render_explanation
    from .service.method_options import check_options
    from .service.targets import describe

    query, model, model_adapter, target, inputs = _one_target(args)
    description = describe(target, model_adapter.spec, query.sequence)
    if args.wrt is not None:
        description += f", attributed to the input of layer {args.wrt}"
    options = _options(args.options)
    stray = sorted(set(options) - set(args.method))
    if stray:
        raise ValueError(f"options given for {stray}, which are not among --method")
    entries = {m: check_options(m, options.get(m, {})) for m in dict.fromkeys(args.method)}
    check_methods(target, list(entries), args.wrt, model_adapter.spec)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"explaining {description}")

    def write(method: str, result: dict[str, Any]) -> None:
        value, reference = result["value"], result.get("reference_value")
        compared = (
            ""
            if reference is None
            else f" (at the reference {reference:.4g}, a change of {value - reference:.4g}; "
            f"the map sums to {result['map_sum']:.4g})"
        )
        print(
            f"{method}: value {value:.4g}{compared}, {result['seconds']:.2f} s; top residues "
            + ", ".join(f"{t['residue']}{t['index'] + 1}" for t in result["top"][:5])
        )
        if not result["exact"]:
            print(f"{method} is approximate here: {result.get('approximation', '')}")
        for what, formats in EXPORTS.items():
            if (what == "pdb" and query.structure is None) or (what == "logo" and args.wrt):
                continue
            for file_format in formats:
                try:
                    rendered = render_explanation(
                        result,
                        name=query.id,
                        sequence=query.sequence,
                        description=description,
                        structure=query.structure,
                        what=what,
                        file_format=file_format,
                    )
                except NotAvailableError as why:
                    print(f"no {what}: {why}")
                    break
                path = args.out / rendered.filename
                path.write_bytes(b"".join(rendered.chunks()))
                print(f"wrote {path}")

    _run_task("explanation", _work(model, model_adapter, inputs, target, args.wrt), entries, write)
    return 0


def _work(model: Any, model_adapter: Any, inputs: Any, target: Any, wrt: str | None) -> Any:
    """What the service's task kinds compute on, for one protein of the command line."""
    import threading

    from .predict import predict
    from .service.task_kinds import Work

    def prediction() -> dict[str, Any]:
        return predict(model, inputs.protein, model_adapter)

    return Work(model, model_adapter, inputs, target, wrt, prediction, threading.Event())


def _run_task(
    kind_name: str,
    work: Any,
    entries: dict[str, dict[str, Any]],
    ready: Callable[[str, dict[str, Any]], None],
) -> None:
    """Compute ``entries`` as the server's task of this kind does (same groups, same code), with
    a progress bar per group; ``ready`` gets each answer as soon as it is done."""
    from .service.task_kinds import KINDS

    kind = KINDS[kind_name]
    for group in kind.groups(entries):
        bar, progress = _progress_bar(", ".join(group))

        def report(entry: str, fraction: float, move: Callable[[float], None] = progress) -> None:
            move(fraction)

        with bar:
            kind.compute(work, {entry: entries[entry] for entry in group}, report, ready)
            progress(1.0)


def _progress_bar(description: str) -> tuple[Any, Callable[[float], None]]:
    """A tqdm bar in percent and the callback that moves it to a fraction."""
    from tqdm import tqdm

    bar = tqdm(total=100, desc=description, unit="%", file=sys.stderr)

    def progress(fraction: float) -> None:
        bar.update(round(100 * fraction) - bar.n)

    return bar, progress


def _write_analysis(result: dict[str, Any], name: str, description: str, out: Path) -> None:
    from .service.explain_exports import render_analysis

    for what, file_format in (("json", "json"), ("figure", "png"), ("figure", "pdf")):
        rendered = render_analysis(result, name, description, what, file_format)
        (out / rendered.filename).write_bytes(b"".join(rendered.chunks()))
        print(f"wrote {out / rendered.filename}")


def _cmd_atlas(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .atlas.execution import Placement
    from .atlas.protein_work import Recipe
    from .atlas.run import checked_recipe, run_atlas

    for flag in ("limit", "workers", "threads"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be at least 1, not {value}")
    recipe = checked_recipe(
        Recipe(
            args.model,
            args.targets,
            tuple(args.methods),
            tuple(args.analyses),
            tuple(_absolute_model_file(reference) for reference in args.model_file),
        )
    )
    placement = Placement(args.workers, args.threads, args.ray)
    with tqdm(desc="proteins", unit="protein", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        run = run_atlas(args.input, args.out, recipe, placement, args.limit, progress)
    print(
        f"{len(run.written)} written, {len(run.skipped)} already done, {len(run.failures)} failed "
        f"(details in {args.out / 'atlas.json'})"
    )
    for name, problem in run.failures.items():
        print(f"{name}: {problem}")
    return 1 if run.failures else 0


def _absolute_model_file(reference: str) -> str:
    """``PATH.py:FACTORY`` with PATH absolute, for workers that run elsewhere."""
    path, _, factory = reference.rpartition(":")
    return f"{Path(path).resolve()}:{factory}"


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .service.analyses import check_analysis, summary
    from .service.targets import describe

    query, model, model_adapter, target, inputs = _one_target(args)
    model_spec = model_adapter.spec
    options = _options(args.options)
    stray = sorted(set(options) - set(args.analysis))
    if stray:
        raise ValueError(f"options given for {stray}, which are not among --analysis")
    checked = {name: check_analysis(name, options.get(name, {}), target) for name in args.analysis}
    description = describe(target, model_spec, query.sequence)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"analysing {description}")

    def write(name: str, result: dict[str, Any]) -> None:
        print(f"{name}: {summary(result)}")
        _write_analysis(result, query.id, description, args.out)

    _run_task("analysis", _work(model, model_adapter, inputs, target, None), checked, write)
    return 0


def _cmd_aa_patterns(args: argparse.Namespace) -> int:
    from .data.chains import ChainSet
    from .models import adapter, load
    from .models.views import OutputTarget
    from .predict import predict
    from .protein.record import Protein
    from .service.aa_patterns import aa_patterns_over
    from .service.targets import check_target

    model, model_adapter = load(args.model), adapter(args.model)
    model_spec = model_adapter.spec
    head, _, class_name = args.target.partition(":")
    raw = {"head": head, "i": 0} | ({"class": class_name} if class_name else {})
    if model_spec.head(head).kind == "pair":
        raw["j"] = 1
    target = check_target(raw, model_spec, 2)
    assert isinstance(target, OutputTarget)
    chains = ChainSet.load(args.chains)
    proteins: list[tuple[Protein, dict[str, Any]]] = []
    for k in np.random.default_rng(args.seed).permutation(len(chains))[: args.proteins]:
        chain = chains[int(k)]
        if len(chain.sequence) > model_spec.max_length:
            continue
        protein = Protein(chain.sequence, chain.profile)
        prediction = predict(model, protein, model_adapter) if "j" in raw else {}
        proteins.append((protein, prediction))
    bar, progress = _progress_bar(f"explaining {args.targets} targets in {len(proteins)} chains")
    with bar:
        result = aa_patterns_over(
            model, model_adapter, proteins, target.head, target.index,
            args.method, args.targets, progress,
        )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    where = f"{len(proteins)} test-split chains"
    _write_analysis(result, "test-split", f"{args.target} over {where}", args.out)
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    import json

    from .predict import read_queries
    from .search.cache import cached_search, default_folder
    from .search.database import find_database

    queries = read_queries(args.input)
    if len(queries) != 1:
        raise ValueError(f"{args.input} holds {len(queries)} proteins; search takes one")
    query = queries[0]
    database = find_database(args.db)
    parameters = SearchParameters(args.iterations, args.evalue, args.coverage)
    folder = None if args.no_cache else (args.cache or default_folder())
    print(f"searching {len(query.sequence)} residues in {database.name} (jackhmmer)")
    bar, progress = _progress_bar(f"iterations (at most {parameters.iterations})")
    with bar:
        result, cached = cached_search(
            query.id, query.sequence, database, parameters, folder,
            lambda iteration: progress(iteration / parameters.iterations),
        )  # fmt: skip
        progress(1.0)
    summary = result.summary(database, parameters) | {"from_cache": cached}
    state = "converged" if result.converged else "stopped at the iteration limit"
    print(
        f"{summary['sequences']} sequences (query included), Neff {result.neff:.1f} at 80 % "
        f"identity; {result.iterations} iterations, {state}"
        + (" (from the cache)" if cached else "")
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "msa.a3m").write_text(result.a3m)
    (args.out / "search.json").write_text(json.dumps(summary, indent=1))
    print(f"wrote {args.out / 'msa.a3m'} and {args.out / 'search.json'}")
    return 0


def _cmd_couplings(args: argparse.Namespace) -> int:
    from .coevolution.couplings import MAX_GAP_FRACTION, couplings, couplings_figure
    from .figures import save_figure
    from .protein.msa import parse_msa

    path = Path(args.msa)
    if not path.is_file():
        raise ValueError(f"no such file: {args.msa}")
    alignment = parse_msa(path.read_text(errors="replace"))
    length = len(alignment.query)
    print(f"{len(alignment.rows)} sequences over {length} columns; fitting the Potts model")
    bar, progress = _progress_bar("pseudo-likelihood (evaluations / limit)")
    limit = 4 * args.max_iterations
    with bar:
        found = couplings(alignment, args.max_iterations, lambda done: progress(done / limit))
        progress(1.0)
    state = "converged" if found.converged else "stopped at the iteration limit (not converged)"
    print(
        f"Neff {found.neff:.1f} ({found.neff / length:.2f} per column) from {found.sequences} "
        f"sequences; {found.fitted.sum()} of {length} columns fitted (the others over "
        f"{MAX_GAP_FRACTION:.0%} gaps); {found.iterations} iterations, {state}"
    )
    print("top pairs (|i − j| ≥ 6), residues from 1: " + ", ".join(
        f"{i + 1}-{j + 1} ({score:.2f})" for i, j, score in found.top(5)
    ))  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "couplings.npz").write_bytes(found.to_npz())
    save_figure(couplings_figure(found, path.stem), args.out / "couplings.png")
    print(f"wrote {args.out / 'couplings.npz'} and {args.out / 'couplings.png'}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .server import create_app
    from .server.security import LOOPBACK_HOSTS, bind_warning
    from .service.alignment_stages import search_settings

    args.data_dir.mkdir(parents=True, exist_ok=True)
    warning = bind_warning(args.host)
    if warning is not None:
        print(f"foldlens: warning: {warning}", file=sys.stderr)
    print(
        f"foldlens: jobs in {args.data_dir / 'foldlens.sqlite'}; open http://{args.host}:{args.port}/",
        file=sys.stderr,
    )
    hosts = (*LOOPBACK_HOSTS, *args.allowed_host)
    limits = Limits(args.max_jobs, args.max_jobs_per_client, args.submissions_per_minute)
    max_bytes = None if args.max_disk is None else int(args.max_disk * 1e9)
    search = search_settings(args.seqdb, args.data_dir / "search")
    where = search.database.name if search.database else f"none ({search.unavailable})"
    print(f"foldlens: MSA search in {where}", file=sys.stderr)
    app = create_app(
        args.data_dir,
        allowed_hosts=hosts,
        limits=limits,
        trusted_proxies=tuple(args.trusted_proxy),
        retention=Retention(args.retention_days, max_bytes),
        task_seconds=args.task_seconds,
        job_seconds=args.job_seconds,
        upload_seconds=args.upload_seconds,
        search=search,
        cache_bytes=int(args.cache_mb * 2**20),
        atlas=args.atlas,
    )
    if args.atlas is not None:
        print(f"foldlens: atlas at http://{args.host}:{args.port}/atlas", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _megabytes(text: str) -> float:
    """An argparse type: a number of megabytes, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of megabytes") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of megabytes, 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="foldlens", description="Protein structure prediction you can explain."
    )
    parser.add_argument("--version", action="version", version=f"foldlens {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser(
        "methods", help="list the attribution methods, whether each is exact, and their options"
    )
    listing.add_argument("--model", default="default", help="say which methods are exact for it")
    _add_model_file(listing)
    listing.set_defaults(run=_cmd_methods)

    demo = commands.add_parser(
        "explain-demo",
        help="train a small network to find hydrophobic patches and explain it with every method",
    )
    demo.add_argument("--out", type=Path, default=Path("explain-demo"), help="output folder")
    demo.add_argument(
        "--residue",
        type=int,
        default=None,
        help="residue to explain, from 1 (default: the highest score)",
    )
    demo.add_argument("--steps", type=int, default=400, help="training steps")
    demo.set_defaults(run=_cmd_explain_demo)

    models = commands.add_parser("models", help="list the shipped models and their heads")
    _add_model_file(models)
    models.set_defaults(run=_cmd_models)

    prediction = commands.add_parser(
        "predict", help="predict structure from a sequence, FASTA, MSA or PDB/mmCIF file"
    )
    prediction.add_argument(
        "input", help="a file (FASTA, A3M, aligned FASTA, Stockholm, PDB, mmCIF) or a sequence"
    )
    prediction.add_argument("--out", type=Path, required=True, help="output folder")
    prediction.add_argument("--model", default="default")
    prediction.add_argument(
        "--search",
        action="store_true",
        help="for a protein given without an MSA, search one first (writes msa.a3m and "
        f"search.json) and predict from its profile when Neff ≥ {NEFF_THRESHOLD:g}",
    )
    prediction.add_argument("--db", default=None, help="with --search: the sequence database")
    prediction.add_argument(
        "--no-3d",
        action="store_true",
        help="skip the 3D model (folding the distograms takes seconds per protein)",
    )
    _add_model_file(prediction)
    prediction.set_defaults(run=_cmd_predict)

    structures = commands.add_parser(
        "evaluate-structure",
        help="fold test chains into 3D models and score them, their baselines and their confidence",
    )
    structures.add_argument("--model", default="default")
    structures.add_argument(
        "--chains", type=Path, default=TEST_SPLIT, help="default: the shipped test split"
    )
    structures.add_argument("--sample", type=int, default=200, help="chains drawn (seed 0)")
    structures.add_argument("--max-length", type=int, default=300)
    structures.add_argument("--modes", default="profile,single", help="profile, single or both")
    structures.add_argument("--resamples", type=int, default=1000)
    fold_defaults = FoldSettings()
    structures.add_argument(
        "--starts", type=int, default=fold_defaults.starts, help="Cα starts per model"
    )
    structures.add_argument(
        "--keep", type=int, default=fold_defaults.keep, help="starts taken on, in both hands"
    )
    structures.add_argument("--out", type=Path, default=Path("structure-evaluation"))
    structures.set_defaults(run=_cmd_evaluate_structure)

    training = commands.add_parser("train", help="train a registered network (resumable)")
    training.add_argument("--model", default="default", help="default or seed2018")
    training.add_argument(
        "--data",
        type=Path,
        default=Path("data/promod3"),
        help="the export of scripts/build_data.sh (its train split is used)",
    )
    training.add_argument(
        "--chains",
        type=Path,
        default=None,
        help="train on this chain set (.npz) instead of the export",
    )
    training.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="default checkpoints/MODEL.ckpt; an existing checkpoint is resumed",
    )
    training.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="where the float16 weights go when training ends (default checkpoints/MODEL.pt)",
    )
    defaults = TrainConfig()
    training.add_argument("--steps", type=int, default=defaults.steps)
    training.add_argument("--batch", type=int, default=defaults.batch)
    training.add_argument("--window", type=int, default=defaults.window)
    training.add_argument("--crop", type=int, default=defaults.crop)
    training.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    training.add_argument("--warmup", type=int, default=defaults.warmup, help="warm-up steps")
    training.add_argument(
        "--profile-drop",
        type=float,
        default=defaults.profile_drop,
        help="fraction of chains trained without their profile (single-sequence mode)",
    )
    training.add_argument("--seed", type=int, default=defaults.seed)
    training.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    training.add_argument(
        "--init-weights",
        type=Path,
        default=None,
        help="fine-tune: start from these weights (e.g. the shipped model's) with a new optimizer",
    )
    for trunk in ("1d", "2d"):
        training.add_argument(
            f"--blocks{trunk}",
            type=int,
            default=0,
            help=f"deepen the initial network's {trunk.upper()} trunk to this many residual blocks "
            "(new blocks start as the identity; default network only)",
        )
    training.add_argument(
        "--average-from",
        type=int,
        default=defaults.average_from,
        help="also write the mean of the weights after every step from this one on "
        "(WEIGHTS-averaged.pt)",
    )
    training.set_defaults(run=_cmd_train)

    evaluation = commands.add_parser("evaluate", help="held-out metrics with bootstrap intervals")
    evaluation.add_argument("--model", default="default")
    evaluation.add_argument(
        "--chains",
        type=Path,
        default=TEST_SPLIT,
        help="chain set to evaluate on (default: the shipped test split)",
    )
    evaluation.add_argument("--pair-chains", type=int, default=200)
    evaluation.add_argument("--max-pair-length", type=int, default=400)
    evaluation.add_argument(
        "--sample",
        type=int,
        default=None,
        help="evaluate N chains of at most --max-pair-length residues, drawn with a fixed seed "
        "(pair metrics on all of them; the report lists them)",
    )
    evaluation.add_argument(
        "--search",
        action="store_true",
        help="also search an MSA for every chain (its own 30 %% cluster left out of the default "
        "database) and report the network on its profile, DCA alone, and both by MSA depth",
    )
    evaluation.add_argument("--db", default=None, help="the sequence database (see search)")
    evaluation.add_argument(
        "--no-dca", dest="dca", action="store_false", help="with --search: skip DCA's Potts fits"
    )
    evaluation.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="with --search: plot the MSA depths and the searched profile's gain by depth here",
    )
    evaluation.add_argument(
        "--neff-threshold",
        type=float,
        default=NEFF_THRESHOLD,
        help=f"report the rule 'searched profile when Neff ≥ T' (default {NEFF_THRESHOLD:g})",
    )
    evaluation.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="evaluate the model with these weights instead of its shipped ones (foldlens train)",
    )
    evaluation.add_argument(
        "--against",
        type=Path,
        default=None,
        metavar="WEIGHTS",
        help="also run the model with these weights on the same chains and report the paired "
        "differences (the evaluated weights minus these) with their intervals",
    )
    evaluation.add_argument("--resamples", type=int, default=1000)
    evaluation.add_argument("--json", type=Path, default=None, help="also write the report here")
    evaluation.add_argument("--markdown", type=Path, default=None, help="and a Markdown table here")
    evaluation.add_argument(
        "--no-baselines", dest="baselines", action="store_false", help="skip reprof and PredictDSSP"
    )
    _add_model_file(evaluation)
    evaluation.set_defaults(run=_cmd_evaluate)

    explaining = commands.add_parser(
        "explain", help="explain one output or unit of the structure network, method by method"
    )
    explaining.add_argument("input", help="a sequence or a FASTA, MSA, PDB or mmCIF file")
    explaining.add_argument(
        "--target",
        required=True,
        help="HEAD[:CLASS]@I[,J] (e.g. dist_cb_cb@12,40, ss3:H@25, rsa@7) or "
        "unit:LAYER:CHANNEL@I[,J]; residues numbered from 1",
    )
    explaining.add_argument(
        "--method",
        nargs="+",
        default=["gradient", "deconvnet", "guided_backprop"],
        help="methods (see foldlens methods; also mutagenesis)",
    )
    explaining.add_argument(
        "--options", help='JSON per method, e.g. {"integrated_gradients": {"steps": 64}}'
    )
    explaining.add_argument(
        "--wrt",
        metavar="LAYER",
        help="attribute to the input of this layer (e.g. trunk2d.3.conv1; conv1 of seed2018 "
        "gives the 2018 21 × 21 grid) instead of the model input",
    )
    explaining.add_argument("--model", default="default")
    explaining.add_argument("--out", type=Path, required=True, help="output folder")
    _add_model_file(explaining)
    explaining.set_defaults(run=_cmd_explain)

    analysing = commands.add_parser(
        "analyze",
        help="sanity checks and analyses of one target's maps (randomization, deletion, ...)",
    )
    analysing.add_argument("input", help="a sequence or a FASTA, MSA, PDB or mmCIF file")
    analysing.add_argument("--target", required=True, help="as for explain, e.g. dist_cb_cb@12,40")
    analysing.add_argument(
        "--analysis",
        nargs="+",
        default=["randomization"],
        help="randomization, random_target, deletion, receptive_field, follow_gradient, "
        "input_correlation, aa_patterns",
    )
    analysing.add_argument(
        "--options", help='JSON per analysis, e.g. {"randomization": {"mode": "independent"}}'
    )
    analysing.add_argument("--model", default="default")
    analysing.add_argument("--out", type=Path, required=True, help="output folder")
    _add_model_file(analysing)
    analysing.set_defaults(run=_cmd_analyze)

    patterns = commands.add_parser(
        "aa-patterns",
        help="mean attribution per amino-acid type (and pair) over chains of the test split",
    )
    patterns.add_argument(
        "--target", required=True, help="HEAD[:CLASS], e.g. ss3:H or contact (no residues)"
    )
    patterns.add_argument("--method", nargs="+", default=["gradient"])
    patterns.add_argument("--proteins", type=int, default=20, help="chains drawn at random")
    patterns.add_argument("--targets", type=int, default=8, help="targets explained per chain")
    patterns.add_argument("--chains", type=Path, default=TEST_SPLIT)
    patterns.add_argument("--seed", type=int, default=0)
    patterns.add_argument("--model", default="default")
    patterns.add_argument("--out", type=Path, required=True, help="output folder")
    _add_model_file(patterns)
    patterns.set_defaults(run=_cmd_aa_patterns)

    atlas = commands.add_parser(
        "atlas",
        help="explain many proteins: one resumable file per protein (see foldlens.atlas.run)",
    )
    atlas.add_argument(
        "input", help="a multi-FASTA, a folder of PDB/mmCIF files, or test-split (the shipped one)"
    )
    atlas.add_argument("--out", type=Path, required=True, help="output folder")
    atlas.add_argument("--model", default="default")
    atlas.add_argument(
        "--targets",
        default=DEFAULT_TARGETS,
        help="comma-separated: contacts[:top=N|L/k][:sep=S] (the most probable predicted contacts "
        "with |i-j| >= S), ss3 (every residue in its predicted class)",
    )
    atlas.add_argument("--methods", nargs="+", default=["gradient", "guided_backprop"])
    atlas.add_argument(
        "--analyses",
        nargs="+",
        default=[],
        choices=["randomization", "deletion"],
        help="per protein, on its first target (the most probable long-range contact)",
    )
    atlas.add_argument("--limit", type=int, default=None, help="the first N proteins only")
    atlas.add_argument(
        "--workers",
        type=int,
        default=None,
        help="N > 1: an embedded Ray on this machine with N worker processes (127.0.0.1 only); "
        "with --ray, how many workers to start on the cluster (default: its CPUs / --threads)",
    )
    atlas.add_argument(
        "--threads", type=int, default=None, help="torch threads per worker (default: CPUs / N)"
    )
    atlas.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="a running Ray cluster's address (host:port of `ray start --head`)",
    )
    _add_model_file(atlas)
    atlas.set_defaults(run=_cmd_atlas)

    searching = commands.add_parser(
        "search", help="MSA search: jackhmmer of a sequence database, written as an A3M"
    )
    searching.add_argument("input", help="a sequence, or a FASTA with one record")
    searching.add_argument("--out", type=Path, required=True, help="output folder")
    searching.add_argument(
        "--db",
        help="a FASTA sequence database (.fasta or .fasta.gz); default $FOLDLENS_SEQDB, else the "
        "20,000 UniProt sequences of Debian's mmseqs2-examples and the 20,639 PDB chains of the "
        "training source (small: use UniRef for depth)",
    )
    searching.add_argument(
        "--iterations",
        type=int,
        default=SearchParameters.iterations,
        help=f"at most (default {SearchParameters.iterations}: searches stop when they converge)",
    )
    searching.add_argument(
        "--evalue", type=float, default=1e-3, help="inclusion E-value (default 1e-3)"
    )
    searching.add_argument(
        "--coverage",
        type=float,
        default=0.5,
        help="drop rows covering fewer of the query's columns (default 0.5)",
    )
    searching.add_argument("--cache", type=Path, help="cache folder (default ~/.cache/foldlens)")
    searching.add_argument("--no-cache", action="store_true", help="search again, keep nothing")
    searching.set_defaults(run=_cmd_search)

    coupling = commands.add_parser(
        "couplings",
        help="coevolution: a pseudo-likelihood Potts model of an MSA and its APC coupling map",
    )
    coupling.add_argument("msa", help="an A3M, aligned FASTA or Stockholm file (query first)")
    coupling.add_argument("--out", type=Path, required=True, help="output folder")
    coupling.add_argument(
        "--max-iterations", type=int, default=200, help="L-BFGS iterations at most (default 200)"
    )
    coupling.set_defaults(run=_cmd_couplings)

    from .server import default_data_dir

    serving = commands.add_parser("serve", help="the web application (default model, examples)")
    serving.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serving.add_argument("--port", type=int, default=8000)
    serving.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where the job database lives (default: %(default)s)",
    )
    serving.add_argument("--log-level", default="info", choices=["warning", "info", "debug"])
    serving.add_argument(
        "--atlas",
        type=Path,
        default=None,
        metavar="DIR",
        help="also serve an atlas folder (foldlens atlas --out DIR) read-only at /atlas",
    )
    serving.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients use to reach the server, besides the loopback names "
        "(repeatable; requests naming any other host are refused)",
    )
    serving.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy whose X-Forwarded-For names the client (repeatable; from any other "
        "peer the header is ignored)",
    )
    serving.add_argument(
        "--max-jobs",
        type=int,
        default=Limits.jobs,
        help="jobs queued or running, all clients together (default: %(default)s)",
    )
    serving.add_argument(
        "--max-jobs-per-client",
        type=int,
        default=Limits.jobs_per_client,
        help="jobs one client address may have queued or running (default: %(default)s)",
    )
    serving.add_argument(
        "--submissions-per-minute",
        type=int,
        default=Limits.submissions_per_minute,
        help="submissions one client address may make in any minute (default: %(default)s)",
    )
    serving.add_argument(
        "--seqdb",
        default=None,
        help="the sequence database jobs search for MSAs (a FASTA, plain or gzip; 'default' for "
        "the small default one); default $FOLDLENS_SEQDB, else the default",
    )
    serving.add_argument(
        "--job-seconds",
        type=float,
        default=JOB_SECONDS,
        help="time budget of one prediction job; over it, the job fails with a message "
        "(default: %(default)s)",
    )
    serving.add_argument(
        "--task-seconds",
        type=float,
        default=TASK_SECONDS,
        help="time budget of one explanation or analysis task; over it, the task fails with a "
        "message (default: %(default)s)",
    )
    serving.add_argument(
        "--cache-mb",
        type=_megabytes,
        default=CACHE_MB,
        metavar="MB",
        help="memory for the warm state of recently explained jobs (encoded inputs, MSAs, "
        "couplings), least recently used out first (default: %(default)s)",
    )
    serving.add_argument(
        "--upload-seconds",
        type=float,
        default=UPLOAD_SECONDS,
        help="time a client has to send a request body; a slower one gets 408 "
        "(default: %(default)s)",
    )
    serving.add_argument(
        "--retention-days",
        type=float,
        default=None,
        help="delete finished jobs this many days after their last update (default: keep)",
    )
    serving.add_argument(
        "--max-disk",
        type=float,
        default=None,
        metavar="GB",
        help="delete the least recently updated finished jobs while the database uses more "
        "(default: no limit)",
    )
    _add_model_file(serving)
    serving.set_defaults(run=_cmd_serve)
    return parser


def _add_model_file(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--model-file",
        action="append",
        default=[],
        metavar="PATH.py:FACTORY",
        help="register your own model: FACTORY in PATH.py is a foldlens ModelAdapter subclass "
        "or a function returning one (repeatable; see examples/)",
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "model_file", None):
            from .models import register_file

            for reference in args.model_file:
                print(
                    f"foldlens: registered model {register_file(reference).name!r}", file=sys.stderr
                )
        return int(args.run(args))
    except (ValueError, FileNotFoundError, ServiceError) as error:
        print(f"foldlens: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`foldlens methods | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
