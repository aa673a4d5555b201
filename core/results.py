"""The results of tasks: one typed model per kind, from the task runner to the HTTP answer.

The task runner (:mod:`core.tasks.runner`) builds these, the task store keeps them as
JSON (``model_dump_json``), and the API answers with them (``api.schemas`` only
names them as the spec does: :data:`SPEC_SCHEMA_NAMES`). Plugin types
(:mod:`core.plugins.types`: ``Word``, ``AudioChunk``, ``ImageTextBox``...) are reused,
not copied. Field names are the spec's; the fields it does not have are additive.

Units: times are seconds from the start of the recording; coordinates are pixels in
the uploaded image, origin top-left, y down; percentages 0-100.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from core.plugins.types import AudioChunk, ImageProcessingResult, MiscueEvidence, Rectangle
from core.stores.tasks import TaskKind

__all__ = [
    "AudioImageComparison",
    "AudioTextComparison",
    "CutSegment",
    "FoundPhrase",
    "MiscueReport",
    "MiscueType",
    "PhraseExtraction",
    "RESULT_TYPES",
    "ReadingSummary",
    "SPEC_SCHEMA_NAMES",
    "TaskResult",
    "Transcript",
]

MiscueType = Literal["substitution", "omission", "insertion"]


class CutSegment(AudioChunk):
    """A timed piece of the recording and the downloadable audio file cut from it.

    Attributes:
        file: Id of the cut (``GET /v1/audio/download?file_id=...``), an mp3.
        words: (inherited, additive) the recogniser's words with their times, when
            the model gives them.
    """

    file: UUID


class Transcript(BaseModel):
    """An audio processing result: the whole text and its cut segments."""

    text: str
    segments: list[CutSegment]
    language: str | None = Field(
        None, description="ISO 639-1 code of the language decoded, when the model says."
    )
    ignored_options: list[str] | None = Field(
        None,
        description="Options of the request (`hot_words`, `prompt`, `temperature`) the "
        "model does not support: it transcribed without them. Absent when none was.",
    )


class MiscueReport(BaseModel):
    """One miscue: ``found`` (heard) instead of ``expected`` (on the page).

    The spec's four fields keep their meaning; ``at_char`` is the offset of the
    miscue in the text of ASR segment ``segment`` of ``audio.segments``. The other
    fields are additive (absent from results computed before they existed).
    ``audio_segment`` is the cut of just the words concerned: its ``text`` is what
    was heard there (``""`` for an omission, whose times are the silence where the
    words should have been).
    """

    audio_segment: CutSegment
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
        description="How sure the service is that this is a real miscue: with the "
        "reading check (the default for Whisper), a probability calibrated on the "
        "benchmark's dev half from `evidence.log_likelihood_margin`; otherwise a "
        "heuristic from ASR word probabilities, the alignment and OCR confidence.",
    )
    evidence: MiscueEvidence | None = Field(
        None,
        description="Why the miscue was reported: the competing reading, the page's "
        "reading and the log-likelihood margin (nats) by which the audio favours the "
        "former, teacher-forced by the ASR model. Absent when the model cannot score "
        "readings.",
    )
    segment: int | None = Field(None, description="Index in `audio.segments` for `at_char`.")
    box: Rectangle | None = Field(
        None, description="Pixel bounds of the expected word(s) on the photo (image mode)."
    )
    boxes: list[Rectangle] | None = Field(
        None, description="Per-word pixel boxes of the expected word(s) (image mode)."
    )


class ReadingSummary(BaseModel):
    """How well the passage was read. Percentages 0-100, durations in seconds.

    ``wcpm`` is words correct per minute, ``words_correct / (reading_duration / 60)``:
    the oral reading fluency measure of Deno (1985) and of Hasbrouck & Tindal's norms.
    Insertions do not reduce the words correct, as in curriculum-based measurement.
    """

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


class AudioTextComparison(BaseModel):
    """An audio/text comparison: what was heard, the miscues, the scores."""

    audio: Transcript
    errors: list[MiscueReport]
    summary: ReadingSummary | None = None
    language: str | None = Field(
        None, description="ISO 639-1 code of the language the reading was checked in."
    )


class AudioImageComparison(BaseModel):
    """An audio/image comparison: the page as read by OCR (boxes in reading order,
    ``text`` the page's words joined by spaces), what was heard, the miscues and
    the scores."""

    image: ImageProcessingResult
    audio: Transcript
    errors: list[MiscueReport]
    summary: ReadingSummary | None = None
    language: str | None = Field(
        None, description="ISO 639-1 code of the language the reading was checked in."
    )


class FoundPhrase(BaseModel):
    """One phrase of a phrase extraction task, and where it was heard (if it was)."""

    audio_segment: CutSegment | None = None
    found: bool
    phrase: str


class PhraseExtraction(BaseModel):
    """A phrase extraction result: one entry per requested phrase, in order."""

    data: list[FoundPhrase]


#: Any task's result. An image processing result is the plugin's own type, its boxes
#: in reading order.
TaskResult = (
    Transcript | ImageProcessingResult | AudioTextComparison | AudioImageComparison
    | PhraseExtraction
)

#: The result type of each kind of task.
RESULT_TYPES: dict[TaskKind, type[BaseModel]] = {
    TaskKind.AUDIO_PROCESSING: Transcript,
    TaskKind.IMAGE_PROCESSING: ImageProcessingResult,
    TaskKind.AUDIO_TEXT_COMPARISON: AudioTextComparison,
    TaskKind.AUDIO_IMAGE_COMPARISON: AudioImageComparison,
    TaskKind.AUDIO_EXTRACTION: PhraseExtraction,
}

#: The spec's schema name of each result type (``/openapi.json`` uses these names).
SPEC_SCHEMA_NAMES: dict[str, str] = {
    "Word": "AudioWord",
    "CutSegment": "AudioChunk",
    "Transcript": "AudioProcessingResponse",
    "Point": "IPRPoint",
    "Rectangle": "IPRRectangle",
    "ImageTextBox": "IPRTextBox",
    "ImageProcessingResult": "ImageProcessingResponse",
    "MiscueReport": "TextDiff",
    "AudioTextComparison": "AudioTextComparisonResultsResponse",
    "AudioImageComparison": "AudioImageComparisonResultsResponse",
    "FoundPhrase": "AudioPhrase",
    "PhraseExtraction": "AudioExtractPhrasesResponse",
}
