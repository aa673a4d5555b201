"""A task's recording: decoded at most once, and cut into downloadable pieces.

Times are seconds from the start of the recording.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from pydub import AudioSegment

from core.audio import load_audio, split_audio

__all__ = ["MIN_PIECE_S", "Recording", "cut_audio"]

#: Shortest piece cut out of a recording, in seconds. Models may report zero-length
#: segments or words (start == end) or times past the end of the recording; their
#: pieces are widened to this length inside the recording so they can still be cut.
MIN_PIECE_S = 0.1


class Recording:
    """A task's recording, decoded (ffmpeg, through pydub) at most once, when first needed.

    Args:
        path: The stored upload (mp3).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._decoded: AudioSegment | None = None

    async def decoded(self) -> AudioSegment:
        """The decoded recording (a task's steps run one after another, so no lock)."""
        if self._decoded is None:
            self._decoded = await asyncio.to_thread(load_audio, self.path)
        return self._decoded


def cut_audio(
    audio: AudioSegment, intervals: list[tuple[float, float]], out_dir: Path
) -> list[uuid.UUID]:
    """``split_audio`` after making model times cuttable (see ``MIN_PIECE_S``)."""
    duration = audio.duration_seconds
    cuttable = []
    for start, end in intervals:
        start = min(max(start, 0.0), max(duration - MIN_PIECE_S, 0.0))
        cuttable.append((start, min(max(end, start + MIN_PIECE_S), duration)))
    return split_audio(audio, cuttable, out_dir)
