"""The FastAPI application: a thin HTTP layer over :mod:`foldlens.service` that also serves the
built front end.

Routes parse and check their inputs, call the service and return its answer; every error a client
can cause is a 4xx with ``{"detail": message}``, and nothing leaks a stack trace.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import numpy as np
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware

from .. import __version__
from ..figures import FIGURE_FORMATS
from ..models import UnknownModelError, available, spec, version
from ..predict import from_npz, to_json
from ..service import (
    InvalidInputError,
    JobNotFoundError,
    JobService,
    NotAvailableError,
    ServiceError,
    job_input,
)
from ..service.admission import BusyError, Limits
from ..service.alignment_stages import SearchSettings, search_settings
from ..service.analyses import ANALYSES
from ..service.errors import StoppedError
from ..service.examples import example, examples
from ..service.explain import OVERVIEW_METHODS
from ..service.explanations import TASK_SECONDS, ExplanationService, Task
from ..service.explanations import Request as ExplanationRequest
from ..service.exports import Rendered, catalogue, render, residue_tracks
from ..service.inputs import JOB_ID_LENGTH
from ..service.jobs import JOB_SECONDS
from ..service.method_options import MethodInfo as MethodEntry
from ..service.method_options import method_catalogue
from ..service.model_cache import CACHE_MB, ModelCache
from ..service.retention import Retention
from ..service.store import JobSummary, Submission
from ..service.structure_model import cache_key as structure_model_key
from .atlas_pages import AtlasFolder, add_atlas_pages
from .clients import client_of, normalized
from .limits import UPLOAD_SECONDS, UploadLimit
from .schemas import (
    AnalysisInfo,
    AnalyzeAnswer,
    AnalyzeRequest,
    ErrorMessage,
    ExampleInfo,
    ExplainAnswer,
    ExplainRequest,
    ExportLink,
    JobRequest,
    JobStatus,
    MethodInfo,
    MethodOption,
    ModelInfo,
    Overview,
    OverviewRequest,
    SearchInfo,
    StructureModelAnswer,
    StructureModelRequest,
    TaskStatus,
)
from .security import LOOPBACK_HOSTS, Guard

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MAX_UPLOAD = 20 * 1024 * 1024
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorMessage} for code in (400, 403, 404, 409, 413, 415, 422)
}
DOWNLOADS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file, as an attachment",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in (
                *FIGURE_FORMATS.values(), "application/octet-stream", "text/csv",
                "application/json", "chemical/x-pdb", "text/plain",
            )
        },
    }
}  # fmt: skip


def _job_id(job_id: str) -> str:
    """The path's job id, checked: 32 lower-case hex digits, so no id can name a path."""
    if len(job_id) != JOB_ID_LENGTH or any(c not in "0123456789abcdef" for c in job_id):
        raise JobNotFoundError(
            f"{job_id[:80]!r} is not a job id (ids are {JOB_ID_LENGTH} hex digits)"
        )
    return job_id


JobId = Annotated[str, Depends(_job_id)]
SubmissionId = Annotated[str | None, Query(max_length=64, description="a submission of the job")]


def _status(
    job: JobSummary, service: JobService, submission: Submission | None = None
) -> JobStatus:
    """The job as one submitter sees it: their name and time with ``submission``, else the
    job's shared name and no time."""
    place, wait = service.place_in_line(job)
    mine = {} if submission is None else {"submission": submission.id}
    exports = []
    if job.status == "done":
        built = service.store.has_explanation(structure_model_key(job.id))
        for item in catalogue(job.model, job.has_structure, job.alignment, built):
            query = {"what": item.what, "format": item.format}
            if item.track is not None:
                query["track"] = item.track
            query.update(mine)
            url = f"/api/jobs/{job.id}/export?{urlencode(query)}"
            exports.append(ExportLink(**item.__dict__, url=url))
    return JobStatus(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        progress=job.progress,
        stage=job.stage,
        message=job.message,
        name=job.name if submission is None else submission.name,
        sequence=job.sequence,
        length=len(job.sequence),
        model=job.model,
        model_version=job.model_version,
        mode=job.mode,  # type: ignore[arg-type]
        has_structure=job.has_structure,
        created=None if submission is None else submission.created,
        updated=job.updated,
        submission=None if submission is None else submission.id,
        queue_position=place,
        estimated_wait=wait,
        view=f"/view/{job.id}" + (f"?{urlencode(mine)}" if mine else ""),
        exports=exports,
        tracks=residue_tracks(spec(job.model)),
        search=job.search is not None,
        alignment=job.alignment,
    )


