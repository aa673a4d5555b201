"""Latency of live transcription: from a spoken word to its partial, and to its commit.

    .venv/bin/python -m bench.stream_latency                       # passage 0, real time
    .venv/bin/python -m bench.stream_latency --passages 0,5 --chunk-s 0.5
    .venv/bin/python -m bench.stream_latency --wav reading.wav --min-chunk-s 0.5

An espeak-ng reading (en-us, 140 wpm) of a passage of ``bench/passages.json`` (or a
given recording) is streamed through :class:`core.streaming.StreamSession` with the
real Whisper tiny.en in this process, in ``--chunk-s`` pieces at real-time pace: each
chunk is fed when the wall clock reaches the end of its audio (``--speed`` > 1 runs
faster than real time). Decodes run in a worker thread while audio keeps arriving,
one at a time, as in ``WS /v1/audio/stream``.

Each word's true end is taken from an offline Whisper transcription of the whole file
(word timestamps). The streamed final words are aligned with those words (Levenshtein
over spoken forms); for each word matched, per-word latency is, in wall-clock seconds:

* ``partial``: when the word first appeared in any partial (tentative or final, same
  spoken form, overlapping time) minus when its audio ended (``start + end / speed``);
* ``final``: when it was committed, minus the same.

Printed: median / p90 / max of both; the decoding's real-time factor (decode seconds
per second of audio; also per decode), decodes run, and the time ``finalize`` took.
Also the streamed and the offline transcript and their word error rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from core.plugins.host import PluginRunner
from core.streaming import SAMPLE_RATE, Partial, StreamConfig, StreamSession, Window, encode_wav
from core.streaming.policy import TimedWord, timed_words, word_key

PASSAGES = Path(__file__).with_name("passages.json")


def synthesize(text: str, folder: Path) -> Path:
    """espeak-ng's en-us reading at 140 wpm, as a 16-kHz mono WAV."""
    raw, out = folder / "espeak.wav", folder / "speech16.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(raw), text], check=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-ac", "1", "-ar", "16000", str(out)],
        check=True,
    )
    return out


def load(path: Path) -> np.ndarray:
    """Any audio file as float32 16-kHz mono."""
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", "16000", "-f", "s16le",
         "pipe:1"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0


class LocalModel:
    """Whisper tiny.en called as the gateway would: WAV bytes in a temp file."""

    def __init__(self) -> None:
        self.runner = PluginRunner("whisper", options={"check_reading": False, "device": "cpu"})

    def run(self, samples: np.ndarray, prompt: str | None = None):
        with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
            handle.write(encode_wav(samples))
            handle.flush()
            return self.runner.run_file(handle.name, reference_text=prompt)

    async def __call__(self, window: Window):
        return await asyncio.to_thread(self.run, window.samples, window.prompt)


async def stream(
    model: LocalModel, audio: np.ndarray, config: StreamConfig, chunk_s: float, speed: float
) -> tuple[list[tuple[float, Partial]], StreamSession, float, float]:
    """Stream ``audio`` at pace; returns (wall time, partial) pairs, the session, the
    wall start and the seconds ``finalize`` took."""
    session = StreamSession(model, config)
    seen: list[tuple[float, Partial]] = []
    decoding: asyncio.Task | None = None

    def collect(task: asyncio.Task) -> None:
        now = time.monotonic()
        seen.extend((now, e) for e in task.result() if isinstance(e, Partial))

    step = int(chunk_s * SAMPLE_RATE)
    started = time.monotonic()
    for index in range(0, len(audio), step):
        chunk = audio[index : index + step]
        due = started + (index + len(chunk)) / SAMPLE_RATE / speed
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        session.feed(chunk)
        if decoding is not None and decoding.done():
            decoding = None
        if decoding is None and session.ready():
            decoding = asyncio.create_task(session.step())
            decoding.add_done_callback(collect)
    finalizing = time.monotonic()
    if decoding is not None:
        await asyncio.wait({decoding})
    events, _ = await session.finish()
    now = time.monotonic()
    seen.extend((now, e) for e in events if isinstance(e, Partial))
    return seen, session, started, now - finalizing


