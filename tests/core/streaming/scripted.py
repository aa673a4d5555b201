"""A fake transcriber for streaming tests: a script of words with their times.

``ScriptedSpeech`` answers a decode of a window with the script's words inside it,
times relative to the window start, as a model would. A word still being spoken at
the window's end comes out garbled (its text cut), as Whisper's last word often is,
so LocalAgreement has something to disagree on. Every window it was given is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.plugins.types import AudioChunk, AudioProcessingResult, Word
from core.streaming import SAMPLE_RATE, Window


def script_of(text: str, start: float = 0.3, word_s: float = 0.4, gap_s: float = 0.1):
    """Words of ``text`` spoken one after another: ``[(word, start, end)]`` seconds."""
    words, t = [], start
    for token in text.split():
        words.append((token, round(t, 3), round(t + word_s, 3)))
        t += word_s + gap_s
    return words


@dataclass
class ScriptedSpeech:
    script: list[tuple[str, float, float]]
    windows: list[Window] = field(default_factory=list)
    #: Words per Whisper segment in the answers (segment ends are trim points).
    segment_words: int = 4

    async def __call__(self, window: Window) -> AudioProcessingResult:
        self.windows.append(window)
        begin = window.start
        end = begin + len(window.samples) / SAMPLE_RATE
        words = []
        for text, start, stop in self.script:
            if start < begin - 0.05 or start >= end:
                continue
            if stop > end:  # still being spoken: a cut, unstable word
                text = text[: max(1, len(text) // 2)]
                stop = end
            words.append(Word(word=" " + text, start=start - begin, end=stop - begin))
        segments = [
            AudioChunk(
                start=chunk[0].start,
                end=chunk[-1].end,
                text=" ".join(w.word.strip() for w in chunk),
                words=chunk,
            )
            for chunk in (
                words[i : i + self.segment_words] for i in range(0, len(words), self.segment_words)
            )
        ]
        return AudioProcessingResult(text=" ".join(s.text for s in segments), segments=segments)


def silence(seconds: float) -> np.ndarray:
    """Float32 silence, 16 kHz."""
    return np.zeros(int(round(seconds * SAMPLE_RATE)), np.float32)
