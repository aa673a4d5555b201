"""Audio helpers: decode stored recordings and cut them into mp3 pieces.

The spec's audio algorithms (``dbfs_to_fraction``, ``fraction_to_dbfs``,
``split_audio``, ``split_silence``); decoding and encoding run ffmpeg through pydub.
Uploads are validated and converted by :mod:`core.uploads.audio`. Units: parameters
named ``*_s`` and ``max_interval`` are seconds; the intervals returned by
:func:`split_silence` are integer milliseconds (pydub's native unit); levels are dBFS
(decibels relative to full scale, ``0`` = loudest possible sample).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError
from pydub.silence import detect_nonsilent

from core.errors import MediaError

__all__ = [
    "MIN_SILENCE_LEN_MS",
    "NOT_AUDIO_MESSAGE",
    "SPLIT_PADDING_MS",
    "dbfs_to_fraction",
    "ffmpeg_reason",
    "fraction_to_dbfs",
    "load_audio",
    "split_audio",
    "speech_intervals",
    "split_silence",
]

StrPath = str | os.PathLike[str]

NOT_AUDIO_MESSAGE = "Only audio files uploads are allowed"

#: Silence detection parameters of the original service's split_silence (spec values).
MIN_SILENCE_LEN_MS = 100
SPLIT_PADDING_MS = 50

# "[mp3 @ 0x55d1c0]" prefixes in ffmpeg messages carry no information for users.
_FFMPEG_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*")


def dbfs_to_fraction(dbfs: float) -> float:
    """Convert a level in dBFS to a fraction of full-scale amplitude.

    Args:
        dbfs: Level in dBFS; ``-inf`` is digital silence.

    Returns:
        ``10 ** (dbfs / 20)``: 1.0 for 0 dBFS, 0.0 for ``-inf``.
    """
    return 10 ** (dbfs / 20)


def fraction_to_dbfs(fraction: float) -> float:
    """Convert a fraction of full-scale amplitude to dBFS.

    Args:
        fraction: Amplitude ratio, ``>= 0`` (1.0 = full scale).

    Returns:
        ``20 * log10(fraction)``; ``-inf`` for 0.

    Raises:
        ValueError: ``fraction`` is negative or NaN.
    """
    if not fraction >= 0:  # also catches NaN
        raise ValueError(f"Amplitude fraction must be >= 0, got {fraction}")
    if fraction == 0:
        return -math.inf
    return 20 * math.log10(fraction)


def ffmpeg_reason(output: str, path: str) -> str:
    """Last line of ffmpeg's error output, without the file path; '' if it can't be made
    safe."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return ""
    reason = _FFMPEG_PREFIX.sub("", lines[-1]).replace(f"{path}: ", "").replace(path, "")
    return "" if os.sep in reason or "\\" in reason else reason


def _decode(path: str, fmt: str | None = None, duration_s: float | None = None) -> AudioSegment:
    """Decode ``path`` with pydub, mapping every decoder failure to MediaError."""
    try:
        # -nostdin: pydub leaves ffmpeg's stdin on the terminal; an ffmpeg started from
        # a service run in a terminal's background reads it and is stopped (SIGTTIN).
        return AudioSegment.from_file(
            path, format=fmt, duration=duration_s, parameters=["-nostdin"]
        )
    except CouldntDecodeError as exc:
        reason = ffmpeg_reason(str(exc), path)
        message = "The audio file could not be decoded"
        raise MediaError(f"{message}: {reason}" if reason else message) from exc
    except (IndexError, KeyError, ValueError) as exc:
        # pydub indexes ffprobe's stream list blindly: IndexError means "no audio stream",
        # KeyError/ValueError mean ffprobe output pydub did not expect.
        raise MediaError(NOT_AUDIO_MESSAGE) from exc


