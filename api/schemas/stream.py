"""Messages of ``WS /v1/audio/stream``, live transcription with the reading check.

Client to server:

* Binary messages: audio chunks, in the stream's ``format`` (``pcm_s16le`` at
  ``sample_rate``, ``wav``, ``webm`` or ``ogg``; sniffed from the first chunk when not
  given: ``RIFF`` -> wav, EBML ``1A 45 DF A3`` -> webm, ``OggS`` -> ogg, else raw PCM).
* A first text message with the access token, when it is not in the query
  (``?token=...``) or an ``Authorization: Bearer`` header: the bare token, or a JSON
  :class:`StreamStart`, which may also carry the other parameters (a long
  ``reference_text`` does not fit in a URL). A ``start`` message may also be the
  first message after a query token, before any audio.
* ``finalize`` (or ``{"type": "finalize"}``): the end of the audio.

Server to client (each one JSON text message, ``type`` first):

* :class:`StreamReady` once the stream is set up;
* :class:`StreamPartial` as the reader speaks, ``final`` or tentative;
* :class:`StreamMiscue` with a reference text, as the reader gets past each miscue;
* at ``finalize``: the last partials and miscues, :class:`StreamSummary` (with a
  reference text), :class:`StreamDone`, then close code 1000;
* :class:`StreamError` before the server closes the stream on an error.

Times are seconds from the start of the stream's audio.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import ModelName
from core.plugins.languages import LANGUAGE_PATTERN
from core.results import MiscueReport, ReadingSummary

__all__ = [
    "StreamCheck",
    "StreamDone",
    "StreamError",
    "StreamMiscue",
    "StreamParams",
    "StreamPartial",
    "StreamReady",
    "StreamStart",
    "StreamSummary",
]

AudioFormat = Literal["pcm_s16le", "wav", "webm", "ogg"]


class StreamParams(BaseModel):
    """The stream's parameters (query string, or a :class:`StreamStart`).

    Attributes:
        model: The served ASR model (``GET /v1/audio/models``).
        reference_text: The page being read; enables the miscue messages.
        language: ISO 639-1 code of the speech; the model's default when absent.
        sample_rate: Hz of raw PCM (``pcm_s16le``); WAV says its own, WebM/Ogg too.
        format: The audio format; sniffed from the first chunk when absent.
    """

    model: ModelName = "whisper"
    reference_text: str | None = Field(None, max_length=100_000)
    language: str | None = Field(None, pattern=LANGUAGE_PATTERN)
    sample_rate: int = Field(16000, ge=8000, le=192000)
    format: AudioFormat | None = None
    final_check: bool = Field(
        True,
        description="With reference_text: at finalize, check the whole recording as a "
        "comparison task (with the reading check) and send its verified miscues in a "
        "`check` message. The miscue messages during the stream come from the "
        "transcript alone and can be wrong; the check is the answer to keep.",
    )


class StreamStart(StreamParams):
    """A first text message: the token and (optionally) parameters, e.g.
    ``{"type": "start", "token": "eyJ...", "reference_text": "The little brown dog"}``.
    Parameters given here replace those of the query string."""

    type: Literal["start"] = "start"
    token: str | None = None


class StreamReady(BaseModel):
    """The stream is authenticated and set up; send audio.
    ``{"type": "ready", "model": "whisper", "format": null, "sample_rate": 16000,
    "reading_check": true}``"""

    type: Literal["ready"] = "ready"
    model: str
    format: AudioFormat | None = Field(description="null: sniffed from the first chunk")
    sample_rate: int
    reading_check: bool = Field(description="Miscue messages will be sent")


class StreamPartial(BaseModel):
    """Transcribed text. ``final: true``: committed words (two consecutive decodes
    agreed on them), never changed; each final segment takes the next ``segment_id``.
    ``final: false``: the tentative text after the committed words, under the id the
    next final segment will take; it replaces the previous tentative text ("" clears
    it). A client shows the final segments in order plus the latest tentative text.
    ``{"type": "partial", "segment_id": 3, "text": "ran across the", "start": 1.26,
    "end": 2.1, "final": false}``"""

    type: Literal["partial"] = "partial"
    segment_id: int
    text: str
    start: float = Field(description="Seconds from the start of the stream")
    end: float = Field(description="Seconds from the start of the stream")
    final: bool


class StreamMiscue(BaseModel):
    """A miscue, sent once the reader is past it (the next reference word read as
    printed), never retracted; the rest at ``finalize``.
    ``{"type": "miscue", "miscue": "substitution", "expected": "brown", "found":
    "black", "ref_index": 2, "start": 0.58, "end": 0.94}``"""

    type: Literal["miscue"] = "miscue"
    miscue: Literal["substitution", "omission", "insertion"]
    expected: str = Field(description='The reference words ("" for an insertion)')
    found: str = Field(description='The words heard ("" for an omission)')
    ref_index: int = Field(
        description="Index of the first reference word (whitespace-separated words of "
        "reference_text); for an insertion, of the word it was read before"
    )
    start: float = Field(description="Seconds; for an omission, the gap where it was due")
    end: float


class StreamSummary(BaseModel):
    """The reading's scores at ``finalize``, counting exactly the miscues sent.
    ``{"type": "summary", "summary": {"words_in_reference": 18, "words_correct": 16,
    ...}}``"""

    type: Literal["summary"] = "summary"
    summary: ReadingSummary


class StreamCheck(BaseModel):
    """The verified reading check of the whole stream, sent after ``finalize`` (with
    ``reference_text`` and ``final_check``), before ``done``: the result of an
    audio/text comparison task of the recording (``task_id``; in the request archive),
    the same a recording uploaded afterwards would get. ``state`` ``PENDING``: it did
    not end within ``FMR_WAIT_TIMEOUT_S``; fetch it with
    ``/v1/comparison/audio/text/result?task_id=``.
    ``{"type": "check", "task_id": "...", "state": "SUCCESS", "errors": [...],
    "summary": {...}}``"""

    type: Literal["check"] = "check"
    task_id: UUID | None = None
    state: Literal["SUCCESS", "FAILURE", "PENDING"]
    errors: list[MiscueReport] | None = Field(
        None, description="The miscues, as `/v1/comparison/audio/text/result` gives them"
    )
    summary: ReadingSummary | None = None
    error: str | None = None

    @classmethod
    def of(cls, outcome: Any) -> StreamCheck:
        """From a ``wait=true`` task creation's answer (``TaskCreateResponse``)."""
        result = outcome.result or {}
        return cls(
            task_id=outcome.task_id, state=outcome.state, errors=result.get("errors"),
            summary=result.get("summary"), error=outcome.error,
        )


class StreamDone(BaseModel):
    """The last message before the server closes the stream normally.
    ``{"type": "done", "text": "The little black dog ...", "duration": 6.12,
    "segments": 5, "reason": "finalize"}``"""

    type: Literal["done"] = "done"
    text: str = Field(description="The whole final transcript")
    duration: float = Field(description="Seconds of audio received")
    segments: int = Field(description="Final segments sent")
    reason: Literal["finalize", "max_duration"]


class StreamError(BaseModel):
    """Why the server closes the stream (sent just before the close frame, whose
    reason repeats ``message``). ``{"type": "error", "code": "unknown_model",
    "message": "Unknown audio model 'whisper-xl'"}``"""

    type: Literal["error"] = "error"
    code: Literal[
        "unauthorized",
        "bad_request",
        "unknown_model",
        "unavailable",
        "undecodable_audio",
        "message_too_big",
        "max_duration",
        "idle_timeout",
        "model_error",
        "internal",
    ]
    message: str
