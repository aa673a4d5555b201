"""A task's recording: decoded at most once, and cut into downloadable pieces.

Times are seconds from the start of the recording. The cuts a task makes are
recorded as its own (``FileStore.register(..., task_id=)``), so the ones its result
does not name (an earlier attempt's) can be deleted: :func:`discard_cuts`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydub import AudioSegment

from core.audio import load_audio, split_audio
from core.plugins.host import DECODE_OPTIONS
from core.stores.files import FileStore

__all__ = [
    "MIN_PIECE_S",
    "Recording",
    "cut_audio",
    "decode_options",
    "discard_cuts",
    "referenced_files",
]

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


def decode_options(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The decoding options (``core.plugins.host.DECODE_OPTIONS``) a task's payload
    sets, or ``None`` when it sets none."""
    options = {name: payload[name] for name in DECODE_OPTIONS if payload.get(name) is not None}
    return options or None


def referenced_files(result: BaseModel | dict[str, Any] | None) -> set[str]:
    """Ids of the files a task result names (every ``file`` field, at any depth)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "file" and isinstance(item, str | uuid.UUID):
                    found.add(str(item))
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(result.model_dump(mode="json") if isinstance(result, BaseModel) else result)
    return found


async def discard_cuts(
    files: FileStore, task_id: uuid.UUID | str, keep: Iterable[str] = ()
) -> int:
    """Delete the files a task cut that are not in ``keep`` (all of them by default).

    Returns:
        How many were deleted.

    Raises:
        StorageUnavailable: the object store is unreachable.
    """
    stale = await files.task_files(task_id) - set(keep)
    for file_id in stale:
        await files.delete(file_id)
    if stale:
        await files.forget_task_files(task_id, stale)
    return len(stale)
