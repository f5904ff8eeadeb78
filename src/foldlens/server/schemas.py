"""The request and response bodies of the web API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from .request_shapes import (
    ANALYSIS,
    ANALYSIS_OPTIONS,
    METHOD_OPTIONS,
    METHODS,
    OVERVIEW_HEAD,
    OVERVIEW_METHOD,
    TARGET,
)

Target = Annotated[dict[str, Any], WithJsonSchema(TARGET)]
"""Validated by the service (a readable 400); the schema documents the two shapes."""


WaitSeconds = Annotated[
    float,
    Field(ge=0, le=10, strict=True, description="Seconds to wait for the answer before 202."),
]
"""A number (``true`` is not 1 s) from 0 to 10."""


class ErrorMessage(BaseModel):
    detail: str = Field(description="What went wrong, in words a person can act on.")


class JobRequest(BaseModel):
    """A JSON job submission: a sequence (raw or one FASTA record) or a shipped example."""

    sequence: str | None = Field(None, description="Raw sequence or one FASTA record.")
    example: str | None = Field(
        None, description="Id of a shipped example (its profile and structure come with it)."
    )
    model: str = Field("default", description="A model name from /api/models.")
    search: bool = Field(
        False,
        description="Search the server's sequence database for an MSA first (a sequence given "
        "alone; see /api/search); its profile is used when the MSA is deep enough.",
    )


class MethodOption(BaseModel):
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: list[str] = []


class MethodInfo(BaseModel):
    name: str
    summary: str
    exact: bool = Field(description="False: a rule-based method on a model it is not exact for.")
    approximation: str = Field(
        "", description="Why it is not exact for this model (empty when it is exact)."
    )
    options: dict[str, MethodOption]
    layers: bool = Field(description="Whether it can attribute to a layer's input (wrt).")


class ModelInfo(BaseModel):
    name: str
    default: bool
    methods: list[MethodInfo] = Field(description="The explanation methods offered for it.")
    overview_methods: list[str] = Field(
        description="The methods the influence overview takes (one forward pass, no options)."
    )
    version: str = Field(description="Spec version and a digest of the weights.")
    spec: dict[str, Any] = Field(
        description="Inputs, heads, layers, exact methods, receptive fields, length limit."
    )


class ExampleInfo(BaseModel):
    id: str
    name: str
    fold: str
    length: int
    sequence: str
    has_structure: bool


class ExportLink(BaseModel):
    what: str
    format: str
    label: str
    track: str | None = None
    url: str


class JobStatus(BaseModel):
    id: str = Field(description="32 hex digits: a hash of the inputs, the model and its version.")
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    stage: str
    message: str | None = Field(description="Why the job failed, when it did.")
    name: str
    sequence: str
    length: int
    model: str
    model_version: str
    mode: Literal["single", "profile"]
    has_structure: bool
    created: float | None = Field(
        description="When the submission named by `submission` was made; null without one."
    )
    updated: float
    submission: str | None = Field(
        description="The submission whose name and time are shown (`?submission=`); without one "
        "the job shows its shared name, never another submitter's."
    )
    token: str | None = Field(
        default=None,
        description="Only in the answer to a submission: the secret that deletes it "
        "(`DELETE /api/jobs/{id}` with header `X-Foldlens-Token`). Keep it.",
    )
    queue_position: int | None = Field(
        description="While queued: 1 when this job runs next, 2 after that, ...; else null."
    )
    estimated_wait: float | None = Field(
        description="While queued: seconds it may wait to start, from how long jobs have taken "
        "here; null before any job has run."
    )
    view: str = Field(description="The result page of this job.")
    exports: list[ExportLink] = Field(description="Every download of this job once it is done.")
    tracks: list[str] = Field(description="Per-residue values that can colour the structure.")
    search: bool = Field(description="Whether the job searches for its MSA.")
    alignment: dict[str, Any] | None = Field(
        description="Once the job ran with an alignment (searched or uploaded): where it came "
        "from (`source`), `sequences`, `neff` (at 80 % identity), per-column `coverage`, the "
        "prediction `mode` it led to and `why`, and how the `couplings` fit went; for a search "
        "also the database, its digest, the parameters, iterations and whether it converged."
    )


class SearchInfo(BaseModel):
    available: bool
    database: str | None = Field(description="The database this server searches.")
    program: str | None = Field(description="The program that searches it, with its version.")
    unavailable: str | None = Field(description="Why this server cannot search, when it cannot.")
    parameters: dict[str, Any]
    neff_threshold: float = Field(
        description="A searched MSA's profile is used from this Neff on; below, single sequence."
    )
    note: str | None = Field(description="What to know about the database (e.g. that it is small).")


class ExplainRequest(BaseModel):
    """What to explain and how: an output ``{head, i, j?, class?}`` or a unit ``{layer, channel,
    i, j?}`` (residues 0-based), methods from the model's list, options per method."""

    target: Target
    methods: Annotated[list[str], WithJsonSchema(METHODS)]
    options: Annotated[dict[str, dict[str, Any]], WithJsonSchema(METHOD_OPTIONS)] = Field(
        default_factory=dict
    )
    wrt: str | None = Field(
        None,
        description="Attribute to the input of this layer (a path from the model's layers) "
        "instead of the model input: channels × residues for a 1D layer, the L × L map summed "
        "over channels for a 2D layer.",
    )
    wait: WaitSeconds = 0.5


