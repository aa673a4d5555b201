"""Schemas every API area uses: the error bodies, uploads, model lists, task ids.

Class names are the spec's schema names (including ``ModelsDataReponse``), so
``/openapi.json`` matches the published contract.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

__all__ = [
    "MAX_ITEMS",
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
    task_id: UUID
