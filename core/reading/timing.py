"""When each page word was read, and the 30-s windows a reading is checked in.

Times are seconds from the start of the recording. Word indices are indices into
the reference's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.reading.align import SUBSTITUTION, EditOp

__all__ = ["MAX_WINDOW_S", "HeardLike", "Window", "reading_windows", "word_times"]

#: Whisper's encoder sees 30 s at a time; a little is kept free at the end so a
#: word's tail is never cut.
MAX_WINDOW_S = 29.5
#: Audio kept before a window's first word, seconds (the decoder needs its onset).
LEAD_S = 0.3


class HeardLike(Protocol):
    """A transcript word: ``text``, ``start`` and ``end`` in seconds."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Window:
    """Reference words ``[first, stop)`` and the audio ``[start, end)`` (seconds) they are in."""

    first: int
    stop: int
    start: float
    end: float


def word_times(
    count: int,
    heard: Sequence[HeardLike],
    correct: Sequence[tuple[int, int, int]],
    ops: Sequence[EditOp],
    duration: float,
) -> list[tuple[float, float]]:
    """``(start, end)`` of each reference word, from the transcript's alignment.

    A word read as printed takes its heard words' times, a substituted one shares
    its heard words' span; a skipped word gets the gap between its neighbours.

    Args:
        count: Number of reference words.
        heard: Transcript words with times.
        correct: ``core.reading.align.correct_words`` of the two.
        ops: ``core.reading.align.miscue_ops`` of the two.
        duration: Length of the recording, seconds.
    """
    known: list[tuple[float, float] | None] = [None] * count
    for r, first, last in correct:
        known[r] = (heard[first].start, heard[last].end)
    for kind, rs, re_, hs, he in ops:
        if kind != SUBSTITUTION or he <= hs:
            continue
        t0, t1 = heard[hs].start, heard[he - 1].end
        step = (t1 - t0) / (re_ - rs)
        for k, r in enumerate(range(rs, re_)):
            known[r] = (t0 + k * step, t0 + (k + 1) * step)
    times: list[tuple[float, float]] = []
    previous_end = 0.0
    for r in range(count):
        if known[r] is not None:
            times.append(known[r])  # type: ignore[arg-type]
            previous_end = known[r][1]  # type: ignore[index]
            continue
        following = next((k[0] for k in known[r + 1 :] if k is not None), duration)
        times.append((previous_end, max(previous_end, following)))
    return times


def reading_windows(
    times: Sequence[tuple[float, float]],
    unbreakable: Sequence[tuple[int, int]],
    duration: float,
) -> list[Window]:
    """Cut a reading into windows of at most :data:`MAX_WINDOW_S` of audio.

    Windows break only between words and never inside an ``unbreakable`` span of
    reference words (a transcript miscue is checked as a whole).

    Returns:
        At least one window; the first starts at 0 s, the last ends at ``duration``.
    """
    count = len(times)
    if duration <= MAX_WINDOW_S or count == 0:
        return [Window(0, count, 0.0, max(duration, 0.0))]
    inside = set()
    for start, end in unbreakable:
        inside.update(range(start + 1, end))
    windows: list[Window] = []
    first, start = 0, 0.0
    while first < count:
        stop = first + 1
        while stop < count and times[stop][1] <= start + MAX_WINDOW_S:
            stop += 1
        while stop < count and stop in inside and stop > first + 1:
            stop -= 1
        end = duration if stop >= count else min(start + MAX_WINDOW_S, max(times[stop][0], start))
        windows.append(Window(first, stop, start, max(end, start + 0.1)))
        if stop < count:
            start = max(times[stop][0] - LEAD_S, 0.0)
        first = stop
    return windows
