"""What each kind of task does, given a way to call models and a text matcher.

Ray-free: the Serve pipeline deployment passes a ``ModelGateway`` backed by model
host deployments and a ``TextMatcher`` backed by the matcher deployment; tests
pass plain objects. Results are the typed models of :mod:`core.results`. Times are
seconds, coordinates pixels, ``at_char`` a character offset into the text of ASR
segment ``segment`` (the original ``match_phrases`` semantics); comparisons are
scored word by word by :mod:`core.reading.assess`.

Each thing is computed once per task: the recording is decoded once (for its
duration and every cut), and an OCR result is put in reading order once
(:func:`core.page.words.read_page`), in this process rather than on a model replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from core.page.words import read_page
from core.plugins.languages import LanguageUnsupported, accept_detection
from core.plugins.types import (
    AudioChunk,
    ImageProcessingResult,
    ReadingVerification,
)
from core.reading.assess import RefWord, heard_words, reference_words
from core.reading.checked import apply_evidence, checked_heard
from core.results import (
    AudioImageComparison,
    AudioTextComparison,
    CutSegment,
    FoundPhrase,
    MiscueReport,
    PhraseExtraction,
    ReadingSummary,
    TaskResult,
    Transcript,
)
from core.stores.files import FileStore
from core.stores.tasks import Task, TaskKind
from core.tasks.consumer import TaskFailed
from core.tasks.gateways import ModelGateway, TextMatcher
from core.tasks.recording import (
    Recording,
    cut_audio,
    decode_options,
    discard_cuts,
    referenced_files,
)
from core.tasks.reports import miscue_report

__all__ = ["ModelGateway", "TaskRunner", "TextMatcher"]

logger = logging.getLogger(__name__)



#: Receives ``(task kind, stage, seconds)``; stages are ``asr``, ``ocr``, ``matching``.
StageObserver = Callable[[str, str, float], None]
#: Receives ``(task, {model name: its configuration})`` once a model served the task.
ModelRecorder = Callable[[Task, dict[str, Any]], Awaitable[None]]

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
        record_models: Called with the configuration of each model that served a
            task (the request archive's ``full_request``).
    """

    def __init__(
        self,
        files: FileStore,
        models: ModelGateway,
        matcher: TextMatcher,
        extraction_score_cutoff: float = 80.0,
        observe_stage: StageObserver | None = None,
        record_models: ModelRecorder | None = None,
    ) -> None:
        self._files = files
        self._models = models
        self._matcher = matcher
        self._cutoff = extraction_score_cutoff
        self._observe = observe_stage or (lambda kind, stage, seconds: None)
        self._record_models = record_models

    @contextlib.contextmanager
    def _stage(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._observe(_current_kind.get(), stage, time.perf_counter() - started)

    async def run(self, task: Task) -> TaskResult:
        """Dispatch on the task's kind; keep only the cut files the result names.

        Files cut by an earlier attempt of the task (one that failed, or whose worker
        died) are deleted before this attempt cuts its own, and cuts this attempt made
        that its result does not name (a concurrent stale attempt's) after it, so a
        retried task leaves no orphan files. A task that fails for good keeps none.

        Raises:
            TaskFailed: missing input file, unknown model, model error.
        """
        _current_kind.set(task.kind.value)  # this asyncio task's context only
        if task.attempts > 1:
            await discard_cuts(self._files, task.task_id)
        try:
            result = await self._run(task)
        except TaskFailed:
            await discard_cuts(self._files, task.task_id)
            raise
        await discard_cuts(self._files, task.task_id, keep=referenced_files(result))
        return result

    async def _served_by(self, task: Task, model: str) -> None:
        describe = getattr(self._models, "describe", None)
        if self._record_models is None or describe is None:
            return
        try:
            await self._record_models(task, {model: await describe(model)})
        except Exception:  # noqa: BLE001 - the archive's detail must not fail the task
            logger.warning("Recording the configuration of %r failed", model, exc_info=True)

    async def _run(self, task: Task) -> TaskResult:
        payload = task.payload
        if task.kind is TaskKind.AUDIO_PROCESSING:
            recording = await self._recording(task.owner, payload["audio_file"])
            audio, _, _ = await self._transcribe(task, recording, payload["audio_model"])
            return audio
        if task.kind is TaskKind.IMAGE_PROCESSING:
            image, _ = await self._image(task, payload["image_file"], payload["image_model"])
            return image
        if task.kind is TaskKind.AUDIO_TEXT_COMPARISON:
            reference = " ".join(payload["text"])
            recording = await self._recording(task.owner, payload["audio_file"])
            audio, checked, language = await self._transcribe(
                task, recording, payload["audio_model"], reference, payload
            )
            errors, summary = await self._assess(
                task, recording, audio, reference, reference_words(reference), checked,
                language,
            )
            return AudioTextComparison(
                audio=audio, errors=errors, summary=summary, language=language
            )
        if task.kind is TaskKind.AUDIO_IMAGE_COMPARISON:
            # OCR first: the page's text is the ASR's reference (a decoding prompt
            # for plugins that use one; see docs/accuracy.md for what it buys).
            image, (page_text, words) = await self._image(
                task, payload["image_file"], payload["image_model"]
            )
            recording = await self._recording(task.owner, payload["audio_file"])
            prompt = page_text or image.text
            audio, checked, language = await self._transcribe(
                task, recording, payload["audio_model"], prompt, payload
            )
            if words:  # the page's words joined by single spaces (hyphenations joined)
                image = ImageProcessingResult(text=page_text, boxes=image.boxes)
            else:  # a model that gives text but no boxes
                words = reference_words(image.text)
            if checked is not None and [w.text for w in words] != prompt.split():
                checked = None  # checked against other words than these: not applicable
            errors, summary = await self._assess(
                task, recording, audio, image.text, words, checked, language
            )
            return AudioImageComparison(
                image=image, audio=audio, errors=errors, summary=summary, language=language
            )
        if task.kind is TaskKind.AUDIO_EXTRACTION:
            return await self._extract(task)
        raise TaskFailed(f"Unknown task kind {task.kind}")

    async def _input(self, kind: str, owner: str, file_id: str) -> Path:
        path = await self._files.lookup(kind, owner, uuid.UUID(file_id))  # type: ignore[arg-type]
        if path is None:
            raise TaskFailed(f"No such {kind} file available")
        return path

    async def _recording(self, owner: str, file_id: str) -> Recording:
        return Recording(await self._input("audio", owner, file_id))

    async def _cut(
        self, task: Task, recording: Recording, intervals: list[tuple[float, float]]
    ) -> list[uuid.UUID]:
        """Cut and register one mp3 file per interval (seconds) of the recording, as
        the task's (so that a retry or a deletion finds them)."""
        if not intervals:
            return []
        audio = await recording.decoded()
        out_dir = self._files.directory("audio")
        ids = await asyncio.to_thread(cut_audio, audio, intervals, out_dir)
        try:
            await self._files.register("audio", task.owner, ids, task_id=task.task_id)
        except BaseException:
            for file_id in ids:  # not recorded: nothing else would ever delete them
                self._files.path("audio", file_id).unlink(missing_ok=True)
            raise
        return ids

    async def _transcribe(
        self,
        task: Task,
        recording: Recording,
        model: str,
        reference_text: str | None = None,
        comparison: dict[str, Any] | None = None,
    ) -> tuple[Transcript, ReadingVerification | None, str]:
        """Transcribe the recording and cut one downloadable file per segment.

        Args:
            comparison: A comparison task's payload: its ``language`` (settled by
                the API, :func:`core.plugins.languages.choose_language`) or, when
                that is ``None``, its ``candidate_languages`` for the detection.

        Returns:
            The transcript, the reading check of it against ``reference_text``
            when the model host ran one (``core.reading.verify``), and the language
            of the reading (ISO 639-1; ``"en"`` outside comparisons).

        Raises:
            TaskFailed: the language was to be detected and the detection is not
                unambiguous (:func:`core.plugins.languages.accept_detection`).
        """
        requested = task.payload.get("language")
        with self._stage("asr"):
            result = await self._models.transcribe(
                model, recording.path, reference_text, requested, decode_options(task.payload)
            )
        await self._served_by(task, model)
        language = requested or "en"
        # Tasks queued before languages existed have no candidates: English, as then.
        if comparison is not None and requested is None and "candidate_languages" in comparison:
            try:
                language = accept_detection(
                    result.language, result.language_probability,
                    comparison.get("candidate_languages"),
                )
            except LanguageUnsupported as error:
                raise TaskFailed(str(error)) from error
        segments = result.segments
        if not segments:
            # Nothing recognised: one empty segment spanning the recording keeps
            # omissions reportable (every error needs an audio segment).
            duration = (await recording.decoded()).duration_seconds
            segments = [AudioChunk(start=0.0, end=duration, text=result.text.strip())]
        files = await self._cut(task, recording, [(s.start, s.end) for s in segments])
        transcript = Transcript(
            text=result.text,
            language=result.language,
            ignored_options=result.ignored_options,
            segments=[
                CutSegment(start=s.start, end=s.end, text=s.text, words=s.words or None, file=f)
                for s, f in zip(segments, files, strict=True)
            ],
        )
        return transcript, result.verification, language

    async def _image(
        self, task: Task, file_id: str, model: str
    ) -> tuple[ImageProcessingResult, tuple[str, list[RefWord]]]:
        """OCR with the boxes put in reading order, and the page: its text (words
        joined by single spaces, hyphenations joined) and its words with their boxes."""
        path = await self._input("image", task.owner, file_id)
        with self._stage("ocr"):
            result = await self._models.recognise(model, path)
        await self._served_by(task, model)
        ordered, page = await asyncio.to_thread(read_page, result)
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
        return ordered, (page.text, words)

    async def _assess(
        self,
        task: Task,
        recording: Recording,
        audio: Transcript,
        reference_text: str,
        reference: list[RefWord],
        checked: ReadingVerification | None = None,
        language: str = "en",
    ) -> tuple[list[MiscueReport], ReadingSummary | None]:
        """Miscues (spec ``errors``, extended) and the ``summary`` of a reading.

        With the reading check's outcome (``checked``), the reading assessed is the
        one the audio supports (:func:`core.reading.checked.checked_heard`) and each
        miscue carries its evidence and calibrated probability. Each error gets its
        own cut ``audio_segment`` of just the words concerned (for an omission, the
        silence where they should have been).
        """
        heard = heard_words(audio.segments)
        duration = (await recording.decoded()).duration_seconds
        if checked is not None:
            heard = checked_heard(
                [w.text for w in reference], heard, checked, duration, language=language
            )
        with self._stage("matching"):
            assessed = await self._matcher.assess(
                reference_text,
                reference,
                heard,
                duration,
                [len(s.text) for s in audio.segments],
                language,
            )
        if checked is not None:
            apply_evidence(assessed.miscues, checked)
        files = await self._cut(task, recording, [(m.start, m.end) for m in assessed.miscues])
        errors = [miscue_report(m, f) for m, f in zip(assessed.miscues, files, strict=True)]
        return errors, assessed.summary

    async def _extract(self, task: Task) -> PhraseExtraction:
        """Find each phrase in the recording and cut it out (word timestamps if any)."""
        payload = task.payload
        recording = await self._recording(task.owner, payload["audio_file"])
        with self._stage("asr"):
            result = await self._models.transcribe(
                payload["audio_model"], recording.path, None, None, decode_options(payload)
            )
        await self._served_by(task, payload["audio_model"])
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
                indices = await self._matcher.find_phrases(
                    texts, phrase, 1.0, self._cutoff, result.language or "en"
                )
            found.append((phrase, indices))
        spans = [(units[ix[0]][1], units[ix[-1]][2]) for _, ix in found if ix]
        files = iter(await self._cut(task, recording, spans))
        data = []
        for phrase, indices in found:
            segment = None
            if indices:
                segment = CutSegment(
                    start=units[indices[0]][1],
                    end=units[indices[-1]][2],
                    text=" ".join(texts[i] for i in indices),
                    file=next(files),
                )
            data.append(FoundPhrase(audio_segment=segment, found=bool(indices), phrase=phrase))
        return PhraseExtraction(data=data)