def latencies(
    seen: list[tuple[float, Partial]], truth: list[TimedWord], started: float, speed: float
) -> tuple[list[float], list[float], list[str]]:
    """Per matched word: (partial latencies, final latencies, streamed final words)."""
    finals = [(t, w) for t, p in seen if p.final for w in p.words]
    keys = [word_key(w.text) for _, w in finals]
    first_seen: list[float] = []
    for committed_at, word in finals:
        key = word_key(word.text)
        times = [
            t
            for t, p in seen
            for w in p.words
            if word_key(w.text) == key and w.start < word.end and w.end > word.start
        ]
        first_seen.append(min([*times, committed_at]))
    partial, final = [], []
    for op in Levenshtein.opcodes(keys, [word_key(w.text) for w in truth]):
        if op.tag != "equal":
            continue
        for k in range(op.src_end - op.src_start):
            spoken_end = started + truth[op.dest_start + k].end / speed
            partial.append(first_seen[op.src_start + k] - spoken_end)
            final.append(finals[op.src_start + k][0] - spoken_end)
    return partial, final, [w.text for _, w in finals]


def describe(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    v = np.asarray(values)
    return (
        f"median {np.median(v):.2f} s, p90 {np.percentile(v, 90):.2f} s, max {v.max():.2f} s"
        f" (n={len(v)})"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", default="0", help="ids in bench/passages.json")
    parser.add_argument("--wav", type=Path, help="a recording instead of espeak-ng")
    parser.add_argument("--chunk-s", type=float, default=0.25, help="seconds per chunk")
    parser.add_argument("--min-chunk-s", type=float, default=1.0)
    parser.add_argument("--buffer-trim-s", type=float, default=15.0)
    parser.add_argument("--speed", type=float, default=1.0, help="pace, x real time")
    args = parser.parse_args(argv)
    config = StreamConfig(min_chunk_s=args.min_chunk_s, buffer_trim_s=args.buffer_trim_s)
    model = LocalModel()
    model.run(np.zeros(SAMPLE_RATE, np.float32))  # warm-up: the first call is slower
    passages = {p["id"]: p["text"] for p in json.loads(PASSAGES.read_text())["passages"]}
    with tempfile.TemporaryDirectory() as folder:
        if args.wav:
            sources = [("wav", args.wav)]
        else:
            ids = [int(i) for i in args.passages.split(",")]
            sources = []
            for i in ids:
                (Path(folder) / str(i)).mkdir()
                sources.append((f"passage {i}", synthesize(passages[i], Path(folder) / str(i))))
        all_partial: list[float] = []
        all_final: list[float] = []
        for name, path in sources:
            audio = load(path)
            truth = timed_words(model.run(audio), 0.0)
            seen, session, started, finalize_s = asyncio.run(
                stream(model, audio, config, args.chunk_s, args.speed)
            )
            partial, final, streamed = latencies(seen, truth, started, args.speed)
            all_partial += partial
            all_final += final
            duration = len(audio) / SAMPLE_RATE
            wer = Levenshtein.distance(
                [word_key(w) for w in streamed], [word_key(w.text) for w in truth]
            ) / max(len(truth), 1)
            print(f"== {name}: {duration:.1f} s of audio, {len(truth)} words")
            print(f"streamed: {' '.join(streamed)}")
            print(f"offline:  {' '.join(w.text for w in truth)}")
            print(f"WER streamed vs offline: {wer:.3f}")
            print(f"word -> first partial: {describe(partial)}")
            print(f"word -> final:         {describe(final)}")
            print(
                f"decoding: {session.decodes} decodes, {session.decode_seconds:.2f} s in all, "
                f"RTF {session.decode_seconds / duration:.3f} "
                f"({session.decode_seconds / max(session.decodes, 1):.3f} s per decode); "
                f"finalize took {finalize_s:.2f} s"
            )
        if len(sources) > 1:
            print(f"== all: word -> first partial: {describe(all_partial)}")
            print(f"== all: word -> final:         {describe(all_final)}")
    print(
        f"(chunk {args.chunk_s} s, min_chunk_s {args.min_chunk_s}, buffer_trim_s "
        f"{args.buffer_trim_s}, speed {args.speed}x, Whisper tiny.en int8 on CPU)"
    )


if __name__ == "__main__":
    main()
