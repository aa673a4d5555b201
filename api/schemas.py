"""Request and response schemas of the v1 API, named as in the spec's Schemas section.

Class names are the spec's schema names (including ``ModelsDataReponse``) so
``/openapi.json`` matches the published contract. Times are seconds; coordinates
pixels; ``at_char`` a character offset into the audio segment's text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

__all__ = [
    "HealthResponse",
    "ReadinessResponse",
    "AudioChunk",
    "AudioExtractPhrasesRequest",
    "AudioExtractPhrasesResponse",
    "AudioImageComparisonResultsResponse",
    "AudioPhrase",
    "AudioWord",
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
    "ReadingSummary",
    "RegisterResponse",
    "RevokeResponse",
    "TaskCreateResponse",
    "TaskStatusResponse",
    "TextDiff",
    "Token",
    "UploadFileResponse",
    "User",
    "ValidationErrorResponse",
    "ValidationIssue",
]

# Bounds on client-supplied text so one request cannot exhaust a worker.
MAX_ITEMS = 10_000
MAX_TEXT_CHARS = 100_000
MiscueType = Literal["substitution", "omission", "insertion"]
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


class TaskStatusResponse(BaseModel):
    """``ready`` is true once the task is finished, ``completed`` or ``failed``;
    ``error`` says why a ``failed`` task failed."""

    task_id: UUID
    status: str
    ready: bool
    error: str | None = None


class AudioWord(BaseModel):
    """One word the speech recogniser heard: seconds from the start of the recording,
    and the model's probability for it (0-1) when it gives one."""

    word: str
    start: float
    end: float
    probability: float | None = None


class AudioChunk(BaseModel):
    """A timed piece of the recording and the downloadable audio file cut from it.

    ``words`` (additive) lists the recogniser's words with their times, when the
    model gives them."""

    start: float
    end: float
    text: str
    file: UUID
    words: list[AudioWord] | None = None


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
    """A text box found on the image. ``confidence`` (additive, 0-1) is the OCR
    model's, when it gives one; words from boxes under 0.5 are treated as doubtful."""

    text: str
    coordinates: IPRRectangle
    confidence: float | None = None


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
    """One miscue: ``found`` (heard) instead of ``expected`` (on the page).

    The spec's four fields keep their meaning; ``at_char`` is the offset of the
    miscue in the text of ASR segment ``segment`` of ``audio.segments``. The other
    fields are additive (absent from results computed before they existed).
    ``audio_segment`` is the cut of just the words concerned: its ``text`` is what
    was heard there (``""`` for an omission, whose times are the silence where the
    words should have been).
    """

    audio_segment: AudioChunk
    at_char: int
    found: str
    expected: str
    type: MiscueType | None = Field(
        None, description="substitution (misread), omission (skipped) or insertion (added)"
    )
    ref_char: int | None = Field(
        None,
        description="Character offset of `expected` (insertion: of the next word) "
        "in the reference text (`text` joined with spaces, or `image.text`).",
    )
    start: float | None = Field(None, description="Seconds from the start of the recording.")
    end: float | None = Field(None, description="Seconds from the start of the recording.")
    confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="How sure the service is that this is a real miscue, "
        "from ASR word probabilities, the alignment and OCR confidence.",
    )
    segment: int | None = Field(None, description="Index in `audio.segments` for `at_char`.")
    box: IPRRectangle | None = Field(
        None, description="Pixel bounds of the expected word(s) on the photo (image mode)."
    )
    boxes: list[IPRRectangle] | None = Field(
        None, description="Per-word pixel boxes of the expected word(s) (image mode)."
    )


class ReadingSummary(BaseModel):
    """How well the passage was read. Percentages 0-100, durations in seconds."""

    words_in_reference: int
    words_correct: int
    substitutions: int = Field(description="Words substituted.")
    omissions: int = Field(description="Words omitted.")
    insertions: int = Field(description="Words inserted (not counted against accuracy).")
    accuracy: float = Field(description="100 * words_correct / words_in_reference.")
    completeness: float = Field(description="Percent of reference words not omitted.")
    reading_duration: float = Field(description="First heard word's start to last one's end.")
    wcpm: float | None = Field(
        description="Words correct per minute over `reading_duration`; null if nothing heard."
    )


class AudioImageComparisonResultsResponse(BaseModel):
    image: ImageProcessingResponse
    audio: AudioProcessingResponse
    errors: list[TextDiff]
    summary: ReadingSummary | None = None


class AudioTextComparisonResultsResponse(BaseModel):
    audio: AudioProcessingResponse
    errors: list[TextDiff]
    summary: ReadingSummary | None = None


class RegisterResponse(BaseModel):
    text: str


class Token(BaseModel):
    """A bearer access token and the refresh token that renews it (RFC 6749 section 5.1).

    ``refresh_token`` and ``expires_in`` are additive to the spec's two fields.
    """

    access_token: str
    token_type: str
    refresh_token: str = Field(
        description="Single-use token for `POST /v1/auth/refresh`; each use returns a "
        "new one and invalidates it. Reusing an old one revokes the whole session."
    )
    expires_in: int = Field(description="Seconds until `access_token` expires.")


class RevokeResponse(BaseModel):
    text: str


class User(BaseModel):
    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool | None = None


class HealthResponse(BaseModel):
    """Liveness: the process is serving.

    Attributes:
        status: Always ``"ok"``.
        replica: Id of the ingress replica that answered (empty outside Serve).
        uptime_s: Seconds since that replica started.
    """

    status: str
    replica: str
    uptime_s: float


class ReadinessResponse(BaseModel):
    """Readiness: whether every model application is up, and each one's state."""

    ready: bool
    applications: dict[str, str]