def _gzipped_json(request: Request, compressed: bytes) -> Response:
    """Stored gzip-compressed JSON, passed on as it is to clients that accept gzip."""
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            compressed,
            media_type="application/json",
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(gzip.decompress(compressed), media_type="application/json")


async def _upload_text(form: Any, field: str, label: str) -> tuple[str | None, str | None]:
    """The text and file name of an uploaded file field, or ``(None, None)`` when absent."""
    upload = form.get(field)
    if upload is None or isinstance(upload, str):
        return (upload or None), None
    data = await upload.read()
    if not data:
        return None, None
    try:
        return data.decode("utf-8"), upload.filename
    except UnicodeDecodeError as error:
        raise InvalidInputError(f"the {label} file is not UTF-8 text") from error


def create_app(
    data_dir: Path,
    max_upload: int = MAX_UPLOAD,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    limits: Limits | None = None,
    trusted_proxies: tuple[str, ...] = (),
    retention: Retention | None = None,
    task_seconds: float = TASK_SECONDS,
    upload_seconds: float = UPLOAD_SECONDS,
    job_seconds: float = JOB_SECONDS,
    search: SearchSettings | None = None,
    cache_bytes: int = CACHE_MB << 20,
    atlas: Path | None = None,
) -> FastAPI:
    """The app, with its jobs stored under ``data_dir``; request bodies over ``max_upload`` bytes
    are refused with 413, and those not sent within ``upload_seconds`` with 408; only requests to
    ``allowed_hosts`` are served (:mod:`foldlens.server.security`); submissions are admitted
    within ``limits``, per client address (``X-Forwarded-For`` read from ``trusted_proxies``
    only, :mod:`.clients`); finished jobs are kept as ``retention`` says; a job may run for
    ``job_seconds``, an explanation or analysis task for ``task_seconds``; jobs search for MSAs
    as ``search`` says (default: in ``$FOLDLENS_SEQDB`` or the default database, results cached
    under ``data_dir``); the warm state of recent jobs takes at most ``cache_bytes``; ``atlas``
    is an atlas folder served read-only at ``/atlas`` (:mod:`.atlas_pages`)."""
    atlas_folder = None if atlas is None else AtlasFolder.open(atlas)
    models = ModelCache(cache_bytes)
    search = search or search_settings(None, data_dir / "search")
    service = JobService(data_dir, limits, retention, job_seconds, models, search)
    trusted = frozenset(normalized(address) for address in trusted_proxies)
    explanations = ExplanationService(service.store, task_seconds, models)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        explanations.warm_up()
        yield
        explanations.stop()
        service.stop()

    app = FastAPI(
        title="foldlens",
        version=__version__,
        description="Predict protein structure and see why the network predicts it.",
        lifespan=lifespan,
        responses=ERRORS,
        # Swagger UI and ReDoc load their scripts from a CDN: the page makes no request beyond
        # its own origin, so the schema is served as /openapi.json only.
        docs_url=None,
        redoc_url=None,
    )
    # Level 5, not Starlette's 9: a 400 kB explanation compresses in 7 ms instead of 80 ms, 5 %
    # larger.
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    app.add_middleware(UploadLimit, max_bytes=max_upload, max_seconds=upload_seconds)
    app.add_middleware(Guard, allowed_hosts=allowed_hosts)
    app.state.service = service
    app.state.explanations = explanations

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError) -> JSONResponse:
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, BusyError) else None
        return JSONResponse({"detail": str(error)}, status_code=error.status, headers=headers)

    @app.exception_handler(UnknownModelError)
    async def unknown_model(request: Request, error: UnknownModelError) -> JSONResponse:
        """A stored job of a model this server does not offer now: its results stay stored."""
        detail = (
            f"{error}; a user's model is offered again when the server starts with its --model-file"
        )
        return JSONResponse({"detail": detail}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'][1:]) or 'body'}: {item['msg']}"
            for item in error.errors()
        )
        return JSONResponse({"detail": f"invalid request: {problems}"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        detail = error.detail
        if error.status_code == 404:
            detail = f"nothing here: {request.url.path[:200]}"
        headers = error.headers
        if error.status_code == 405:  # every method of the path, not only the first route's
            headers = {"Allow": ", ".join(_methods_of(app, request.url.path))}
            detail = f"{request.method} is not allowed here; use {headers['Allow']}"
        return JSONResponse({"detail": detail}, status_code=error.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.exception("request %s failed", request.url.path)
        return JSONResponse(
            {"detail": f"internal error ({type(error).__name__}); the server log has details"},
            status_code=500,
        )

    @app.get("/api/models", response_model=list[ModelInfo], tags=["models"])
    def list_models() -> list[ModelInfo]:
        """Every model with its spec; ``default`` is the shipped default network."""
        return [
            ModelInfo(
                name=name,
                default=name == "default",
                version=version(name),
                spec=spec(name).to_json(),
                methods=[_method_info(method) for method in method_catalogue(spec(name))],
                overview_methods=list(OVERVIEW_METHODS),
            )
            for name in available()
        ]

    @app.get("/api/examples", response_model=list[ExampleInfo], tags=["examples"])
    def list_examples() -> list[ExampleInfo]:
        """The shipped example proteins (held-out test chains with their structures)."""
        return [
            ExampleInfo(
                id=e.id,
                name=e.name,
                fold=e.fold,
                length=len(e.sequence),
                sequence=e.sequence,
                has_structure=True,
            )
            for e in examples().values()
        ]

    @app.get("/api/search", response_model=SearchInfo, tags=["jobs"])
    def search_info() -> dict[str, Any]:
        """The MSA search jobs can ask for (``search: true``): the database, the parameters, the
        Neff from which a searched MSA's profile is used; or why this server cannot search."""
        return service.search.info()

    @app.post(
        "/api/jobs",
        response_model=JobStatus,
        status_code=202,
        tags=["jobs"],
        responses={
            200: {
                "model": JobStatus,
                "description": "the same inputs were submitted "
                "before: that job (done, queued or running), computed once",
            },
            429: {
                "model": ErrorMessage,
                "description": "too many jobs queued (by this address or in all), or too many "
                "submissions a minute; the Retry-After header says when to try again",
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": JobRequest.model_json_schema()},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "sequence": {"type": "string"},
                                "model": {"type": "string", "default": "default"},
                                "example": {"type": "string"},
                                "msa": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "A3M, aligned FASTA or Stockholm",
                                },
                                "structure": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "PDB or mmCIF",
                                },
                                "fasta": {"type": "string", "format": "binary"},
                                "search": {
                                    "type": "boolean",
                                    "default": False,
                                    "description": "search for an MSA first",
                                },
                            },
                        }
                    },
                },
            }
        },
    )
    async def submit_job(request: Request) -> Response:
        """Submit a protein: JSON ``{sequence | example, model}`` or a multipart form with files.

        202 with the new (or re-queued failed) job; 200 with the existing job for the same inputs;
        429 when this address or the server has as many jobs as it may, or this address submits
        too often.
        """
        client = client_of(request, trusted)
        service.admission.count_submission(client)
        fields: dict[str, Any] = {}
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_files=4, max_fields=8) as form:
                fields["model"] = str(form.get("model") or "default")
                fields["sequence"], _ = await _upload_text(form, "sequence", "sequence")
                fasta, _ = await _upload_text(form, "fasta", "FASTA")
                fields["sequence"] = fields["sequence"] or fasta
                fields["msa"], _ = await _upload_text(form, "msa", "MSA")
                fields["structure"], filename = await _upload_text(form, "structure", "structure")
                fields["structure_name"] = Path(filename or "structure").stem[:40]
                example_id = form.get("example")
                search = str(form.get("search") or "").lower() in ("true", "on", "1", "yes")
        else:
            try:
                body = JobRequest.model_validate_json(await request.body())
            except ValidationError as error:
                problems = [{**e, "loc": ("body", *e["loc"])} for e in error.errors()]
                raise RequestValidationError(problems) from error
            fields = {"model": body.model, "sequence": body.sequence}
            example_id = body.example
            search = body.search
        if search:
            fields["search"] = service.search.request()
        if isinstance(example_id, str) and example_id:
            chosen = example(example_id)
            fields["example"] = (chosen.id, chosen.sequence, chosen.structure())
        inputs = await run_in_threadpool(lambda: job_input(**fields))
        submitted = service.submit(inputs, client)
        status = _status(JobSummary.of(submitted.job), service, submitted.submission)
        content = status.model_copy(update={"token": submitted.token}).model_dump(mode="json")
        return JSONResponse(content, status_code=202 if submitted.queued else 200)

    @app.get("/api/jobs/{job_id}", response_model=JobStatus, tags=["jobs"])
    def get_job(job_id: JobId, submission: SubmissionId = None) -> JobStatus:
        """Status, progress, place in the queue and, once done, the downloads of one job; with
        ``submission``, under that submission's name and time."""
        mine = None if submission is None else service.store.submission(job_id, submission)
        return _status(service.summary(job_id), service, mine)

    @app.delete("/api/jobs/{job_id}", status_code=204, tags=["jobs"])
    def delete_job(
        job_id: JobId, token: Annotated[str, Header(alias="X-Foldlens-Token", max_length=64)]
    ) -> Response:
        """Delete your submission (the ``token`` its answer gave, in header
        ``X-Foldlens-Token``); when no other submitter wants the job, the job goes too, with its
        results, uploads and explanations (a running one stops). 403 with another token."""
        if service.withdraw(job_id, token):
            explanations.cancel_job(job_id)
        return Response(status_code=204)

    @app.get(
        "/api/jobs/{job_id}/predictions",
        tags=["jobs"],
        responses={200: {"content": {"application/json": {}, "application/octet-stream": {}}}},
    )
    def get_predictions(
        job_id: JobId,
        request: Request,
        format: Annotated[str, Query(pattern="^(json|npz)$")] = "json",
    ) -> Response:
        """The predictions with the keys of ``foldlens predict`` (JSON, or NPZ with format=npz)."""
        result = service.result(job_id)
        if format == "npz":
            return Response(result.predictions, media_type="application/octet-stream")
        return _gzipped_json(request, result.predictions_json)

    @app.get("/api/jobs/{job_id}/truth", tags=["jobs"])
    def get_truth(job_id: JobId) -> dict[str, Any]:
        """The true maps of a job with a structure: four distance maps (Å), ``contact`` (0/1) and
        ``dssp`` (one DSSP letter per residue: 8-state for examples, 3-state H/E/C for uploads)."""
        return to_json(from_npz(service.truth(job_id)))

    @app.get(
        "/api/jobs/{job_id}/structure",
        tags=["jobs"],
        responses={200: {"content": {"chemical/x-pdb": {}}}},
    )
    def get_structure(job_id: JobId) -> Response:
        """The job's structure as PDB text (backbone and Cβ, residues numbered 1..L)."""
        backbone = service.get(job_id).inputs.backbone()
        if backbone is None:
            raise NotAvailableError(f"job {job_id} has no structure")
        return Response(backbone.to_pdb(), media_type="chemical/x-pdb")

    @app.get("/api/jobs/{job_id}/couplings", tags=["jobs"])
    def get_couplings(job_id: JobId) -> dict[str, Any]:
        """The coupling maps the job fitted to its MSA: ``apc`` (L × L, symmetric, zero
        diagonal; APC-corrected Frobenius norms), ``neff``, ``sequences``, and how the fit ended;
        404 when the job fitted none (its status's ``alignment.couplings.why`` says why)."""
        service.result(job_id)
        found = service.models.couplings(service.get(job_id))
        if found is None:
            raise NotAvailableError(f"job {job_id} has no couplings")
        return {
            "apc": np.round(found.apc, 5).tolist(),
            "neff": found.neff,
            "sequences": found.sequences,
            "iterations": found.iterations,
            "converged": found.converged,
        }

    @app.get("/api/jobs/{job_id}/export", tags=["jobs"], responses=DOWNLOADS)
    def export(
        job_id: JobId,
        what: Annotated[str, Query(max_length=40)],
        format: Annotated[str, Query(max_length=10)],
        track: Annotated[str | None, Query(max_length=40)] = None,
        submission: SubmissionId = None,
    ) -> Response:
        """One download; ``GET /api/jobs/{id}`` lists every (what, format, track) a job offers.
        With ``submission``, named as that submission named the job."""
        job = service.get(job_id)
        result = service.result(job_id)
        name = job.inputs.name
        if submission is not None:
            name = service.store.submission(job_id, submission).name
        rendered = render(
            name=name,
            model=job.inputs.model,
            what=what,
            file_format=format,
            predictions=result.predictions,
            predictions_json=result.predictions_json,
            truth=result.truth,
            structure=job.inputs.backbone(),
            track=track,
            alignment=job.alignment,
            structure_model=lambda: next(
                iter(explanations.cached(explanations.structure_model(job_id)).values()), None
            ),
        )
        return _download(rendered)

    _explanation_routes(app, explanations)
    if atlas_folder is not None:
        add_atlas_pages(app, atlas_folder, service, trusted)
    _frontend(app, service)
    return app


