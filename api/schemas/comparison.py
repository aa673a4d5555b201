"""Schemas of ``/v1/comparison``: requests, and :mod:`core.results`' comparison
results under the spec's names.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MAX_ITEMS, BoundedText, ModelName
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


class AudioToImageComparisonRequest(BaseModel):
    audio_file: UUID
    image_file: UUID
    audio_model: ModelName
    image_model: ModelName


class AudioToTextComparisonRequest(BaseModel):
    audio_file: UUID
    text: list[BoundedText] = Field(max_length=MAX_ITEMS)
    audio_model: ModelName
