"""Schemas of ``/v1/audio``: processing and phrase extraction.

The results are :mod:`core.results`' types under the spec's names; times in seconds.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.common import MAX_ITEMS, BoundedText, ModelName
from core.plugins.types import Word
from core.results import CutSegment, FoundPhrase, PhraseExtraction, Transcript

__all__ = [
    "AudioChunk",
    "AudioExtractPhrasesRequest",
    "AudioExtractPhrasesResponse",
    "AudioPhrase",
    "AudioProcessingRequest",
    "AudioProcessingResponse",
    "AudioWord",
]

AudioWord = Word
AudioChunk = CutSegment
AudioProcessingResponse = Transcript
AudioPhrase = FoundPhrase
AudioExtractPhrasesResponse = PhraseExtraction


class AudioProcessingRequest(BaseModel):
    audio_file: UUID
    audio_model: ModelName


class AudioExtractPhrasesRequest(BaseModel):
    audio_file: UUID
    audio_model: ModelName
    phrases: list[BoundedText] = Field(max_length=MAX_ITEMS)