def _download(rendered: Rendered) -> Response:
    """A file as an attachment; a file in chunks is streamed as they are made."""
    headers = {"Content-Disposition": f'attachment; filename="{rendered.filename}"'}
    if isinstance(rendered.content, bytes):
        return Response(rendered.content, media_type=rendered.media_type, headers=headers)
    return StreamingResponse(rendered.content, media_type=rendered.media_type, headers=headers)


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """The HTTP methods the routes matching ``path`` answer."""
    methods = {
        method
        for route in app.routes
        if isinstance(route, APIRoute) and route.path_regex.match(path)
        for method in route.methods or ()
    }
    return sorted(methods)


def _method_info(method: MethodEntry) -> MethodInfo:
    options = {name: MethodOption(**asdict(option)) for name, option in method.options.items()}
    return MethodInfo(
        name=method.name,
        summary=method.summary,
        exact=method.exact,
        approximation=method.approximation,
        options=options,
        layers=method.layers,
    )


def _task_status(task: Task, ticket: str | None = None) -> TaskStatus:
    """The task's status; the poll and cancel links carry ``ticket`` when it is one of the task's
    (only its holder can cancel)."""
    base = f"/api/explanations/{task.id}"
    mine = f"{base}?{urlencode({'ticket': ticket})}" if ticket in task.tickets else base
    return TaskStatus(
        id=task.id,
        job=task.job,
        status=task.status,  # type: ignore[arg-type]
        version=task.version,
        progress=task.progress,
        method_progress={m: task.method_progress.get(m, 0.0) for m in task.methods},
        states=dict(task.states),
        messages=dict(task.messages),
        results={m: f"{base}/{m}" for m, state in task.states.items() if state == "done"},
        poll=mine,
        cancel=mine,
    )


