"""Unit tests for core.tasks.runner.TaskRunner: a real FileStore, fake models and matcher."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from pathlib import Path

import pytest

from core.audio import load_audio
from core.plugins.types import (
    AudioChunk,
    AudioProcessingResult,
    ImageProcessingResult,
    ImageTextBox,
    Rectangle,
    Word,
)
from core.reading import assess as assessment
from core.reading import text_diff as text
from core.results import RESULT_TYPES
from core.stores.files import FileStore
from core.stores.tasks import Task, TaskKind, TaskStatus
from core.tasks.consumer import TaskFailed
from core.tasks.runner import TaskRunner


async def stored(runner: TaskRunner, task: Task) -> dict:
    """Run a task and give its result as the task store keeps it (JSON data)."""
    result = await runner.run(task)
    assert isinstance(result, RESULT_TYPES[task.kind])  # one typed model per kind
    return json.loads(result.model_dump_json())

SAMPLE_DURATION_S = 1.776
REFERENCE = "Every path is the wrong path."

WORDS = [
    Word(word="Every", start=0.0, end=0.3),
    Word(word="path", start=0.3, end=0.6),
    Word(word="is", start=0.6, end=0.75),
    Word(word="the", start=0.75, end=0.9),
    Word(word="wrong", start=0.9, end=1.2),
    Word(word="path.", start=1.2, end=1.6),
]


def make_task(kind: TaskKind, payload: dict, owner: str = "alice") -> Task:
    now = time.time()
    return Task(
        task_id=uuid.uuid4(),
        kind=kind,
        owner=owner,
        status=TaskStatus.IN_PROGRESS,
        payload=payload,
        error=None,
        attempts=1,
        created=now,
        updated=now,
    )


def ocr_result(page: str = REFERENCE) -> ImageProcessingResult:
    box = ImageTextBox(text=page, coordinates=Rectangle.from_bounds(10, 20, 300, 60))
    return ImageProcessingResult(text=page, boxes=[box])


class FakeModels:
    """A ModelGateway returning canned results and recording its calls."""

    def __init__(
        self,
        asr: AudioProcessingResult | None = None,
        ocr: ImageProcessingResult | None = None,
    ) -> None:
        self.asr = asr or AudioProcessingResult(text="", segments=[])
        self.ocr = ocr or ocr_result()
        self.calls: list[tuple[str, str, Path]] = []

    async def transcribe(
        self, model: str, path: Path, reference_text: str | None = None,
        language: str | None = None, options: dict | None = None,
    ) -> AudioProcessingResult:
        self.calls.append(("transcribe", model, path))
        self.reference_text = reference_text
        self.language = language
        self.options = options
        return self.asr

    async def recognise(self, model: str, path: Path) -> ImageProcessingResult:
        self.calls.append(("recognise", model, path))
        return self.ocr


class DirectMatcher:
    """The TextMatcher protocol served by core.reading.text_diff in-process."""

    async def find_phrases(self, phrases, to_find, margin, score_cutoff, language="en"):
        return text.find_phrases(phrases, to_find, margin, score_cutoff, language)

    language: str | None = None

    async def assess(self, reference_text, reference, heard, duration, segment_lengths,
                     language="en"):
        self.language = language
        return assessment.assess(
            reference_text, reference, heard, duration, segment_lengths, language=language
        )


async def add_file(store: FileStore, kind, owner: str, source: Path) -> str:
    """Put a copy of ``source`` in the store for ``owner`` (bytes first, then record)."""
    file_id = uuid.uuid4()
    shutil.copyfile(source, store.path(kind, file_id))
    await store.register(kind, owner, [file_id])
    return str(file_id)


async def assert_cut(store: FileStore, owner: str, segment: dict) -> None:
    """``segment["file"]`` is a registered mp3 of ``owner`` lasting end - start."""
    path = await store.lookup("audio", owner, uuid.UUID(segment["file"]))
    assert path is not None
    duration = load_audio(path).duration_seconds
    expected = min(segment["end"], SAMPLE_DURATION_S) - segment["start"]
    assert duration == pytest.approx(expected, abs=0.06)


def test_audio_processing_cuts_one_file_per_segment(connect, prefix, tmp_path, sample_audio):
    asr = AudioProcessingResult(
        text="Every path is the wrong path.",
        segments=[
            AudioChunk(start=0.0, end=0.75, text="Every path is", words=WORDS[:3]),
            AudioChunk(start=0.75, end=1.6, text="the wrong path."),
        ],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            models = FakeModels(asr=asr)
            runner = TaskRunner(store, models, DirectMatcher())
            task = make_task(
                TaskKind.AUDIO_PROCESSING, {"audio_file": audio_id, "audio_model": "whisper"}
            )
            result = await stored(runner, task)

            assert models.calls == [("transcribe", "whisper", store.path("audio", audio_id))]
            assert result["text"] == asr.text
            segments = result["segments"]
            assert [(s["start"], s["end"], s["text"]) for s in segments] == [
                (0.0, 0.75, "Every path is"),
                (0.75, 1.6, "the wrong path."),
            ]
            assert segments[0]["words"] == [w.model_dump() for w in WORDS[:3]]
            assert segments[1]["words"] is None
            assert len({s["file"] for s in segments} | {audio_id}) == 3
            for segment in segments:
                await assert_cut(store, "alice", segment)
                assert await store.lookup("audio", "bob", uuid.UUID(segment["file"])) is None
            assert len(list((tmp_path / "audio").iterdir())) == 3

    asyncio.run(scenario())


def test_image_processing_returns_the_ocr_result(connect, prefix, tmp_path, sample_image):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            image_id = await add_file(store, "image", "alice", sample_image)
            models = FakeModels()
            runner = TaskRunner(store, models, DirectMatcher())
            task = make_task(
                TaskKind.IMAGE_PROCESSING, {"image_file": image_id, "image_model": "ocr"}
            )
            result = await stored(runner, task)
            assert result == models.ocr.model_dump()
            assert models.calls == [("recognise", "ocr", store.path("image", image_id))]

    asyncio.run(scenario())


def test_audio_text_comparison_reports_the_misread_word(connect, prefix, tmp_path, sample_audio):
    asr = AudioProcessingResult(
        text="Every path is the right path.",
        segments=[AudioChunk(start=0.0, end=1.7, text="Every path is the right path.")],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            models = FakeModels(asr=asr)
            runner = TaskRunner(store, models, DirectMatcher())
            task = make_task(
                TaskKind.AUDIO_TEXT_COMPARISON,
                {"audio_file": audio_id, "audio_model": "whisper", "text": [REFERENCE]},
            )
            result = await stored(runner, task)

            segment = result["audio"]["segments"][0]
            [error] = result["errors"]
            assert (error["type"], error["found"], error["expected"]) == (
                "substitution",
                "right",
                "wrong",
            )
            assert (error["at_char"], error["segment"]) == (18, 0)
            assert segment["text"][18:23] == "right"
            assert REFERENCE[error["ref_char"] :].startswith("wrong")
            # No word timestamps: "right" gets its share of the segment's 1.7 s.
            assert 0.9 < error["start"] < error["end"] < 1.5
            assert error["audio_segment"]["text"] == "right"
            await assert_cut(store, "alice", segment)
            await assert_cut(store, "alice", error["audio_segment"])
            assert models.reference_text == REFERENCE
            assert result["summary"]["words_correct"] == 5
            assert result["summary"]["accuracy"] == pytest.approx(100 * 5 / 6, abs=0.01)

    asyncio.run(scenario())


def test_audio_text_comparison_joins_the_text_items(connect, prefix, tmp_path, sample_audio):
    asr = AudioProcessingResult(
        text="Every path is the wrong path.",
        segments=[AudioChunk(start=0.0, end=1.7, text="Every path is the wrong path.")],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            payload = {
                "audio_file": audio_id,
                "audio_model": "whisper",
                "text": ["Every path is", "the wrong path."],
            }
            result = await stored(runner, make_task(TaskKind.AUDIO_TEXT_COMPARISON, payload))
            assert result["errors"] == []

    asyncio.run(scenario())


def test_audio_image_comparison_gives_the_page_text_to_the_asr(
    connect, prefix, tmp_path, sample_audio, sample_image
):
    asr = AudioProcessingResult(
        text="Every path is the right path.",
        segments=[
            AudioChunk(start=0.0, end=0.75, text="Every path is"),
            AudioChunk(start=0.75, end=1.7, text="the right path."),
        ],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            image_id = await add_file(store, "image", "alice", sample_image)
            models = FakeModels(asr=asr, ocr=ocr_result(REFERENCE))
            runner = TaskRunner(store, models, DirectMatcher())
            payload = {
                "audio_file": audio_id,
                "audio_model": "whisper",
                "image_file": image_id,
                "image_model": "ocr",
            }
            result = await stored(runner, make_task(TaskKind.AUDIO_IMAGE_COMPARISON, payload))

            # OCR first, so that the page's text can prime the ASR.
            assert [call[:2] for call in models.calls] == [
                ("recognise", "ocr"),
                ("transcribe", "whisper"),
            ]
            assert models.reference_text == REFERENCE
            assert result["image"] == models.ocr.model_dump()
            assert result["audio"]["text"] == asr.text
            second = result["audio"]["segments"][1]
            [error] = result["errors"]
            assert (error["type"], error["found"], error["expected"]) == (
                "substitution",
                "right",
                "wrong",
            )
            # "right" is at offset 4 of the second segment's own text.
            assert (error["segment"], error["at_char"]) == (1, 4)
            assert second["text"][4:9] == "right"
            # The one OCR box holds six words: "wrong" is the fifth, estimated from
            # the box geometry (x from 10 to 300 px), so it lies in the right half.
            left, top, right, bottom = Rectangle.model_validate(error["box"]).bounds()
            assert 150 < left < right <= 300 and (top, bottom) == (20, 60)

    asyncio.run(scenario())


def test_silent_recording_reports_the_whole_text_as_omitted(
    connect, prefix, tmp_path, sample_audio
):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            asr = AudioProcessingResult(text="", segments=[])
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            task = make_task(
                TaskKind.AUDIO_TEXT_COMPARISON,
                {"audio_file": audio_id, "audio_model": "whisper", "text": [REFERENCE]},
            )
            result = await stored(runner, task)

            segments = result["audio"]["segments"]
            assert len(segments) == 1
            segment = segments[0]
            assert segment["start"] == 0.0
            assert segment["end"] == pytest.approx(SAMPLE_DURATION_S, abs=0.06)
            assert segment["text"] == ""
            await assert_cut(store, "alice", segment)
            [error] = result["errors"]
            assert (error["type"], error["found"], error["expected"]) == (
                "omission",
                "",
                "Every path is the wrong path.",
            )
            assert (error["segment"], error["at_char"], error["ref_char"]) == (0, 0, 0)
            assert (error["start"], error["end"]) == (
                0.0,
                pytest.approx(SAMPLE_DURATION_S, abs=0.06),
            )
            assert result["summary"]["completeness"] == 0.0

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("kind", "payload_for", "message"),
    [
        (
            TaskKind.AUDIO_PROCESSING,
            lambda audio, image: {"audio_file": audio, "audio_model": "whisper"},
            "No such audio file available",
        ),
        (
            TaskKind.AUDIO_EXTRACTION,
            lambda audio, image: {"audio_file": audio, "audio_model": "w", "phrases": ["x"]},
            "No such audio file available",
        ),
        (
            TaskKind.IMAGE_PROCESSING,
            lambda audio, image: {"image_file": image, "image_model": "ocr"},
            "No such image file available",
        ),
    ],
    ids=["audio", "extraction", "image"],
)
@pytest.mark.parametrize("which", ["missing", "other-owner", "wrong-kind"])
def test_unavailable_input_fails_the_task(
    connect, prefix, tmp_path, sample_audio, sample_image, kind, payload_for, message, which
):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            if which == "missing":
                audio_id = image_id = str(uuid.uuid4())
            elif which == "other-owner":
                audio_id = await add_file(store, "audio", "bob", sample_audio)
                image_id = await add_file(store, "image", "bob", sample_image)
            else:
                audio_id = await add_file(store, "image", "alice", sample_image)
                image_id = await add_file(store, "audio", "alice", sample_audio)
            models = FakeModels()
            runner = TaskRunner(store, models, DirectMatcher())
            with pytest.raises(TaskFailed) as raised:
                await runner.run(make_task(kind, payload_for(audio_id, image_id)))
            assert str(raised.value) == message
            assert models.calls == []

    asyncio.run(scenario())


def test_extraction_cuts_found_phrases_by_word_timestamps(connect, prefix, tmp_path, sample_audio):
    asr = AudioProcessingResult(
        text=REFERENCE,
        segments=[
            AudioChunk(start=0.0, end=0.75, text="Every path is", words=WORDS[:3]),
            AudioChunk(start=0.75, end=1.6, text="the wrong path.", words=WORDS[3:]),
        ],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            payload = {
                "audio_file": audio_id,
                "audio_model": "whisper",
                "phrases": ["the wrong path", "purple elephant", "path is"],
            }
            result = await stored(runner, make_task(TaskKind.AUDIO_EXTRACTION, payload))

            found, absent, across = result["data"]
            assert found["phrase"] == "the wrong path"
            assert found["found"] is True
            segment = found["audio_segment"]
            assert (segment["start"], segment["end"]) == (0.75, 1.6)
            assert segment["text"] == "the wrong path."
            await assert_cut(store, "alice", segment)

            assert absent == {"audio_segment": None, "found": False, "phrase": "purple elephant"}

            # A phrase spanning two ASR segments is cut by its words, not the segments.
            assert across["found"] is True
            assert across["audio_segment"]["text"] == "path is"
            assert (across["audio_segment"]["start"], across["audio_segment"]["end"]) == (
                0.3,
                0.75,
            )
            await assert_cut(store, "alice", across["audio_segment"])
            assert segment["file"] != across["audio_segment"]["file"]

    asyncio.run(scenario())


def test_extraction_without_word_timestamps_uses_segments(connect, prefix, tmp_path, sample_audio):
    asr = AudioProcessingResult(
        text=REFERENCE,
        segments=[
            AudioChunk(start=0.0, end=0.75, text="Every path is"),
            AudioChunk(start=0.75, end=1.6, text="the wrong path."),
        ],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            payload = {"audio_file": audio_id, "audio_model": "whisper", "phrases": ["wrong"]}
            result = await stored(runner, make_task(TaskKind.AUDIO_EXTRACTION, payload))
            (item,) = result["data"]
            assert item["found"] is True
            assert item["audio_segment"]["text"] == "the wrong path."
            assert (item["audio_segment"]["start"], item["audio_segment"]["end"]) == (0.75, 1.6)
            await assert_cut(store, "alice", item["audio_segment"])

    asyncio.run(scenario())


def test_extraction_with_nothing_found_cuts_nothing(connect, prefix, tmp_path, sample_audio):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            asr = AudioProcessingResult(text="", segments=[])
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            payload = {"audio_file": audio_id, "audio_model": "whisper", "phrases": ["a", "b"]}
            result = await stored(runner, make_task(TaskKind.AUDIO_EXTRACTION, payload))
            assert result == {
                "data": [
                    {"audio_segment": None, "found": False, "phrase": "a"},
                    {"audio_segment": None, "found": False, "phrase": "b"},
                ]
            }
            assert [p.name for p in (tmp_path / "audio").iterdir()] == [f"{audio_id}.mp3"]

    asyncio.run(scenario())


def test_degenerate_model_times_are_still_cut(connect, prefix, tmp_path, sample_audio):
    # Models may report zero-length segments or words (start == end) and times at or
    # past the end of the recording; the task still completes with a playable piece
    # for each, and the reported times are the model's.
    asr = AudioProcessingResult(
        text="um every path path",
        segments=[
            AudioChunk(start=0.5, end=0.5, text="um"),
            AudioChunk(
                start=0.6,
                end=1.2,
                text="every path",
                words=[
                    Word(word="every", start=0.6, end=0.9),
                    Word(word="path", start=1.0, end=1.0),
                ],
            ),
            AudioChunk(start=1.7, end=1.9, text="path"),
            AudioChunk(start=1.8, end=2.0, text="path"),
        ],
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            payload = {"audio_file": audio_id, "audio_model": "whisper"}
            result = await stored(runner, make_task(TaskKind.AUDIO_PROCESSING, payload))
            segments = result["segments"]
            assert [(s["start"], s["end"]) for s in segments] == [
                (0.5, 0.5),
                (0.6, 1.2),
                (1.7, 1.9),
                (1.8, 2.0),
            ]
            for segment in segments:
                path = await store.lookup("audio", "alice", uuid.UUID(segment["file"]))
                assert 0 < load_audio(path).duration_seconds <= 0.65

            payload = {"audio_file": audio_id, "audio_model": "whisper", "phrases": ["path"]}
            result = await stored(runner, make_task(TaskKind.AUDIO_EXTRACTION, payload))
            (item,) = result["data"]
            assert item["found"] is True
            path = await store.lookup("audio", "alice", uuid.UUID(item["audio_segment"]["file"]))
            assert load_audio(path).duration_seconds > 0

    asyncio.run(scenario())


def test_a_checked_comparison_reports_what_the_check_accepted(
    connect, prefix, tmp_path, sample_audio
):
    # The transcript says "right" for "wrong" and "a" for "the"; the model host's check
    # rejected "a" (the audio favours the page) and kept "right", with its evidence.
    from core.plugins.types import MiscueEvidence, ReadingEdit, ReadingVerification

    words = [w.model_copy() for w in WORDS]
    words[3] = Word(word="a", start=0.75, end=0.9)
    words[4] = Word(word="right", start=0.9, end=1.2)
    evidence = MiscueEvidence(
        reading="right", page_reading="wrong", log_likelihood_margin=7.5, source="transcript"
    )
    checked = ReadingVerification(
        edits=[ReadingEdit(type="substitution", ref_start=4, ref_end=5, words=["right"],
                           start=0.9, end=1.2, probability=0.93, evidence=evidence)],
        rejected=[ReadingEdit(
            type="substitution", ref_start=3, ref_end=4, words=["a"], start=0.75, end=0.9,
            probability=0.2,
            evidence=evidence.model_copy(update={"reading": "a", "page_reading": "the",
                                                 "log_likelihood_margin": -4.0}),
        )],
    )
    asr = AudioProcessingResult(
        text="Every path is a right path.",
        segments=[AudioChunk(start=0.0, end=1.7, text="Every path is a right path.",
                             words=words)],
        verification=checked,
    )

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=asr), DirectMatcher())
            payload = {"audio_file": audio_id, "audio_model": "whisper", "text": [REFERENCE]}
            result = await stored(runner, make_task(TaskKind.AUDIO_TEXT_COMPARISON, payload))
            [error] = result["errors"]
            assert (error["type"], error["expected"], error["found"]) == (
                "substitution", "wrong", "right"
            )
            assert error["confidence"] == 0.93
            assert error["evidence"] == evidence.model_dump()
            assert (error["start"], error["end"]) == (0.9, 1.2)
            # at_char still points into the ASR segment's text, at the heard word.
            assert result["audio"]["segments"][0]["text"][error["at_char"]:].startswith("right")
            assert result["summary"]["words_correct"] == 5
            # The transcript is reported as decoded: the check changes the miscues only.
            assert result["audio"]["text"] == "Every path is a right path."

    asyncio.run(scenario())
