"""Typed results of the Follow My Reading API, mirroring its JSON.

Plain frozen dataclasses (no dependency beyond the standard library), built from the
service's JSON by :func:`from_json`. Field names are the API's. Keys the client does
not know are ignored, so a newer service does not break an older client.

Units: times are seconds from the start of the recording; coordinates are pixels in
the uploaded image, origin top-left, y down; percentages 0-100.
"""

from __future__ import annotations

import dataclasses
import time
import types
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from fmr_client.errors import UnexpectedResponse

__all__ = [
    "Evidence",
    "ImageComparison",
    "Miscue",
    "MiscueType",
    "ModelInfo",
    "PageText",
    "Point",
    "ReadingSummary",
    "Rectangle",
    "Segment",
    "TaskCreated",
    "TaskStatus",
    "TextBox",
    "TextComparison",
    "Tokens",
    "Transcript",
    "User",
    "Word",
    "from_json",
]

MiscueType = Literal["substitution", "omission", "insertion"]
T = TypeVar("T")


@dataclass(frozen=True)
class Tokens:
    """A login: the bearer access token and the single-use refresh token renewing it.

    Attributes:
        access_token: The JWT sent as ``Authorization: Bearer ...``.
        refresh_token: Single use: each refresh returns a new one and invalidates it.
        expires_at: When the access token expires, seconds since the epoch
            (``time.time()``); ``None`` when unknown.
        token_type: ``bearer``.
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    token_type: str = "bearer"

    @classmethod
    def from_response(cls, body: dict[str, Any], now: float | None = None) -> Tokens:
        """Tokens from a ``/v1/auth/token`` or ``/v1/auth/refresh`` answer.

        Raises:
            UnexpectedResponse: the body has no ``access_token``.
        """
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise UnexpectedResponse("The token answer has no access_token")
        expires_in = body.get("expires_in")
        now = time.time() if now is None else now
        return cls(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=now + float(expires_in) if expires_in is not None else None,
            token_type=body.get("token_type", "bearer"),
        )

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        """Whether the access token expires in less than ``seconds`` from ``now``."""
        if self.expires_at is None:
            return False
        return self.expires_at - (time.time() if now is None else now) < seconds


@dataclass(frozen=True)
class User:
    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool | None = None


@dataclass(frozen=True)
class ModelInfo:
    """A model the service serves: its name (``audio_model`` / ``image_model``)."""

    name: str
    languages: list[str]
    description: str


@dataclass(frozen=True)
class TaskCreated:
    """A new task. With ``wait=true`` also its ``state`` (``SUCCESS`` with ``result``,
    ``FAILURE`` with ``error``, ``PENDING`` when it outlasted the server's wait)."""

    task_id: str
    state: Literal["SUCCESS", "FAILURE", "PENDING"] | None = None
    status: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class TaskStatus:
    """``status``: pending, in_progress, completed or failed; ``ready`` once finished."""

    task_id: str
    status: str
    ready: bool
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class Word:
    """A recognised word and its time span (seconds); ``probability`` 0-1."""

    word: str
    start: float
    end: float
    probability: float | None = None


@dataclass(frozen=True)
class Segment:
    """A timed piece of the transcript; ``file`` is the id of its mp3 cut."""

    start: float
    end: float
    text: str
    file: str | None = None
    words: list[Word] | None = None


@dataclass(frozen=True)
class Transcript:
    """An audio processing result. ``raw`` is the service's JSON."""

    text: str
    segments: list[Segment]
    language: str | None = None
    ignored_options: list[str] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass(frozen=True)
class Rectangle:
    """Four corners of a (possibly rotated) box, in pixels."""

    left_top: Point
    right_top: Point
    left_bottom: Point
    right_bottom: Point

    def bounds(self) -> tuple[int, int, int, int]:
        """Axis-aligned bounds ``(left, top, right, bottom)`` in pixels."""
        corners = (self.left_top, self.right_top, self.left_bottom, self.right_bottom)
        xs, ys = [p.x for p in corners], [p.y for p in corners]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class TextBox:
    text: str
    coordinates: Rectangle
    confidence: float | None = None


@dataclass(frozen=True)
class PageText:
    """A text recognition result: the page's text and its boxes in reading order."""

    text: str
    boxes: list[TextBox]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Evidence:
    """Why a miscue was reported: the reading the audio supports (``""`` for an
    omission), the page's reading, and by how much the audio favours the former
    (``log_likelihood_margin``, nats); ``source``: transcript, decoder or lexicon."""

    reading: str
    page_reading: str
    log_likelihood_margin: float
    source: str


@dataclass(frozen=True)
class Miscue:
    """One miscue: ``found`` (heard) instead of ``expected`` (on the page).

    ``ref_char`` is the offset of ``expected`` in the reference text (of the next
    word, for an insertion); ``start``/``end`` in seconds; ``confidence`` 0-1;
    ``box``/``boxes`` in pixels (image comparisons).
    """

    at_char: int
    found: str
    expected: str
    audio_segment: Segment | None = None
    type: MiscueType | None = None
    ref_char: int | None = None
    start: float | None = None
    end: float | None = None
    confidence: float | None = None
    evidence: Evidence | None = None
    segment: int | None = None
    box: Rectangle | None = None
    boxes: list[Rectangle] | None = None


@dataclass(frozen=True)
class ReadingSummary:
    """How well the passage was read: percentages 0-100, ``reading_duration`` in
    seconds, ``wcpm`` words correct per minute (``None`` when nothing was heard)."""

    words_in_reference: int
    words_correct: int
    substitutions: int
    omissions: int
    insertions: int
    accuracy: float
    completeness: float
    reading_duration: float
    wcpm: float | None = None


@dataclass(frozen=True)
class TextComparison:
    """An audio/text comparison: what was heard, the miscues and the summary."""

    audio: Transcript
    errors: list[Miscue]
    summary: ReadingSummary | None = None
    language: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ImageComparison:
    """An audio/image comparison: the page as read, what was heard, the miscues and
    the summary. The reference text is ``image.text``."""

    image: PageText
    audio: Transcript
    errors: list[Miscue]
    summary: ReadingSummary | None = None
    language: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def reference_text(self) -> str:
        return self.image.text


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def from_json(cls: type[T], data: Any) -> T:
    """Build the dataclass ``cls`` from the service's JSON (unknown keys ignored).

    A ``raw`` field, where the class has one, gets ``data`` itself.

    Raises:
        UnexpectedResponse: ``data`` does not have the shape of ``cls``.
    """
    try:
        return _build(cls, data)
    except (TypeError, ValueError, AttributeError) as error:
        raise UnexpectedResponse(f"Unexpected {cls.__name__} from the service: {error}") from None


def _build(cls: type[T], data: Any) -> T:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.name == "raw":
            kwargs["raw"] = data
        elif item.name in data:
            kwargs[item.name] = _convert(hints[item.name], data[item.name])
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return [_convert(get_args(hint)[0], item) for item in value]
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    if hint is float:
        return float(value)
    if hint is int:
        return int(value)
    return value