async def _answered(
    explanations: ExplanationService, request: ExplanationRequest, wait: float
) -> tuple[dict[str, bytes], TaskStatus | None]:
    """The entries of ``request`` that are stored (their JSON text), after starting the rest as
    a task (an identical running one is joined) and waiting up to ``wait`` s for it; with that
    task's status (``None`` when everything was stored already)."""
    results = await run_in_threadpool(explanations.stored, request)
    if len(results) == len(request.methods):
        return results, None
    task, ticket = explanations.start(request, set(results))
    await task.settled(wait)
    return await run_in_threadpool(explanations.stored, request), _task_status(task, ticket)


def _with_stored(answer: BaseModel, field: str, stored: bytes | dict[str, bytes] | None) -> bytes:
    """``answer`` as JSON with ``field`` holding stored JSON text (one result, or an object of
    them by name), spliced in unparsed: a result of 10⁴ numbers is not parsed, validated and
    written again for every request that reads it."""
    if isinstance(stored, dict):
        entries = (json.dumps(name).encode() + b": " + text for name, text in stored.items())
        stored = b"{" + b", ".join(entries) + b"}"
    rest = json.dumps(answer.model_dump(mode="json", exclude={field}), allow_nan=False)
    spliced = b"null" if stored is None else stored
    separator = b", " if rest != "{}" else b""
    return rest[:-1].encode() + separator + json.dumps(field).encode() + b": " + spliced + b"}"


