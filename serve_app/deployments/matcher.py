"""The text matcher deployment: reading assessment and phrase search behind a handle."""

from __future__ import annotations

from ray import serve

from core.reading.assess import Assessment, HeardWord, RefWord, assess
from core.reading.text_diff import find_phrases

__all__ = ["Matcher"]


@serve.deployment(ray_actor_options={"num_cpus": 0.1})
class Matcher:
    """Aligns what was read with what is written (``core.reading``: assess, text_diff)."""

    def find_phrases(
        self, phrases: list[str], to_find: str, margin: float, score_cutoff: float,
        language: str = "en",
    ) -> list[int]:
        """Indices of the phrases where ``to_find`` appears (fuzzy)."""
        return find_phrases(
            phrases, to_find, margin=margin, score_cutoff=score_cutoff, language=language
        )

    def assess(
        self,
        reference_text: str,
        reference: list[RefWord],
        heard: list[HeardWord],
        duration: float,
        segment_lengths: list[int],
        language: str = "en",
    ) -> Assessment:
        """Word-level miscues and the reading's summary (``core.reading.assess.assess``,
        normalising words by ``language``'s rules, ISO 639-1)."""
        return assess(
            reference_text, reference, heard, duration, segment_lengths, language=language
        )
