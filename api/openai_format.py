"""A transcript in the shapes of OpenAI's audio API (``/v1/audio/transcriptions``).

``response_format``: ``json`` (``{"text"}``), ``text``, ``srt`` (composed by the ``srt``
library), ``vtt`` (by ``webvtt-py``) and ``verbose_json`` (OpenAI's
``TranscriptionVerbose``: language, duration, segments and/or words, times in
seconds). Fields OpenAI's schema requires that this service's models do not report
are filled as documented on :func:`verbose_json`.
"""

from __future__ import annotations

import io
import math
import zlib
from datetime import timedelta
from typing import Any, Literal

import srt
import webvtt

from core.results import Transcript

__all__ = ["ResponseFormat", "Granularity", "as_srt", "as_vtt", "verbose_json"]

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
Granularity = Literal["word", "segment"]

#: A word probability of 0 would give an infinite log; floor it (OpenAI reports logprobs).
_MIN_PROBABILITY = 1e-6
#: Whisper's seek offsets count mel frames of 10 ms (whisper/audio.py: HOP_LENGTH 160
#: at 16 kHz).
_FRAMES_PER_S = 100


def _cues(transcript: Transcript) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.text) for s in transcript.segments if s.text.strip()]


def as_srt(transcript: Transcript) -> str:
    """SubRip subtitles: one cue per segment, numbered from 1."""
    return srt.compose(
        srt.Subtitle(i, timedelta(seconds=start), timedelta(seconds=end), text)
        for i, (start, end, text) in enumerate(_cues(transcript), 1)
    )


def _vtt_time(seconds: float) -> str:
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def as_vtt(transcript: Transcript) -> str:
    """WebVTT subtitles: one cue per segment."""
    document = webvtt.WebVTT()
    for start, end, text in _cues(transcript):
        document.captions.append(webvtt.Caption(_vtt_time(start), _vtt_time(end), text))
    buffer = io.StringIO()
    document.write(buffer)
    return buffer.getvalue()


def _compression_ratio(text: str) -> float:
    """Whisper's measure of a repetitive (hallucinated) text: bytes / zlib-compressed
    bytes (openai/whisper ``utils.compression_ratio``)."""
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def verbose_json(
    transcript: Transcript,
    duration_s: float,
    granularities: set[Granularity],
    temperature: float,
) -> dict[str, Any]:
    """OpenAI's ``verbose_json`` body.

    Args:
        transcript: The service's transcript (times in seconds).
        duration_s: The recording's length, seconds.
        granularities: ``timestamp_granularities[]``; ``segment`` (OpenAI's default)
            when empty.
        temperature: The request's sampling temperature, echoed per segment.

    Returns:
        ``task``, ``language``, ``duration``, ``text``, and ``segments`` and/or
        ``words``. Per segment, ``avg_logprob`` is the mean log of the words'
        probabilities (0.0 without words), ``compression_ratio`` is computed from its
        text as Whisper does, ``seek`` is its start in 10-ms frames; ``tokens`` is
        empty and ``no_speech_prob`` 0.0: the service's models do not report them.
    """
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": transcript.language or "",
        "duration": duration_s,
        "text": transcript.text,
    }
    if not granularities or "segment" in granularities:
        segments = []
        for index, segment in enumerate(transcript.segments):
            logs = [
                math.log(max(w.probability, _MIN_PROBABILITY))
                for w in segment.words or []
                if w.probability is not None
            ]
            segments.append(
                {
                    "id": index,
                    "seek": int(segment.start * _FRAMES_PER_S),
                    "start": segment.start,
                    "end": segment.end,
                    "text": segment.text,
                    "tokens": [],
                    "temperature": temperature,
                    "avg_logprob": sum(logs) / len(logs) if logs else 0.0,
                    "compression_ratio": _compression_ratio(segment.text),
                    "no_speech_prob": 0.0,
                }
            )
        body["segments"] = segments
    if "word" in granularities:
        body["words"] = [
            {"word": w.word, "start": w.start, "end": w.end}
            for s in transcript.segments
            for w in s.words or []
        ]
    return body