def _stored_json(answer: BaseModel, field: str, stored: Any, status_code: int) -> Response:
    content = _with_stored(answer, field, stored)
    return Response(content, status_code=status_code, media_type="application/json")


def _explanation_routes(app: FastAPI, explanations: ExplanationService) -> None:
    @app.post(
        "/api/jobs/{job_id}/explain",
        response_model=ExplainAnswer,
        tags=["explanations"],
        responses={202: {"model": ExplainAnswer}},
    )
    async def explain_target(job_id: JobId, body: ExplainRequest) -> Response:
        """Explain one target by several methods: 200 with every map when they are cached (or
        finish within ``wait`` seconds), else 202 with those ready and the task to poll."""
        request = await run_in_threadpool(
            explanations.check, job_id, body.target, body.methods, body.options, body.wrt
        )
        results, task = await _answered(explanations, request, body.wait)
        answer = ExplainAnswer(
            target=body.target, description=request.description, results={}, task=task
        )
        complete = len(results) == len(request.methods)
        return _stored_json(answer, "results", results, 200 if complete else 202)

    @app.get("/api/analyses", response_model=list[AnalysisInfo], tags=["analyses"])
    def list_analyses() -> list[AnalysisInfo]:
        """The analyses of an explanation target, with their options."""
        return [
            AnalysisInfo(
                name=info.name,
                summary=info.summary,
                outputs_only=info.outputs_only,
                options={k: MethodOption(**asdict(o)) for k, o in info.options.items()},
            )
            for info in ANALYSES.values()
        ]

    @app.post(
        "/api/jobs/{job_id}/analyze",
        response_model=AnalyzeAnswer,
        tags=["analyses"],
        responses={202: {"model": AnalyzeAnswer}},
    )
    async def analyze_target(job_id: JobId, body: AnalyzeRequest) -> Response:
        """Run one analysis of a target in the background: 200 with the result when it is
        cached (or finishes within ``wait`` seconds), else 202 with the task to poll (the same
        task API as explanations; the result is at the task's ``results`` URL)."""
        request = await run_in_threadpool(
            explanations.check_analysis, job_id, body.target, body.analysis, body.options
        )
        results, task = await _answered(explanations, request, body.wait)
        answer = AnalyzeAnswer(
            target=body.target,
            description=request.description,
            analysis=body.analysis,
            result=None,
            task=task,
        )
        stored = results.get(body.analysis)
        return _stored_json(answer, "result", stored, 200 if results else 202)

    @app.post(
        "/api/jobs/{job_id}/model3d",
        response_model=StructureModelAnswer,
        tags=["jobs"],
        responses={202: {"model": StructureModelAnswer}},
    )
    async def structure_model(job_id: JobId, body: StructureModelRequest) -> Response:
        """The job's 3D model, folded from its distograms on demand: 200 with the model when it
        is built (or finishes within ``wait`` seconds), else 202 with the task to poll (the
        same task API as explanations). 400 for a model without distograms."""
        request = await run_in_threadpool(explanations.structure_model, job_id)
        results, task = await _answered(explanations, request, body.wait)
        answer = StructureModelAnswer(result=None, task=task)
        stored = next(iter(results.values()), None)
        return _stored_json(answer, "result", stored, 200 if results else 202)

    @app.post(
        "/api/jobs/{job_id}/overview",
        response_model=Overview,
        tags=["explanations"],
        response_model_by_alias=True,
    )
    async def overview(job_id: JobId, body: OverviewRequest, request: Request) -> Response:
        """The influence matrix of a per-residue head: row i attributes the head (class) at
        residue i to every input residue (signed sum over its features), all rows batched;
        computed as a task in the service's queue (cancelled when the client leaves first) and
        cached."""
        checked = await run_in_threadpool(
            explanations.overview, job_id, body.head, body.class_, body.method
        )
        found = await run_in_threadpool(explanations.cached, checked)
        if body.method not in found:
            task, ticket = await run_in_threadpool(explanations.start, checked, set())
            while task.status == "running":  # the wait holds no thread
                if await request.is_disconnected():
                    await run_in_threadpool(explanations.cancel, task.id, ticket)
                    return Response(status_code=204)
                await task.settled(0.5)
            if task.states[body.method] != "done":
                raise StoppedError(
                    task.messages.get(body.method) or f"the overview was {task.status}"
                )
            found = {body.method: explanations.result(task.id, body.method)}
        answer = {key: found[body.method][key] for key in ("matrix", "seconds")}
        overview = Overview.model_validate(
            {"head": body.head, "class": body.class_, "method": body.method, **answer}
        )
        return JSONResponse(overview.model_dump(mode="json", by_alias=True))

    @app.get("/api/explanations/results/{key}/export", tags=["explanations"], responses=DOWNLOADS)
    def export_explanation(
        key: str,
        what: Annotated[str, Query(max_length=20)],
        format: Annotated[str | None, Query(max_length=10)] = None,
        submission: SubmissionId = None,
    ) -> Response:
        """One download of an explanation (its ``key`` is in the result): ``what`` = figure
        (png/svg/pdf), arrays (npz/csv/json), pdb, pymol (pml) or logo (png/svg/pdf); with
        ``submission``, named as that submission named the job."""
        rendered = explanations.export(key, what, format, submission)
        return _download(rendered)

    @app.get("/api/explanations/{task_id}", response_model=TaskStatus, tags=["explanations"])
    async def poll_task(
        task_id: str,
        after: Annotated[int | None, Query(ge=0)] = None,
        wait: Annotated[float, Query(ge=0, le=10)] = 0.0,
        ticket: Annotated[str | None, Query(max_length=64)] = None,
    ) -> TaskStatus:
        """Progress and per-method state of an explanation task; with ``after`` (a ``version``),
        the answer waits up to ``wait`` seconds for the next change (long polling). With this
        request's ``ticket`` the links in the answer keep it."""
        task = explanations.task(task_id)
        if after is not None and wait > 0:
            await task.next_change(after, wait)
        return _task_status(task, ticket)

    @app.delete("/api/explanations/{task_id}", response_model=TaskStatus, tags=["explanations"])
    def cancel_task(
        task_id: str, ticket: Annotated[str | None, Query(max_length=64)] = None
    ) -> TaskStatus:
        """Withdraw this request's interest (its ``ticket`` is in the task's cancel link): when no
        request wants the task any more, methods not finished are dropped and nothing half-done is
        stored. 403 without a ticket of this task."""
        return _task_status(explanations.cancel(task_id, ticket), ticket)

    @app.get(
        "/api/explanations/{task_id}/{method}",
        tags=["explanations"],
        responses={200: {"content": {"application/json": {}}}},
    )
    def task_result(task_id: str, method: str, request: Request) -> Response:
        """One finished method's explanation (as stored: gzip-compressed to clients that take
        it)."""
        return _gzipped_json(request, explanations.compressed_result(task_id, method))


def _frontend(app: FastAPI, service: JobService) -> None:
    """``/`` and ``/view/{id}`` serve the page (``/view`` with 404 when there is no such job, so
    the page can say so); ``/assets`` its scripts and styles."""
    index = STATIC / "index.html"

    def page(status_code: int = 200) -> Response:
        if not index.is_file():
            return HTMLResponse(
                "<h1>foldlens</h1><p>The page is not built: run <code>make frontend</code>.</p>",
                status_code=503,
            )
        return FileResponse(index, status_code=status_code, headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return page()

    @app.get("/view/{job_id}", include_in_schema=False)
    def view(job_id: str) -> Response:
        try:
            service.summary(_job_id(job_id))
        except JobNotFoundError:
            return page(404)
        return page()

    if (STATIC / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=STATIC / "assets"), name="assets")