def load_audio(path: StrPath) -> AudioSegment:
    """Decode an audio file of any format ffmpeg understands.

    Args:
        path: File to decode.

    Returns:
        The decoded audio.

    Raises:
        MediaError: The content is not decodable audio (message safe for users).
        OSError: The file is missing/unreadable or ffmpeg is not installed (server faults).
    """
    # An absolute path can't be mistaken for an ffmpeg option ("-x") or protocol ("pipe:").
    return _decode(os.path.abspath(path))


def _as_segment(audio: StrPath | AudioSegment) -> AudioSegment:
    return audio if isinstance(audio, AudioSegment) else load_audio(audio)


#: ffmpeg's raw PCM sample format per pydub sample width (bytes).
_PCM_FORMATS = {1: "u8", 2: "s16le", 4: "s32le"}


def _export_mp3_pieces(
    segment: AudioSegment, pieces: Sequence[tuple[float, float]], paths: Sequence[Path]
) -> None:
    """Encode every ``(start_s, end_s)`` piece of ``segment`` as mp3 at ``paths``, in one
    ffmpeg process: the PCM goes in once, each piece is one output trimmed at sample
    precision (``atrim``). Each file is written under a temp name and renamed, so a
    failed encode leaves no partial file.

    Raises:
        OSError: ffmpeg is missing or failed (the message ends with its last line).
    """
    tmp_paths = [path.with_name(f".{path.stem}.part.mp3") for path in paths]
    command = [
        AudioSegment.converter, "-nostdin", "-v", "error", "-y",
        "-f", _PCM_FORMATS[segment.sample_width], "-ar", str(segment.frame_rate),
        "-ac", str(segment.channels), "-i", "pipe:0",
    ]
    for (start, end), tmp in zip(pieces, tmp_paths, strict=True):
        command += [
            "-map", "0:a", "-af", f"atrim=start={start:.6f}:end={end:.6f},asetpts=PTS-STARTPTS",
            "-c:a", "libmp3lame", "-f", "mp3", str(tmp),
        ]
    try:
        done = subprocess.run(command, input=segment.raw_data, capture_output=True)
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise OSError(f"ffmpeg could not encode the audio pieces: {''.join(reason)}")
        for tmp, path in zip(tmp_paths, paths, strict=True):
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmp_paths:
            tmp.unlink(missing_ok=True)
        raise


def split_audio(
    audio: StrPath | AudioSegment,
    intervals: Sequence[tuple[float, float]],
    out_dir: StrPath,
) -> list[uuid.UUID]:
    """Cut ``audio`` at each interval and export every piece as ``out_dir/<uuid>.mp3``.

    Intervals may overlap and need not be sorted; ends past the audio are clamped to it.
    All intervals are validated before anything is written.

    Args:
        audio: Decoded audio, or a path to decode with :func:`load_audio`.
        intervals: ``(start_s, end_s)`` pairs in seconds.
        out_dir: Destination folder; created if missing.

    Returns:
        One fresh UUID per interval, in interval order; piece ``i`` is
        ``out_dir / f"{uuids[i]}.mp3"``.

    Raises:
        ValueError: A start is negative, an end is before its start, a bound is NaN, or
            a piece is empty after clamping (e.g. it starts at or past the end of the
            audio). Empty pieces are refused because pydub "exports" them as a
            frameless mp3 that ffmpeg cannot decode back.
        MediaError: ``audio`` is a path whose content can't be decoded.
    """
    segment = _as_segment(audio)
    duration_s = segment.duration_seconds
    clamped: list[tuple[float, float]] = []
    for start_s, end_s in intervals:
        if math.isnan(start_s) or math.isnan(end_s):
            raise ValueError(f"Interval ({start_s}, {end_s}) contains NaN")
        if start_s < 0:
            raise ValueError(f"Interval ({start_s}, {end_s}) s starts before 0")
        if end_s < start_s:
            raise ValueError(f"Interval ({start_s}, {end_s}) s ends before it starts")
        start, end = min(start_s, duration_s), min(end_s, duration_s)
        if end <= start:
            raise ValueError(
                f"Interval ({start_s}, {end_s}) s is empty within the {duration_s:.3f} s audio"
            )
        clamped.append((start, end))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    uuids = [uuid.uuid4() for _ in clamped]
    if clamped:
        # One encoder process for all pieces: a process per piece cost more than the
        # encoding itself on short recordings.
        _export_mp3_pieces(segment, clamped, [out / f"{piece_id}.mp3" for piece_id in uuids])
    return uuids


