"""Schemas every API area uses: the error bodies, uploads, model lists, task ids.

Class names are the spec's schema names (including ``ModelsDataReponse``), so
``/openapi.json`` matches the published contract.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "HotWords",
    "MAX_ITEMS",
    "MediaUrl",
    "MediaUrls",
    "SessionId",
    "TaskOptions",
    "UrlUploadRequest",
    "MAX_TEXT_CHARS",
    "BoundedText",
    "ErrorResponse",
    "ModelData",
    "ModelName",
    "ModelsDataReponse",
    "TaskCreateResponse",
    "UploadFileResponse",
    "ValidationErrorResponse",
    "ValidationIssue",
]

# Bounds on client-supplied text so one request cannot exhaust a worker.
MAX_ITEMS = 10_000
MAX_TEXT_CHARS = 100_000
ModelName = Annotated[str, Field(min_length=1, max_length=64)]
BoundedText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class ErrorResponse(BaseModel):
    """The one error body of the API: ``{"detail": "..."}``."""

    detail: str


class ValidationIssue(BaseModel):
    """One way a request does not match its schema, as FastAPI reports it: where
    (``loc``, e.g. ``["query", "task_id"]``), what (``msg``) and its kind (``type``).
    ``input`` (the offending value) is left out on the ``/v1/auth`` routes."""

    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorResponse(BaseModel):
    """The body of a 422: ``{"detail": "..."}`` like every error, or, when the request
    does not match its schema, ``{"detail": [<ValidationIssue>, ...]}``."""

    detail: str | list[ValidationIssue]


class UploadFileResponse(BaseModel):
    file_id: UUID


class ModelData(BaseModel):
    name: str
    languages: list[str]
    description: str


class ModelsDataReponse(BaseModel):
    models: list[ModelData]


class TaskCreateResponse(BaseModel):
    """The new task's id. With ``wait=true``: also its ``state`` (``SUCCESS`` with the
    ``result`` inline, ``FAILURE`` with the ``error``, or ``PENDING`` when it did not
    finish within the server's wait, ``FMR_WAIT_TIMEOUT_S``: poll as usual) and
    ``status`` (as ``/v1/task/status`` says it)."""

    task_id: UUID
    state: Literal["SUCCESS", "FAILURE", "PENDING"] | None = None
    status: str | None = None
    result: dict[str, Any] | None = Field(
        None, description="The task's result, as its result endpoint returns it."
    )
    error: str | None = None


#: A client's label for tasks that belong together (a reading session, a student).
SessionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="A label of your choosing grouping tasks (a reading session, a "
        "student): letters, digits and `._:-`, at most 128. The request archive "
        "filters by it.",
        examples=["class-3b:alice:2026-12-04"],
    ),
]

#: An http(s) URL of a media file (checked and fetched by ``core.uploads.remote``).
MediaUrl = Annotated[str, Field(min_length=1, max_length=2048, examples=["https://example.org/page.jpg"])]

#: ``{word: boost}``: > 0 favours the word, < 0 suppresses it (plugins that support it).
HotWords = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=50)],
        Annotated[float, Field(ge=-100, le=100, allow_inf_nan=False)],
    ],
    Field(
        max_length=100,
        description="Words to favour (boost > 0) or suppress (boost < 0) in speech "
        "recognition, for models that support it (Whisper: `hotwords` and suppressed "
        "tokens). A model without support ignores them; the transcript's "
        "`ignored_options` says so.",
        examples=[{"Quvenzhane": 5.0}],
    ),
]


class MediaUrls(BaseModel):
    """URLs to fetch a task's files from, instead of uploading them first."""

    model_config = ConfigDict(extra="forbid")

    audio: MediaUrl | None = None
    image: MediaUrl | None = None


class UrlUploadRequest(BaseModel):
    """``POST /v1/{audio,image}/upload_url``: the file to fetch."""

    model_config = ConfigDict(extra="forbid")

    url: MediaUrl


class TaskOptions(BaseModel):
    """Fields every task-creating request accepts besides its own.

    A file field (``audio_file``, ``image_file``) may be left out when
    ``media_urls`` gives that file's URL instead (not both).
    """

    session_id: SessionId | None = None
    media_urls: MediaUrls | None = Field(
        None,
        description="Fetch the task's files from these URLs instead of `audio_file` / "
        "`image_file` (size, time and redirect caps; only public addresses).",
    )

    @model_validator(mode="after")
    def _one_source_per_file(self) -> TaskOptions:
        for kind in ("audio", "image"):
            field = f"{kind}_file"
            if field not in type(self).model_fields:
                continue
            url = getattr(self.media_urls, kind, None) if self.media_urls else None
            if (getattr(self, field) is None) == (url is None):
                raise ValueError(f"Give either {field} or media_urls.{kind}, not both or neither")
        if self.media_urls is not None:
            for kind in ("audio", "image"):
                if getattr(self.media_urls, kind) and f"{kind}_file" not in type(self).model_fields:
                    raise ValueError(f"This task takes no {kind} file")
        return self
