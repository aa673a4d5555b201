"""What each kind of task does, given a way to call models and a text matcher.

Ray-free: the Serve pipeline deployment passes a ``ModelGateway`` backed by model
host deployments and a ``TextMatcher`` backed by the matcher deployment; tests
pass plain objects. Results are JSON-ready dicts in the shapes of the spec's
response schemas. Times are seconds, coordinates pixels, ``at_char`` a character
offset into the text of ASR segment ``segment`` (the original ``match_phrases``
semantics); comparisons are scored word by word by ``core.reading.assess``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from pydub import AudioSegment

from core.audio import load_audio, split_audio
from core.page.words import page_text
from core.plugins.types import (
    AudioChunk,
    AudioProcessingResult,
    ImageProcessingResult,
    Rectangle,
)
from core.reading.assess import Assessment, HeardWord, Miscue, RefWord, heard_words, reference_words
from core.stores.files import FileStore
from core.stores.tasks import Task, TaskKind
from core.tasks.consumer import TaskFailed

__all__ = ["ModelGateway", "TaskRunner", "TextMatcher"]

#: Shortest piece cut out of a recording, in seconds. Models may report zero-length
#: segments or words (start == end) or times past the end of the recording; their
#: pieces are widened to this length inside the recording so they can still be cut.
MIN_PIECE_S = 0.1


class ModelGateway(Protocol):
    """Runs a named model on a file. Raises ``TaskFailed`` for an unknown model.

    ``reference_text`` is the text the reader should be reading, for ASR plugins
    that can use it (see ``core.plugins.host.PluginRunner.run_file``).
    """

    async def transcribe(
        self, model: str, path: Path, reference_text: str | None = None
    ) -> AudioProcessingResult: ...

    async def recognise(self, model: str, path: Path) -> ImageProcessingResult: ...


class TextMatcher(Protocol):
    """The spec's text algorithms (``core.reading.text_diff``), possibly in another process."""

    async def find_phrases(
        self, phrases: list[str], to_find: str, margin: float, score_cutoff: float
    ) -> list[int]: ...

    async def assess(
        self,
        reference_text: str,
        reference: list[RefWord],
        heard: list[HeardWord],
        duration: float,
        segment_lengths: list[int],
    ) -> Assessment: ...


#: Receives ``(task kind, stage, seconds)``; stages are ``asr``, ``ocr``, ``matching``.
StageObserver = Callable[[str, str, float], None]

_current_kind: contextvars.ContextVar[str] = contextvars.ContextVar("task_kind", default="")


