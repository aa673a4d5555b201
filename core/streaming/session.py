"""One live transcription stream: when to decode again, what to emit, how to trim.

whisper_streaming's ``OnlineASRProcessor`` (ufal/whisper_streaming, Macháček et al.
2023, "Turning Whisper into Real-Time Transcription System"), asynchronous:

1. Audio (16 kHz mono float32) is appended to a buffer (:meth:`StreamSession.feed`).
2. Once at least ``min_chunk_s`` of new audio has arrived (:meth:`StreamSession.ready`),
   the whole buffer is decoded again (:meth:`StreamSession.step`), prompted with the
   last ``prompt_chars`` characters of committed text whose audio was already cut from
   the buffer (text still in the buffer is not used: Whisper would skip it).
3. LocalAgreement-2 (:class:`core.streaming.policy.HypothesisBuffer`) commits the
   longest common prefix of the last two hypotheses; the rest is the tentative tail.
4. When the buffer is longer than ``buffer_trim_s``, it is cut at the end of the last
   Whisper segment that ends within the committed words, else at the last committed
   word's end (whisper_streaming's "segment" trimming and its word fallback). With no
   word heard at all, only the last ``SILENCE_KEEP_S`` are kept. The buffer never
   holds more than ``max_window_s`` (Whisper reads 30 s; audio fed faster waits for
   the next decodes); when nothing is committed at that length, the tentative words
   ending ``min_chunk_s`` before its end are committed as they are (all, if none) and
   the buffer is cut after them. So decoding cost stays bounded.

What is emitted (:class:`Partial`): each decode that commits words emits them as one
*segment*, ``final=True``, with the next ``segment_id``; segments are never changed
afterwards. The tentative tail is emitted as ``final=False`` under the id the next
final segment will take; each such partial replaces the previous tentative one (an
empty text clears it). With a reference text, the miscues the new words settle
(:class:`core.streaming.reading.IncrementalReadingCheck`) follow.

Units: seconds (times, durations) from the start of the stream; samples at 16 kHz.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.plugins.types import AudioProcessingResult
from core.reading.assess import Miscue
from core.results import ReadingSummary
from core.streaming.decode import SAMPLE_RATE
from core.streaming.policy import HypothesisBuffer, TimedWord, timed_words
from core.streaming.reading import IncrementalReadingCheck

__all__ = ["Partial", "StreamConfig", "StreamEnd", "StreamSession", "Transcribe", "Window"]

#: Audio kept when a buffer past ``buffer_trim_s`` holds no word at all, in seconds:
#: a word may be starting at its end.
SILENCE_KEEP_S = 2.0


@dataclass(frozen=True)
class StreamConfig:
    """The streaming policy's parameters (seconds).

    Attributes:
        min_chunk_s: New audio needed before decoding again (whisper_streaming's
            ``--min-chunk-size``, default 1.0 s).
        buffer_trim_s: Buffer length past which it is trimmed at committed words
            (whisper_streaming's ``--buffer_trimming_sec``, default 15 s).
        max_window_s: Longest buffer ever decoded; past it the tentative words are
            committed and the buffer cut (below Whisper's 30-s window).
        max_duration_s: Longest stream; audio past it is dropped
            (:attr:`StreamSession.full`).
        prompt_chars: Characters of committed text used as the decoding prompt
            (whisper_streaming: 200).
    """

    min_chunk_s: float = 1.0
    buffer_trim_s: float = 15.0
    max_window_s: float = 28.0
    max_duration_s: float = 600.0
    prompt_chars: int = 200


@dataclass(frozen=True)
class Window:
    """What one decode gets.

    Attributes:
        samples: The audio buffer, float32 in [-1, 1], 16 kHz mono, shape ``(n,)``.
        start: Where the buffer starts in the stream, seconds.
        prompt: Committed text before the buffer, or None.
    """

    samples: np.ndarray
    start: float
    prompt: str | None


#: Decodes a window; word times in the result are seconds from the window's start.
Transcribe = Callable[[Window], Awaitable[AudioProcessingResult]]


@dataclass(frozen=True)
class Partial:
    """A transcription result (the ``partial`` message).

    Attributes:
        segment_id: See the module docstring; increases by one per final segment.
        text: The words joined by spaces ("" clears the tentative text).
        start, end: Seconds from the start of the stream (the first word's start, the
            last one's end; for an empty text both are the last committed end).
        final: Committed (never changes) or tentative (replaced by the next partial).
        words: The words with their times.
    """

    segment_id: int
    text: str
    start: float
    end: float
    final: bool
    words: tuple[TimedWord, ...] = ()


@dataclass(frozen=True)
class StreamEnd:
    """The outcome of :meth:`StreamSession.finish` beyond the events.

    Attributes:
        text: The whole committed transcript.
        duration: Seconds of audio received (and kept).
        summary: The reading's summary, with a reference text.
    """

    text: str
    duration: float
    summary: ReadingSummary | None


Event = Partial | Miscue


class StreamSession:
    """One stream's audio buffer, hypotheses and emitted results.

    Args:
        transcribe: Decodes a :class:`Window` (the model call).
        config: The policy's parameters.
        language: ISO 639-1 code for word comparison and the reading check ("en").
        reference_text: The page being read, for the reading check; None for none.
    """

    def __init__(
        self,
        transcribe: Transcribe,
        config: StreamConfig | None = None,
        language: str = "en",
        reference_text: str | None = None,
    ) -> None:
        self.config = config or StreamConfig()
        self._transcribe = transcribe
        self._hypothesis = HypothesisBuffer(language)
        self.reading = IncrementalReadingCheck(reference_text, language) if reference_text else None
        self._audio = np.zeros(0, np.float32)  # the buffer (consolidated)
        self._pending: list[np.ndarray] = []  # fed since the last consolidation
        self._offset = 0  # samples cut from the front of the buffer
        self._received = 0  # samples received in all
        self._decoded = 0  # samples of the stream up to the end of the last decoded buffer
        self._lock = asyncio.Lock()
        self._next_id = 0
        self._tail_sent: tuple[str, float] | None = None
        #: Every committed word, absolute times.
        self.committed: list[TimedWord] = []
        #: Decodes run and their total time in seconds (for the real-time factor).
        self.decodes = 0
        self.decode_seconds = 0.0
        #: True once ``max_duration_s`` of audio arrived (later audio is dropped).
        self.full = False

    @property
    def duration(self) -> float:
        """Seconds of audio received."""
        return self._received / SAMPLE_RATE

    def feed(self, samples: np.ndarray) -> None:
        """Append audio (float32, 16 kHz mono, shape ``(n,)``); past ``max_duration_s``
        the rest is dropped and :attr:`full` set."""
        room = int(self.config.max_duration_s * SAMPLE_RATE) - self._received
        if len(samples) > room:
            samples, self.full = samples[: max(room, 0)], True
        if len(samples):
            self._pending.append(np.asarray(samples, np.float32))
            self._received += len(samples)

    def ready(self) -> bool:
        """Whether ``min_chunk_s`` of audio arrived past the last decoded buffer."""
        return self._received - self._decoded >= self.config.min_chunk_s * SAMPLE_RATE

    async def step(self) -> list[Event]:
        """Decode the buffer once and return what to emit: a final partial (words
        newly committed), a tentative partial (when it changed), new miscues.

        Raises:
            Whatever ``transcribe`` raises (the session stays usable).
        """
        async with self._lock:
            result = await self._decode()
            if result is None:
                return []
            committed = self._hypothesis.flush()
            events = self._emit(committed)
            events += self._trim(result)
            return events

    async def finish(self) -> tuple[list[Event], StreamEnd]:
        """End the stream: decode the audio not decoded yet, commit every word.

        Returns:
            The last events (final partial, cleared tentative text, remaining
            miscues) and the :class:`StreamEnd`.
        """
        async with self._lock:
            events: list[Event] = []
            while self._received > self._decoded:  # a backlog: one window at a time
                progress = (self._offset, self._decoded)
                result = await self._decode()
                if result is None:
                    break
                events += self._emit(self._hypothesis.flush())
                events += self._trim(result)
                if (self._offset, self._decoded) == progress:
                    break
            events += self._emit(self._hypothesis.commit_all())
            summary = None
            if self.reading is not None:
                miscues, summary = self.reading.finish(self.committed, self.duration)
                events += miscues
            text = " ".join(w.text for w in self.committed)
            return events, StreamEnd(text=text, duration=self.duration, summary=summary)

    async def _decode(self) -> AudioProcessingResult | None:
        """Run the model on the whole buffer and insert its hypothesis."""
        self._consolidate()
        if not len(self._audio):
            return None
        start = self._offset / SAMPLE_RATE
        loop = asyncio.get_running_loop()
        began = loop.time()
        result = await self._transcribe(Window(self._audio, start, self._prompt()))
        self.decodes += 1
        self.decode_seconds += loop.time() - began
        self._hypothesis.insert(timed_words(result, start))
        return result

    def _consolidate(self) -> None:
        """Move fed audio into the buffer, up to ``max_window_s`` in all (a client
        sending faster than real time leaves the rest for the next decodes)."""
        room = int(self.config.max_window_s * SAMPLE_RATE) - len(self._audio)
        taken: list[np.ndarray] = []
        while self._pending and room > 0:
            chunk = self._pending.pop(0)
            if len(chunk) > room:
                chunk, rest = chunk[:room], chunk[room:]
                self._pending.insert(0, rest)
            taken.append(chunk)
            room -= len(chunk)
        if taken:
            self._audio = np.concatenate([self._audio, *taken])
        self._decoded = self._offset + len(self._audio)

    def _prompt(self) -> str | None:
        """The last ``prompt_chars`` characters of committed words before the buffer."""
        start = self._offset / SAMPLE_RATE
        words: list[str] = []
        size = 0
        for word in reversed(self.committed):
            if word.end > start:
                continue
            if size >= self.config.prompt_chars:
                break
            words.append(word.text)
            size += len(word.text) + 1
        return " ".join(reversed(words)) or None

    def _emit(self, committed: Sequence[TimedWord]) -> list[Event]:
        events: list[Event] = []
        if committed:
            self.committed.extend(committed)
            events.append(_partial(self._next_id, committed, True))
            self._next_id += 1
            if self.reading is not None:
                events.extend(self.reading.update(self.committed))
        tail = self._hypothesis.complete()
        key = (" ".join(w.text for w in tail), tail[0].start if tail else 0.0)
        if tail or (self._tail_sent is not None and self._tail_sent[0]):
            if key != self._tail_sent:
                if tail:
                    events.append(_partial(self._next_id, tail, False))
                else:
                    at = self.committed[-1].end if self.committed else 0.0
                    events.append(Partial(self._next_id, "", at, at, False))
                self._tail_sent = key
        return events

    def _trim(self, result: AudioProcessingResult) -> list[Event]:
        """Cut the buffer's front when it is too long (see the module docstring)."""
        length = len(self._audio) / SAMPLE_RATE
        start = self._offset / SAMPLE_RATE
        end = start + length
        if length <= self.config.buffer_trim_s:
            return []
        events: list[Event] = []
        last = self._hypothesis.last_committed_time
        if self._hypothesis.committed_in_buffer and last > start:
            ends = [s.end + start for s in result.segments[:-1]]
            inside = [e for e in ends if start < e <= last]
            self._cut(max(inside) if inside else last)
        elif not self._hypothesis.complete():
            self._cut(end - SILENCE_KEEP_S)  # nothing heard: silence or noise
        elif length >= self.config.max_window_s - 1e-6:
            # Words ending a min_chunk_s before the window's end are whole; a word cut
            # by the window's end waits for the next window.
            safe = end - self.config.min_chunk_s
            forced = self._hypothesis.commit_until(safe) or self._hypothesis.commit_all()
            events = self._emit(forced)
            self._cut(forced[-1].end)
        return events

    def _cut(self, time: float) -> None:
        """Drop the buffer's audio before ``time`` (seconds from the stream start)."""
        cut = int(round((time - self._offset / SAMPLE_RATE) * SAMPLE_RATE))
        cut = min(max(cut, 0), len(self._audio))
        self._audio = self._audio[cut:]
        self._offset += cut
        self._hypothesis.pop_committed(self._offset / SAMPLE_RATE)


def _partial(segment_id: int, words: Sequence[TimedWord], final: bool) -> Partial:
    return Partial(
        segment_id=segment_id,
        text=" ".join(w.text for w in words),
        start=words[0].start,
        end=words[-1].end,
        final=final,
        words=tuple(words),
    )