def split_silence(
    audio: StrPath | AudioSegment,
    out_dir: StrPath,
    max_interval: float = 30,
    cutoff_ratio: float = 0.05,
) -> tuple[list[uuid.UUID], list[tuple[int, int]]]:
    """Cut ``audio`` into mp3 pieces at silences only, never inside speech.

    Silence is anything quieter than ``cutoff_ratio`` of the loudest peak for at least
    ``MIN_SILENCE_LEN_MS``. Consecutive sounding ranges are merged greedily while the
    merged piece stays within ``max_interval``; a single sounding range longer than that
    stays whole. Each piece then gets ``SPLIT_PADDING_MS`` of context on both sides
    (clamped to the audio), so a padded piece may exceed ``max_interval`` by up to
    100 ms. Padded pieces never overlap: the silences between them are >= 100 ms.

    Args:
        audio: Decoded audio, or a path to decode with :func:`load_audio`.
        out_dir: Destination folder for the pieces (see :func:`split_audio`).
        max_interval: Longest merged piece, in seconds (before padding); > 0.
        cutoff_ratio: Silence threshold as a fraction of the peak amplitude, in (0, 1].

    Returns:
        ``(uuids, intervals)``: the piece UUIDs from :func:`split_audio` and each padded
        piece's ``(start_ms, end_ms)`` in integer milliseconds. ``([], [])`` for empty or
        silence-only audio.

    Raises:
        ValueError: ``max_interval`` or ``cutoff_ratio`` is out of range.
        MediaError: ``audio`` is a path whose content can't be decoded.
    """
    segment = _as_segment(audio)
    pieces = speech_intervals(segment, max_interval, cutoff_ratio)
    if not pieces:
        return [], []
    uuids = split_audio(segment, [(s / 1000, e / 1000) for s, e in pieces], out_dir)
    return uuids, pieces


def speech_intervals(
    audio: StrPath | AudioSegment, max_interval: float = 30, cutoff_ratio: float = 0.05
) -> list[tuple[int, int]]:
    """The padded ``(start_ms, end_ms)`` pieces :func:`split_silence` cuts, in integer
    milliseconds, without cutting anything (the request archive's voice activity).

    Raises:
        ValueError: ``max_interval`` or ``cutoff_ratio`` is out of range.
        MediaError: ``audio`` is a path whose content can't be decoded.
    """
    if not max_interval > 0:
        raise ValueError(f"max_interval must be > 0 seconds, got {max_interval}")
    if not 0 < cutoff_ratio <= 1:
        raise ValueError(f"cutoff_ratio must be in (0, 1], got {cutoff_ratio}")
    segment = _as_segment(audio)
    if len(segment) == 0 or segment.max_dBFS == -math.inf:
        return []

    threshold = fraction_to_dbfs(cutoff_ratio * dbfs_to_fraction(segment.max_dBFS))
    ranges = detect_nonsilent(segment, min_silence_len=MIN_SILENCE_LEN_MS, silence_thresh=threshold)
    if not ranges:
        return []

    max_ms = max_interval * 1000
    merged: list[list[int]] = [list(ranges[0])]
    for start, end in ranges[1:]:
        if end - merged[-1][0] <= max_ms:
            merged[-1][1] = end
        else:
            merged.append([start, end])

    length = len(segment)
    pieces = [
        (max(0, start - SPLIT_PADDING_MS), min(length, end + SPLIT_PADDING_MS))
        for start, end in merged
    ]
    return pieces