class TaskRunner:
    """Computes the result of a task.

    Args:
        files: File storage (reads inputs, stores cut audio segments).
        models: Model gateway.
        matcher: Text matcher.
        extraction_score_cutoff: Minimum ``rapidfuzz`` partial-ratio score (0-100)
            for a phrase to count as found in the recording.
        observe_stage: Called with ``(kind, stage, seconds)`` after each model or
            matcher call (metrics); stages ``asr``, ``ocr``, ``matching``.
    """

    def __init__(
        self,
        files: FileStore,
        models: ModelGateway,
        matcher: TextMatcher,
        extraction_score_cutoff: float = 80.0,
        observe_stage: StageObserver | None = None,
    ) -> None:
        self._files = files
        self._models = models
        self._matcher = matcher
        self._cutoff = extraction_score_cutoff
        self._observe = observe_stage or (lambda kind, stage, seconds: None)

    @contextlib.contextmanager
    def _stage(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._observe(_current_kind.get(), stage, time.perf_counter() - started)

    async def run(self, task: Task) -> dict[str, Any]:
        """Dispatch on the task's kind.

        Raises:
            TaskFailed: missing input file, unknown model, model error.
        """
        payload = task.payload
        _current_kind.set(task.kind.value)  # this asyncio task's context only
        if task.kind is TaskKind.AUDIO_PROCESSING:
            return await self._audio(task.owner, payload["audio_file"], payload["audio_model"])
        if task.kind is TaskKind.IMAGE_PROCESSING:
            return await self._image(task.owner, payload["image_file"], payload["image_model"])
        if task.kind is TaskKind.AUDIO_TEXT_COMPARISON:
            reference = " ".join(payload["text"])
            audio, path = await self._transcribe(
                task.owner, payload["audio_file"], payload["audio_model"], reference
            )
            assessed = await self._assess(
                task.owner, path, audio, reference, reference_words(reference)
            )
            return {"audio": audio, **assessed}
        if task.kind is TaskKind.AUDIO_IMAGE_COMPARISON:
            # OCR first: the page's text is the ASR's reference (a decoding prompt
            # for plugins that use one; see docs/accuracy.md for what it buys).
            image = await self._image(task.owner, payload["image_file"], payload["image_model"])
            page = page_text(ImageProcessingResult.model_validate(image).boxes)
            audio, path = await self._transcribe(
                task.owner,
                payload["audio_file"],
                payload["audio_model"],
                page.text or image["text"],
            )
            words = [
                RefWord(
                    text=w.text,
                    start=w.start,
                    end=w.end,
                    boxes=w.boxes,
                    ocr_confidence=w.confidence,
                    low_confidence=w.low_confidence,
                )
                for w in page.words
            ]
            if not words:  # a model that gives text but no boxes
                words = reference_words(image["text"])
            else:
                image = {**image, "text": page.text}
            assessed = await self._assess(task.owner, path, audio, image["text"], words)
            return {"image": image, "audio": audio, **assessed}
        if task.kind is TaskKind.AUDIO_EXTRACTION:
            return await self._extract(task.owner, payload)
        raise TaskFailed(f"Unknown task kind {task.kind}")

    async def _input(self, kind: str, owner: str, file_id: str) -> Path:
        path = await self._files.lookup(kind, owner, uuid.UUID(file_id))  # type: ignore[arg-type]
        if path is None:
            raise TaskFailed(f"No such {kind} file available")
        return path

    async def _cut(
        self,
        owner: str,
        path: Path,
        intervals: list[tuple[float, float]],
        audio: AudioSegment | None = None,
    ) -> list[str]:
        """Cut and register one file per interval; ``audio`` is ``path`` decoded, if at hand."""
        if not intervals:
            return []
        out_dir = self._files.directory("audio")
        ids = await asyncio.to_thread(_cut_audio, audio or path, intervals, out_dir)
        await self._files.register("audio", owner, ids)
        return [str(file_id) for file_id in ids]

    async def _audio(self, owner: str, file_id: str, model: str) -> dict[str, Any]:
        """Transcribe and cut one downloadable audio file per segment."""
        return (await self._transcribe(owner, file_id, model))[0]

    async def _transcribe(
        self, owner: str, file_id: str, model: str, reference_text: str | None = None
    ) -> tuple[dict[str, Any], Path]:
        """``_audio`` that also returns the recording's path."""
        path = await self._input("audio", owner, file_id)
        with self._stage("asr"):
            result = await self._models.transcribe(model, path, reference_text)
        segments = result.segments
        if not segments:
            # Nothing recognised: one empty segment spanning the recording keeps
            # omissions reportable (every error needs an audio segment).
            duration = len(await asyncio.to_thread(load_audio, path)) / 1000.0
            segments = [AudioChunk(start=0.0, end=duration, text=result.text.strip())]
        files = await self._cut(owner, path, [(s.start, s.end) for s in segments])
        chunks = [
            {
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "file": file,
                "words": [w.model_dump() for w in s.words] if s.words else None,
            }
            for s, file in zip(segments, files, strict=True)
        ]
        return {"text": result.text, "segments": chunks}, path

    async def _image(self, owner: str, file_id: str, model: str) -> dict[str, Any]:
        path = await self._input("image", owner, file_id)
        with self._stage("ocr"):
            result = await self._models.recognise(model, path)
        return result.model_dump()

    async def _assess(
        self,
        owner: str,
        path: Path,
        audio: dict[str, Any],
        reference_text: str,
        reference: list[RefWord],
    ) -> dict[str, Any]:
        """Miscues (spec ``errors``, extended) and the ``summary`` of a reading.

        Each error gets its own cut ``audio_segment`` of just the words concerned
        (for an omission, the silence where they should have been).
        """
        segments = [AudioChunk.model_validate(s) for s in audio["segments"]]
        heard = heard_words(segments)
        recording = await asyncio.to_thread(load_audio, path)  # decoded once: duration and cuts
        with self._stage("matching"):
            assessed = await self._matcher.assess(
                reference_text,
                reference,
                heard,
                recording.duration_seconds,
                [len(s.text) for s in segments],
            )
        intervals = [(m.start, m.end) for m in assessed.miscues]
        files = await self._cut(owner, path, intervals, recording)
        summary = dataclasses.asdict(assessed.summary) if assessed.summary else None
        return {
            "errors": [_error(m, f) for m, f in zip(assessed.miscues, files, strict=True)],
            "summary": summary,
        }

    async def _extract(self, owner: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Find each phrase in the recording and cut it out (word timestamps if any)."""
        path = await self._input("audio", owner, payload["audio_file"])
        with self._stage("asr"):
            result = await self._models.transcribe(payload["audio_model"], path)
        units = [
            (word.word, word.start, word.end)
            for segment in result.segments
            for word in (segment.words or [])
        ] or [(s.text, s.start, s.end) for s in result.segments]
        texts = [text for text, _, _ in units]
        found: list[tuple[str, list[int]]] = []
        for phrase in payload["phrases"]:
            # margin 1.0: with one word per unit, widening would pull in neighbours.
            with self._stage("matching"):
                indices = await self._matcher.find_phrases(texts, phrase, 1.0, self._cutoff)
            found.append((phrase, indices))
        spans = [(units[ix[0]][1], units[ix[-1]][2]) for _, ix in found if ix]
        files = iter(await self._cut(owner, path, spans))
        data = []
        for phrase, indices in found:
            segment = None
            if indices:
                segment = {
                    "start": units[indices[0]][1],
                    "end": units[indices[-1]][2],
                    "text": " ".join(texts[i] for i in indices),
                    "file": next(files),
                }
            data.append({"audio_segment": segment, "found": bool(indices), "phrase": phrase})
        return {"data": data}


def _error(miscue: Miscue, file: str) -> dict[str, Any]:
    """A miscue as an entry of the result's ``errors`` (``TextDiff``, extended)."""
    box = None
    if miscue.boxes:
        bounds = [b.bounds() for b in miscue.boxes]
        box = Rectangle.from_bounds(
            min(b[0] for b in bounds),
            min(b[1] for b in bounds),
            max(b[2] for b in bounds),
            max(b[3] for b in bounds),
        ).model_dump()
    return {
        "audio_segment": {
            "start": miscue.start,
            "end": miscue.end,
            "text": miscue.found,
            "file": file,
        },
        "at_char": miscue.at_char,
        "found": miscue.found,
        "expected": miscue.expected,
        "type": miscue.type,
        "ref_char": miscue.ref_char,
        "start": miscue.start,
        "end": miscue.end,
        "confidence": miscue.confidence,
        "segment": miscue.segment,
        "box": box,
        "boxes": [b.model_dump() for b in miscue.boxes],
    }


def _cut_audio(
    source: Path | AudioSegment, intervals: list[tuple[float, float]], out_dir: Path
) -> list[uuid.UUID]:
    """``split_audio`` after making model times cuttable (see ``MIN_PIECE_S``)."""
    audio = source if isinstance(source, AudioSegment) else load_audio(source)
    duration = audio.duration_seconds
    cuttable = []
    for start, end in intervals:
        start = min(max(start, 0.0), max(duration - MIN_PIECE_S, 0.0))
        cuttable.append((start, min(max(end, start + MIN_PIECE_S), duration)))
    return split_audio(audio, cuttable, out_dir)
