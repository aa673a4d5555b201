"""LocalAgreement-2: which words of re-decoded, growing audio windows are stable.

The streaming policy of whisper_streaming (ufal/whisper_streaming, ``HypothesisBuffer``
in ``whisper_online.py``; D. Macháček, R. Dabre, O. Bojar, "Turning Whisper into
Real-Time Transcription System", IJCNLP-AACL 2023 demo). The audio buffer is decoded
again each time a little more audio has arrived; a word is *committed* (final) once
two consecutive hypotheses agree on it: the committed text grows by the longest
common prefix of the last two hypotheses after what is already committed.

Differences from the original, both deliberate:

* Words are compared by their spoken form (:func:`core.reading.normalize.spoken_form`,
  so "tree." equals "tree" and "Dog" equals "dog"), not by their exact text: Whisper
  often changes the punctuation or case of a word when the next one arrives, which
  the original treats as a disagreement and so delays the commit by one more decode.
* Times are absolute (seconds from the start of the stream) on entry: the caller adds
  the window's offset (:meth:`HypothesisBuffer.insert` takes absolute words).

Units: seconds everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.plugins.types import AudioProcessingResult
from core.reading.normalize import spoken_form

__all__ = ["HypothesisBuffer", "TimedWord", "timed_words", "word_key"]

#: A new hypothesis word starting this long before the last committed word's end is
#: taken as a re-decoding of committed audio and dropped (whisper_streaming: 0.1 s).
OVERLAP_TOLERANCE_S = 0.1
#: The committed tail and a new hypothesis are compared over n-grams of at most this
#: many words to drop words decoded again (whisper_streaming: 5).
MAX_DEDUP_NGRAM = 5
#: The n-gram de-duplication only applies when the new hypothesis starts within this
#: many seconds of the last committed word's end (whisper_streaming: 1 s).
DEDUP_WINDOW_S = 1.0


@dataclass(frozen=True)
class TimedWord:
    """A word of a hypothesis.

    Attributes:
        text: The word as the model wrote it, without surrounding whitespace.
        start: Start time, seconds from the start of the stream.
        end: End time, seconds from the start of the stream.
        probability: The model's word probability (0..1), when it gives one.
    """

    text: str
    start: float
    end: float
    probability: float | None = None


def word_key(text: str, language: str = "en") -> str:
    """The comparison key of a word: its spoken tokens joined by spaces, or the
    lower-cased text when it has none (punctuation only)."""
    tokens = spoken_form(text, language)
    return " ".join(tokens) if tokens else text.strip().lower()


def timed_words(result: AudioProcessingResult, offset: float) -> list[TimedWord]:
    """The words of a decoded window, with absolute times.

    Args:
        result: A model's result on the window; times in seconds from the window start.
        offset: Where the window starts in the stream, in seconds.

    Returns:
        The words in time order. Segments without per-word times are split at
        whitespace and their span shared out in proportion to the words' lengths.
    """
    words: list[TimedWord] = []
    for segment in result.segments:
        if segment.words:
            for word in segment.words:
                text = word.word.strip()
                if text:
                    words.append(
                        TimedWord(text, word.start + offset, word.end + offset, word.probability)
                    )
            continue
        tokens = segment.text.split()
        total = sum(len(t) for t in tokens) or 1
        span = max(segment.end - segment.start, 0.0)
        elapsed = 0
        for token in tokens:
            start = segment.start + span * elapsed / total
            elapsed += len(token)
            end = segment.start + span * elapsed / total
            words.append(TimedWord(token, start + offset, end + offset))
    return words


class HypothesisBuffer:
    """The words of the audio buffer: committed ones still in it, and the last
    unconfirmed hypothesis.

    Use: :meth:`insert` a new hypothesis of the whole audio buffer, then
    :meth:`flush` to get the words it commits; :meth:`complete` is the unconfirmed
    rest; :meth:`pop_committed` forgets committed words once their audio is cut from
    the buffer.

    Args:
        language: ISO 639-1 code, for the word comparison (:func:`word_key`).
    """

    def __init__(self, language: str = "en") -> None:
        self.language = language
        #: Committed words whose audio is still in the buffer.
        self.committed_in_buffer: list[TimedWord] = []
        #: The previous hypothesis, past the committed words.
        self.buffer: list[TimedWord] = []
        #: The new hypothesis, past the committed words (until :meth:`flush`).
        self.new: list[TimedWord] = []
        #: End of the last committed word, seconds (0 before any).
        self.last_committed_time = 0.0

    def _key(self, word: TimedWord) -> str:
        return word_key(word.text, self.language)

    def insert(self, words: Sequence[TimedWord]) -> None:
        """Take a new hypothesis of the buffer's audio (absolute times).

        Words starting before the last committed word's end (less
        ``OVERLAP_TOLERANCE_S``) are dropped; then, when the hypothesis starts right
        after the committed words, up to ``MAX_DEDUP_NGRAM`` of its first words that
        repeat the last committed ones are dropped too (whisper_streaming's rule).
        """
        self.new = [w for w in words if w.start > self.last_committed_time - OVERLAP_TOLERANCE_S]
        if not self.new or abs(self.new[0].start - self.last_committed_time) >= DEDUP_WINDOW_S:
            return
        committed = self.committed_in_buffer
        for n in range(1, min(len(committed), len(self.new), MAX_DEDUP_NGRAM) + 1):
            tail = [self._key(w) for w in committed[-n:]]
            head = [self._key(w) for w in self.new[:n]]
            if tail == head:
                del self.new[:n]
                break

    def flush(self) -> list[TimedWord]:
        """Commit the longest common prefix of the previous and the new hypothesis.

        Returns:
            The newly committed words (with the new hypothesis' times), in order;
            the new hypothesis' remaining words become the previous one.
        """
        commit: list[TimedWord] = []
        while self.new and self.buffer and self._key(self.new[0]) == self._key(self.buffer[0]):
            word = self.new.pop(0)
            self.buffer.pop(0)
            commit.append(word)
            self.last_committed_time = word.end
        self.buffer, self.new = self.new, []
        self.committed_in_buffer.extend(commit)
        return commit

    def complete(self) -> list[TimedWord]:
        """The unconfirmed words of the last hypothesis (after the committed ones)."""
        return list(self.buffer)

    def commit_all(self) -> list[TimedWord]:
        """Commit the unconfirmed words as they are (end of stream, or a forced trim).

        Returns:
            The words committed, in order.
        """
        commit, self.buffer = self.buffer, []
        if commit:
            self.last_committed_time = commit[-1].end
            self.committed_in_buffer.extend(commit)
        return commit

    def commit_until(self, time: float) -> list[TimedWord]:
        """Commit the unconfirmed words ending at or before ``time`` (seconds), as
        they are (a forced trim). Returns the words committed, in order."""
        count = 0
        while count < len(self.buffer) and self.buffer[count].end <= time:
            count += 1
        commit, self.buffer = self.buffer[:count], self.buffer[count:]
        if commit:
            self.last_committed_time = commit[-1].end
            self.committed_in_buffer.extend(commit)
        return commit

    def pop_committed(self, time: float) -> None:
        """Forget committed words ending at or before ``time`` (seconds): their audio
        was cut from the buffer."""
        while self.committed_in_buffer and self.committed_in_buffer[0].end <= time:
            self.committed_in_buffer.pop(0)
