"""Schemas of ``/v1/audio``: processing and phrase extraction.

The results are :mod:`core.results`' types under the spec's names; times in seconds.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from api.schemas.common import MAX_ITEMS, BoundedText, HotWords, ModelName, TaskOptions
from core.plugins.languages import LANGUAGE_PATTERN
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


class AudioProcessingRequest(TaskOptions):
    audio_file: UUID | None = None
    audio_model: ModelName
    language: str | None = Field(
        None, pattern=LANGUAGE_PATTERN,
        description="ISO 639-1 code of the speech; default: the model's (or detection).",
    )
    hot_words: HotWords | None = None


class AudioExtractPhrasesRequest(TaskOptions):
    audio_file: UUID | None = None
    audio_model: ModelName
    phrases: list[BoundedText] = Field(max_length=MAX_ITEMS)
    hot_words: HotWords | None = None
