"""The request and response bodies of the web API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorMessage(BaseModel):
    detail: str = Field(description="What went wrong, in words a person can act on.")


class JobRequest(BaseModel):
    """A JSON job submission: a sequence (raw or one FASTA record) or a shipped example."""

    sequence: str | None = Field(None, description="Raw sequence or one FASTA record.")
    example: str | None = Field(
        None, description="Id of a shipped example (its profile and structure come with it)."
    )
    model: str = Field("default", description="A model name from /api/models.")


class ModelInfo(BaseModel):
    name: str
    default: bool
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
    created: float
    updated: float
    view: str = Field(description="The result page of this job.")
    exports: list[ExportLink] = Field(description="Every download of this job once it is done.")
    tracks: list[str] = Field(description="Per-residue values that can colour the structure.")
