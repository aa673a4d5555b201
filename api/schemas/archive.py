"""Schemas of ``/v1/archive``: past requests, their transcripts and voice activity.

Times here are integer **milliseconds** from the start of the recording (the archive
of the audio-archive service this follows); ``created_at`` is UTC, ISO 8601.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

__all__ = [
    "ArchivedRequest",
    "ArchiveListResponse",
    "DeletedResponse",
    "FullRequestResponse",
    "TranscriptResponse",
    "TranscriptSegment",
    "TranscriptWord",
    "VoiceActivityMark",
    "VoiceActivityResponse",
]


class ArchivedRequest(BaseModel):
    """One past request (a task of any kind)."""

    id: UUID
    created_at: datetime
    kind: str = Field(description="`audio_processing`, `audio_image_comparison`, ...")
    status: str = Field(description="`pending`, `in_progress`, `completed` or `failed`.")
    session_id: str | None = None
    trace_id: str | None = Field(None, description="The creating request's X-Request-ID.")


class ArchiveListResponse(BaseModel):
    """A page of requests, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    requests: list[ArchivedRequest]
    next_cursor: str | None = None


class FullRequestResponse(ArchivedRequest):
    """The request as the service ran it."""

    body: dict[str, Any] = Field(
        description="The task's body: the request's fields as stored (file ids, model "
        "names, texts, language, hot words), files fetched from URLs as their ids."
    )
    models: dict[str, Any] = Field(
        description="Per model name, the configuration that served it: application, "
        "plugin, options, batching and library versions. Empty until a model ran."
    )
    error: str | None = None


class TranscriptWord(BaseModel):
    word: str
    start_ms: int
    end_ms: int
    confidence: float | None = Field(None, description="The model's word probability, 0-1.")


class TranscriptSegment(BaseModel):
    text: str
    start_ms: int
    end_ms: int
    confidence: float | None = Field(
        None, description="Mean of the words' confidences; absent without words."
    )
    words: list[TranscriptWord] = Field(default_factory=list)


class TranscriptResponse(BaseModel):
    id: UUID
    text: str
    language: str | None = None
    segments: list[TranscriptSegment]


class VoiceActivityMark(BaseModel):
    type: Literal["speech", "silence"]
    start_ms: int
    end_ms: int


class VoiceActivityResponse(BaseModel):
    """Speech and silence, alternating, covering the whole recording: the speech
    intervals are ``split_silence``'s padded pieces (the spec's silence splitting)."""

    id: UUID
    duration_ms: int
    marks: list[VoiceActivityMark]


class DeletedResponse(BaseModel):
    deleted_requests: int
    deleted_files: int
