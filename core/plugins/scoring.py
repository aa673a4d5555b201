"""What an ASR plugin offers so that suspected miscues can be checked against the audio.

An ASR plugin may implement ``reading_scorer(filename) -> ReadingScorer``. The reading
check (:mod:`core.reading.verify`) then asks the model itself, teacher-forced over
the recording, how likely the page's reading is and how likely each competing reading
is, instead of trusting one decoded transcript. The bundled Whisper plugin implements
it (``plugins/whisper_plugin.py``); plugins without it are checked as before.

A *reading* is a list of words as printed, punctuation attached. Log-probabilities and
log-likelihoods are natural logs. Times are seconds from the start of the recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["ReadingScorer", "WindowScorer", "WordPrediction", "scoring_words"]


@dataclass(frozen=True)
class WordPrediction:
    """The decoder's view of one page word, teacher-forced over the page.

    Attributes:
        log_prob: Log-probability of the word's tokens given the page before it
            (``None`` when the model returned no distribution there).
        rank: Rank of the word's first token in the decoder's distribution
            (0: its top choice), or ``None``.
        alternatives: The likeliest first tokens that begin a word at that
            position, with their log-probabilities, most likely first.
    """

    log_prob: float | None
    rank: int | None
    alternatives: list[tuple[str, float]] = field(default_factory=list)


class WindowScorer(Protocol):
    """Scores on one window of audio (at most 30 s), encoded once."""

    def page(self, words: Sequence[str], top_k: int = 10) -> list[WordPrediction]:
        """The decoder's prediction at each word of the page (one entry per word)."""
        ...

    def first_token_log_probs(self, index: int, words: Sequence[str]) -> list[float | None]:
        """Log-probability of each word's first token in place of page word ``index``.

        Valid after ``page``; ``None`` where no distribution is known.
        """
        ...

    def log_likelihoods(
        self, readings: Sequence[Sequence[str]], from_word: Sequence[int]
    ) -> list[float]:
        """Log-likelihood of each reading's words from ``from_word[i]`` on, given
        the words before it and the audio."""
        ...


@runtime_checkable
class ReadingScorer(Protocol):
    """A recording, ready to be scored window by window.

    Attributes:
        duration: Length of the recording in seconds.
    """

    duration: float

    def window(self, start: float, end: float) -> WindowScorer:
        """The scorer of the audio from ``start`` to ``end`` seconds (at most 30 s)."""
        ...


#: Marks a reader does not say and Whisper does not write, dropped from the page's
#: words before they are scored against the audio: Arabic tashkeel, Quranic marks and
#: tatweel; Russian stress marks (Unicode charts: Arabic U+0600-06FF; U+0300/U+0301).
_UNWRITTEN = {
    "ar": dict.fromkeys(
        [*range(0x064B, 0x0660), 0x0670, 0x0640, *range(0x0610, 0x061B), *range(0x06D6, 0x06EE)]
    ),
    "ru": dict.fromkeys([0x0300, 0x0301]),
}


def scoring_words(reference_text: str, language: str) -> list[str]:
    """The page's words as the ASR model would write them, for teacher-forced scoring.

    One entry per whitespace-separated word (so edits' word indices still point at the
    page's words); a word that would be left empty is kept as printed.
    """
    table = _UNWRITTEN.get(language)
    words = reference_text.split()
    if table is None:
        return words
    return [word.translate(table) or word for word in words]
