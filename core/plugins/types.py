"""Data types exchanged between plugins and the service (the spec's Plugins section).

Every type a plugin written for the original project imports from ``core.plugins``
is here with the same fields; the optional extras (``words``, ``confidence``) are
additive, so old plugins keep working and new ones can report more.

Units: times are seconds from the start of the recording; coordinates are pixels
in the uploaded image, origin top-left, x to the right, y down.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

__all__ = [
    "AudioChunk",
    "AudioProcessingResult",
    "ImageProcessingResult",
    "ImageTextBox",
    "MiscueEvidence",
    "Point",
    "ReadingEdit",
    "ReadingVerification",
    "Rectangle",
    "Word",
]


class Word(BaseModel):
    """One recognised word with its time span.

    Attributes:
        word: The word as the model wrote it (may carry punctuation).
        start: Start time in seconds.
        end: End time in seconds.
        probability: Model's probability for the word, 0..1, when it has one.
    """

    word: str
    start: float
    end: float
    probability: float | None = None


class AudioChunk(BaseModel):
    """A timed piece of a transcript, as a plugin returns it.

    Attributes:
        start: Start time in seconds.
        end: End time in seconds.
        text: Text recognised in ``[start, end)``.
        words: Per-word timings inside the chunk, if the model gives them.
    """

    start: float
    end: float
    text: str
    words: list[Word] | None = None


class MiscueEvidence(BaseModel):
    """Why a miscue was reported (or rejected): the audio's verdict between two readings.

    Attributes:
        reading: The competing reading: what the audio supports instead of the page
            (``""`` for an omission).
        page_reading: The page's words at that place (``""`` for an insertion).
        log_likelihood_margin: Log-likelihood of ``reading`` minus that of
            ``page_reading``, in nats, teacher-forced by the ASR model over the same
            audio window (the region and a few words after it). Positive: the audio
            favours the miscue.
        source: Who proposed the reading: ``transcript`` (the decoded transcript),
            ``decoder`` (the model's own alternatives at that word) or ``lexicon``
            (a near-word or a skipped word).
    """

    reading: str
    page_reading: str
    log_likelihood_margin: float
    source: Literal["transcript", "decoder", "lexicon"]


class ReadingEdit(BaseModel):
    """A miscue checked against the audio (``core.reading.verify``).

    Attributes:
        type: ``substitution``, ``omission`` or ``insertion``.
        ref_start, ref_end: Reference word indices ``[ref_start, ref_end)``; an
            insertion has ``ref_start == ref_end``, the word it was read before.
        words: The words read (``[]`` for an omission).
        start, end: Seconds: where in the recording.
        probability: Calibrated probability (0..1) that the miscue is real.
        evidence: The verdict behind it.
    """

    type: Literal["substitution", "omission", "insertion"]
    ref_start: int
    ref_end: int
    words: list[str]
    start: float
    end: float
    probability: float = Field(ge=0, le=1)
    evidence: MiscueEvidence


class ReadingVerification(BaseModel):
    """The reading check's outcome for one recording against one page.

    Attributes:
        edits: The miscues the audio supports, in reference order.
        rejected: The transcript's miscues the audio does not support.
        windows: Audio windows encoded (one encoder pass each).
        candidates_scored: Teacher-forced scorings run.
    """

    edits: list[ReadingEdit]
    rejected: list[ReadingEdit] = []
    windows: int = 0
    candidates_scored: int = 0


class AudioProcessingResult(BaseModel):
    """What ``process_audio(filename)`` returns: the whole text and its timed chunks.

    ``verification`` is not a plugin's to fill: the model host adds it in a
    comparison, when the plugin can score readings (:mod:`core.plugins.scoring`).

    Attributes:
        language: ISO 639-1 code of the language decoded, when the plugin says.
        language_probability: The model's probability for ``language`` (0..1; 1.0
            when it was given rather than detected).
        ignored_options: The request's decoding options (``hot_words``, ``prompt``,
            ``temperature``) the plugin does not take and so ignored; the host fills it.
    """

    text: str
    segments: list[AudioChunk]
    verification: ReadingVerification | None = None
    language: str | None = None
    language_probability: float | None = None
    ignored_options: list[str] | None = None


class Point(BaseModel):
    """A pixel position. Floats (rotated boxes, numpy scalars) are rounded to int."""

    x: int
    y: int

    @field_validator("x", "y", mode="before")
    @classmethod
    def _round(cls, value: Any) -> int:
        # EasyOCR returns numpy floats for rotated boxes; the spec's schema says integer.
        return int(round(float(value)))


class Rectangle(BaseModel):
    """Four corners of a (possibly rotated) text box, in pixels."""

    left_top: Point
    right_top: Point
    left_bottom: Point
    right_bottom: Point

    def bounds(self) -> tuple[int, int, int, int]:
        """Axis-aligned bounds ``(left, top, right, bottom)`` in pixels."""
        xs = [p.x for p in (self.left_top, self.right_top, self.left_bottom, self.right_bottom)]
        ys = [p.y for p in (self.left_top, self.right_top, self.left_bottom, self.right_bottom)]
        return min(xs), min(ys), max(xs), max(ys)

    @classmethod
    def from_bounds(cls, left: float, top: float, right: float, bottom: float) -> Rectangle:
        """Build an axis-aligned rectangle from pixel bounds."""
        return cls(
            left_top=Point(x=left, y=top),
            right_top=Point(x=right, y=top),
            left_bottom=Point(x=left, y=bottom),
            right_bottom=Point(x=right, y=bottom),
        )


class ImageTextBox(BaseModel):
    """A piece of text found on an image and where it is.

    Attributes:
        text: The recognised text of the box (one or more words).
        coordinates: The box corners in pixels.
        confidence: Recogniser confidence 0..1, when the model gives one.
    """

    text: str
    coordinates: Rectangle
    confidence: float | None = None


class ImageProcessingResult(BaseModel):
    """What ``process_image(filename)`` returns: the whole text and its boxes."""

    text: str
    boxes: list[ImageTextBox]