class TaskStatus(BaseModel):
    id: str
    job: str
    status: Literal["running", "done", "failed", "cancelled"]
    version: int = Field(description="Changes with every update; pass it as `after` to wait.")
    progress: float
    method_progress: dict[str, float] = Field(description="Method → fraction done.")
    states: dict[str, str] = Field(description="Method → queued, running, done, failed, cancelled.")
    messages: dict[str, str]
    results: dict[str, str] = Field(description="Method → URL of its result, once done.")
    poll: str
    cancel: str


class ExplainAnswer(BaseModel):
    target: dict[str, Any]
    description: str = Field(description="The target in words.")
    results: dict[str, Any] = Field(description="Method → explanation, for those ready.")
    task: TaskStatus | None = Field(description="The background task computing the rest (202).")


class OverviewRequest(BaseModel):
    """A per-residue head (and class) and one rule-based or gradient method."""

    head: Annotated[str, WithJsonSchema(OVERVIEW_HEAD)]
    class_: str | None = Field(None, alias="class")
    method: Annotated[str, WithJsonSchema(OVERVIEW_METHOD)] = "gradient"


class Overview(BaseModel):
    head: str
    class_: str | None = Field(None, alias="class", serialization_alias="class")
    method: str
    seconds: float
    matrix: list[list[float]] = Field(
        description="L × L: row i is the target at residue i, column k the signed attribution "
        "summed over residue k's input features."
    )


class AnalysisInfo(BaseModel):
    name: str
    summary: str
    options: dict[str, MethodOption]
    outputs_only: bool = Field(description="True: reads a model output, not an internal unit.")


class AnalyzeRequest(BaseModel):
    """One analysis of one target (as for ``explain``), with its options."""

    target: Target
    analysis: Annotated[str, WithJsonSchema(ANALYSIS)]
    options: Annotated[dict[str, Any], WithJsonSchema(ANALYSIS_OPTIONS)] = Field(
        default_factory=dict
    )
    wait: WaitSeconds = 0.5


class StructureModelRequest(BaseModel):
    wait: WaitSeconds = 0.5


class StructureModelAnswer(BaseModel):
    """The job's 3D model: ``pdb`` (pLDDT in the B-factor column), ``plddt``, ``summary`` (how
    it was chosen), ``comparison`` (TM-score, lDDT and the superposed Cα against the job's known
    structure, when it has one)."""

    result: dict[str, Any] | None = Field(description="The model once it is built.")
    task: TaskStatus | None = Field(description="The background task building it (202).")


class AnalyzeAnswer(BaseModel):
    target: dict[str, Any]
    description: str = Field(description="The target in words.")
    analysis: str
    result: dict[str, Any] | None = Field(description="The analysis once it is done.")
    task: TaskStatus | None = Field(description="The background task computing it (202).")
