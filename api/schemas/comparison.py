"""Schemas of ``/v1/comparison``: requests, and :mod:`core.results`' comparison
results under the spec's names.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MAX_ITEMS, BoundedText, ModelName
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


class AudioToImageComparisonRequest(BaseModel):
    audio_file: UUID
    image_file: UUID
    audio_model: ModelName
    image_model: ModelName
    language: str | None = Language


class AudioToTextComparisonRequest(BaseModel):
    audio_file: UUID
    text: list[BoundedText] = Field(max_length=MAX_ITEMS)
    audio_model: ModelName
    language: str | None = Language
