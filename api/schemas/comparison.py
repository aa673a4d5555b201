"""Schemas of ``/v1/comparison``: requests, and :mod:`core.results`' comparison
results under the spec's names.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from api.schemas.common import MAX_ITEMS, BoundedText, HotWords, ModelName, TaskOptions
from core.plugins.languages import LANGUAGE_PATTERN
from core.results import (
    AudioImageComparison,
    AudioTextComparison,
    MiscueReport,
    MiscueType,
    ReadingSummary,
)

__all__ = [
    "AudioImageComparisonResultsResponse",
    "AudioTextComparisonResultsResponse",
    "AudioToImageComparisonRequest",
    "AudioToTextComparisonRequest",
    "MiscueType",
    "ReadingSummary",
    "TextDiff",
]

TextDiff = MiscueReport
AudioImageComparisonResultsResponse = AudioImageComparison
AudioTextComparisonResultsResponse = AudioTextComparison


#: The optional ``language`` of a comparison (ISO 639-1).
Language = Field(
    None,
    pattern=LANGUAGE_PATTERN,
    description="ISO 639-1 code of the page's language, e.g. `en`, `ru`, `ar`. Optional: by "
    "default, the one language the task's models share, else Whisper's language detection "
    "when it is unambiguous. 422 when a model of the task cannot read it.",
    examples=["ru"],
)


class AudioToImageComparisonRequest(TaskOptions):
    audio_file: UUID | None = None
    image_file: UUID | None = None
    audio_model: ModelName
    image_model: ModelName
    language: str | None = Language
    hot_words: HotWords | None = None


class AudioToTextComparisonRequest(TaskOptions):
    audio_file: UUID | None = None
    text: list[BoundedText] = Field(max_length=MAX_ITEMS)
    audio_model: ModelName
    language: str | None = Language
    hot_words: HotWords | None = None
