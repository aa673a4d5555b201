"""Request and response schemas of the v1 API, named as in the spec's Schemas section.

Class names are the spec's schema names (including ``ModelsDataReponse``) so
``/openapi.json`` matches the published contract. Times are seconds; coordinates
pixels; ``at_char`` a character offset into the audio segment's text.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

__all__ = [
    "AudioChunk",
    "AudioExtractPhrasesRequest",
    "AudioExtractPhrasesResponse",
    "AudioImageComparisonResultsResponse",
    "AudioPhrase",
    "AudioProcessingRequest",
    "AudioProcessingResponse",
    "AudioTextComparisonResultsResponse",
    "AudioToImageComparisonRequest",
    "AudioToTextComparisonRequest",
    "ErrorResponse",
    "IPRPoint",
    "IPRRectangle",
    "IPRTextBox",
    "ImageProcessingRequest",
    "ImageProcessingResponse",
    "ModelData",
    "ModelsDataReponse",
    "RegisterResponse",
    "TaskCreateResponse",
    "TaskStatusResponse",
    "TextDiff",
    "Token",
    "UploadFileResponse",
    "User",
]

# Bounds on client-supplied text so one request cannot exhaust a worker.
MAX_ITEMS = 10_000
MAX_TEXT_CHARS = 100_000
ModelName = Annotated[str, Field(min_length=1, max_length=64)]
BoundedText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class ErrorResponse(BaseModel):
    """The one error body of the API: ``{"detail": "..."}``."""

    detail: str


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


class TaskStatusResponse(BaseModel):
    """``ready`` is true once the task is finished, ``completed`` or ``failed``;
    ``error`` says why a ``failed`` task failed."""

    task_id: UUID
    status: str
    ready: bool
    error: str | None = None


class AudioChunk(BaseModel):
    """A timed piece of the recording and the downloadable audio file cut from it."""

    start: float
    end: float
    text: str
    file: UUID


class AudioProcessingRequest(BaseModel):
    audio_file: UUID
    audio_model: ModelName


class AudioProcessingResponse(BaseModel):
    text: str
    segments: list[AudioChunk]


class AudioExtractPhrasesRequest(BaseModel):
    audio_file: UUID
    audio_model: ModelName
    phrases: list[BoundedText] = Field(max_length=MAX_ITEMS)


class AudioPhrase(BaseModel):
    audio_segment: AudioChunk | None = None
    found: bool
    phrase: str


class AudioExtractPhrasesResponse(BaseModel):
    data: list[AudioPhrase]


class ImageProcessingRequest(BaseModel):
    image_file: UUID
    image_model: ModelName


class IPRPoint(BaseModel):
    x: int
    y: int


class IPRRectangle(BaseModel):
    left_top: IPRPoint
    right_top: IPRPoint
    left_bottom: IPRPoint
    right_bottom: IPRPoint


class IPRTextBox(BaseModel):
    text: str
    coordinates: IPRRectangle


class ImageProcessingResponse(BaseModel):
    text: str
    boxes: list[IPRTextBox]


class AudioToImageComparisonRequest(BaseModel):
    audio_file: UUID
    image_file: UUID
    audio_model: ModelName
    image_model: ModelName


class AudioToTextComparisonRequest(BaseModel):
    audio_file: UUID
    text: list[BoundedText] = Field(max_length=MAX_ITEMS)
    audio_model: ModelName


class TextDiff(BaseModel):
    """One difference: ``found`` (heard) instead of ``expected`` (written), starting at
    character ``at_char`` of ``audio_segment.text``."""

    audio_segment: AudioChunk
    at_char: int
    found: str
    expected: str


class AudioImageComparisonResultsResponse(BaseModel):
    image: ImageProcessingResponse
    audio: AudioProcessingResponse
    errors: list[TextDiff]


class AudioTextComparisonResultsResponse(BaseModel):
    audio: AudioProcessingResponse
    errors: list[TextDiff]


class RegisterResponse(BaseModel):
    text: str


class Token(BaseModel):
    access_token: str
    token_type: str


class User(BaseModel):
    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool | None = None
