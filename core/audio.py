"""Audio helpers: validate and convert uploads, and cut recordings into mp3 pieces.

Decoding and encoding run ``ffmpeg``/``ffprobe``: uploads directly, with every run
killed at a time budget (:func:`convert_upload_to_mp3`); stored files through pydub.
Units: parameters named ``*_s`` and ``max_interval`` are seconds; the intervals
returned by :func:`split_silence` are integer milliseconds (pydub's native unit);
levels are dBFS (decibels relative to full scale, ``0`` = loudest possible sample).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
import time
import uuid
import wave
from collections.abc import Sequence
from pathlib import Path

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError
from pydub.silence import detect_nonsilent
from pydub.utils import get_prober_name

from core.errors import DecodeTimeoutError, MediaError

__all__ = [
    "ACCEPTED_AUDIO_CONTAINERS",
    "ALLOWED_AUDIO_EXTENSIONS",
    "DEFAULT_DECODE_TIMEOUT_S",
    "MIN_AUDIO_DURATION_S",
    "MIN_SILENCE_LEN_MS",
    "NOT_AUDIO_MESSAGE",
    "SPLIT_PADDING_MS",
    "convert_upload_to_mp3",
    "dbfs_to_fraction",
    "fraction_to_dbfs",
    "load_audio",
    "split_audio",
    "split_silence",
]

StrPath = str | os.PathLike[str]

#: Upload suffixes of the API spec, verbatim, plus ``.webm`` (browsers' MediaRecorder).
#: Only a hint to ffprobe (``core.storage.format_hint``): the content decides what is
#: accepted. ``.acc`` is the spec's typo for ``.aac``.
ALLOWED_AUDIO_EXTENSIONS = frozenset(
    {".acc", ".aac", ".mp3", ".m4a", ".oga", ".ogv", ".ogg", ".opus", ".wav", ".webm"}
)

#: ffprobe demuxer names accepted: the gate. Derived from ALLOWED_AUDIO_EXTENSIONS
#: (aac: ADTS .aac; mov: .m4a; ogg: .oga/.ogv/.ogg/.opus; matroska: .webm, the
#: WebM/Opus container of browsers' MediaRecorder). An allow-list keeps ffmpeg away
#: from playlist/reference demuxers (hls, concat) that open other files or URLs.
ACCEPTED_AUDIO_CONTAINERS = frozenset({"aac", "matroska", "mov", "mp3", "ogg", "wav"})

NOT_AUDIO_MESSAGE = "Only audio files uploads are allowed"

#: Shortest accepted upload, seconds. No word can be spoken in less; it also rejects
#: truncated uploads such as the first 200 bytes of an mp3, which still decode to a
#: single 48 ms frame of silence.
MIN_AUDIO_DURATION_S = 0.1

#: Default time budget of all ffmpeg/ffprobe work on one upload, seconds.
DEFAULT_DECODE_TIMEOUT_S = 60.0

#: Uploads are decoded to at most this many channels and samples per second: what mp3,
#: the stored format, can hold anyway. It bounds the decoded size of hostile files
#: (e.g. a tiny Opus stream declaring 255 channels) to 2 x 2 bytes x 48000 per second.
_MAX_DECODE_CHANNELS = 2
_MAX_DECODE_RATE_HZ = 48_000

#: Silence detection parameters of the original service's split_silence (spec values).
MIN_SILENCE_LEN_MS = 100
SPLIT_PADDING_MS = 50

#: ffmpeg/ffprobe options: no banner, only errors on stderr (the reason shown to users).
_QUIET = ("-hide_banner", "-v", "error")
#: ffmpeg output options: audio only, no metadata; a plain 16-bit PCM WAV the standard
#: library's wave module reads (with at most 2 channels and 48 kHz, see above).
_TO_PLAIN_WAV = "-vn -sn -dn -map_metadata -1 -fflags +bitexact -acodec pcm_s16le".split()

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


def _sanitized_reason(output: str, path: str) -> str:
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
        return AudioSegment.from_file(path, format=fmt, duration=duration_s)
    except CouldntDecodeError as exc:
        reason = _sanitized_reason(str(exc), path)
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


def _export_mp3_atomic(segment: AudioSegment, dst: Path) -> None:
    """Export ``segment`` as mp3 to ``dst`` via a temp file in the same folder + rename.

    pydub opens its output before encoding, so a failed encode would otherwise leave an
    empty or partial ``dst``; ``os.replace`` within one folder is atomic.
    """
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.stem}.", suffix=".part")
    os.close(fd)
    try:
        segment.export(tmp_name, format="mp3")
        os.replace(tmp_name, dst)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
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
    uuids: list[uuid.UUID] = []
    for start, end in clamped:
        piece_id = uuid.uuid4()
        # pydub slices in (fractional) milliseconds, at sample precision.
        _export_mp3_atomic(segment[start * 1000 : end * 1000], out / f"{piece_id}.mp3")
        uuids.append(piece_id)
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
    if not max_interval > 0:
        raise ValueError(f"max_interval must be > 0 seconds, got {max_interval}")
    if not 0 < cutoff_ratio <= 1:
        raise ValueError(f"cutoff_ratio must be in (0, 1], got {cutoff_ratio}")
    segment = _as_segment(audio)
    if len(segment) == 0 or segment.max_dBFS == -math.inf:
        return [], []

    threshold = fraction_to_dbfs(cutoff_ratio * dbfs_to_fraction(segment.max_dBFS))
    ranges = detect_nonsilent(segment, min_silence_len=MIN_SILENCE_LEN_MS, silence_thresh=threshold)
    if not ranges:
        return [], []

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
    uuids = split_audio(segment, [(s / 1000, e / 1000) for s, e in pieces], out_dir)
    return uuids, pieces


class _Budget:
    """Runs ffmpeg/ffprobe commands within one shared time budget.

    Every command gets the time left until the deadline; ``subprocess.run`` kills the
    child when it runs out (and reaps it), so no decoder outlives the budget.
    """

    def __init__(self, timeout_s: float | None) -> None:
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 seconds or None, got {timeout_s}")
        self.timeout_s = timeout_s
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def run(self, command: list[str]) -> subprocess.CompletedProcess[bytes]:
        """Run ``command`` (stdin closed, output captured); never raises on exit codes.

        Raises:
            DecodeTimeoutError: The budget ran out; the process was killed.
            OSError: The executable is missing (a server fault).
        """
        remaining = None if self._deadline is None else self._deadline - time.monotonic()
        try:
            if remaining is not None and remaining <= 0:
                raise subprocess.TimeoutExpired(command, 0)
            return subprocess.run(
                command, stdin=subprocess.DEVNULL, capture_output=True, timeout=remaining
            )
        except subprocess.TimeoutExpired as exc:
            raise DecodeTimeoutError(
                f"Decoding the file took longer than {self.timeout_s:g} s"
            ) from exc


def _probe(path: str, budget: _Budget) -> tuple[str, int, int]:
    """Probe ``path`` with ffprobe.

    Returns:
        ``(container, channels, rate_hz)``: the accepted ffprobe demuxer name, and the
        most channels and highest sample rate of its audio streams.

    Raises:
        MediaError: No audio stream, or a container outside the allow-list.
        DecodeTimeoutError: ffprobe ran out of time.
    """
    result = budget.run(
        [get_prober_name(), *_QUIET, "-of", "json", "-show_format", "-show_streams", path]
    )
    try:
        info = json.loads(result.stdout or b"{}")
        streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
        formats = info["format"]["format_name"].split(",") if streams else []
        channels = max(int(s.get("channels") or 0) for s in streams) if streams else 0
        rate_hz = max(int(s.get("sample_rate") or 0) for s in streams) if streams else 0
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # ValueError: not JSON
        raise MediaError(NOT_AUDIO_MESSAGE) from exc
    if not streams:
        # Zero-byte and text files probe as nothing; images as a lone video stream.
        raise MediaError(NOT_AUDIO_MESSAGE)
    for name in formats:
        if name in ACCEPTED_AUDIO_CONTAINERS:
            return name, channels, rate_hz
    # The spec's sentence first, so clients matching on it see the same answer.
    raise MediaError(f"{NOT_AUDIO_MESSAGE}. Unsupported audio format: {formats[0]}")


def _ffmpeg(*args: str) -> list[str]:
    """An ffmpeg command line: no stdin, errors only, output overwritten."""
    return [AudioSegment.converter, "-nostdin", *_QUIET, "-y", *args]


def _temp_beside(dst: Path, suffix: str) -> str:
    fd, name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.stem}.", suffix=suffix)
    os.close(fd)
    return name


def convert_upload_to_mp3(
    src: StrPath,
    dst: StrPath,
    *,
    max_duration_s: float | None = None,
    min_duration_s: float = MIN_AUDIO_DURATION_S,
    timeout_s: float | None = DEFAULT_DECODE_TIMEOUT_S,
) -> float:
    """Validate an uploaded recording by content and store it as mp3.

    The file must contain an audio stream (video streams such as cover art are ignored)
    in an accepted container. ffprobe detects the container; ffmpeg decodes it with
    that demuxer (never another, so playlist formats cannot make it open other files
    or URLs) to a temporary 16-bit WAV beside ``dst``, downmixed to at most 2 channels
    and resampled to at most 48000 Hz (what mp3 holds), and, if its duration passes
    the checks, encodes that to mp3. ``dst`` is written atomically: on failure no
    file or partial file is left at ``dst`` or beside it.

    Every ffmpeg/ffprobe run is bounded by one shared budget of ``timeout_s``; a run
    still going at the deadline is killed.

    Args:
        src: Uploaded file; its name/suffix is not trusted.
        dst: Destination mp3 path; its folder must exist. Overwritten if present.
        max_duration_s: Longest accepted recording in seconds; ``None`` = no limit.
            Decoding stops just past it, so huge uploads are not decoded in full.
        min_duration_s: Shortest accepted recording in seconds.
        timeout_s: Time budget of all the probing, decoding and encoding, in seconds
            (> 0); ``None`` = no limit.

    Returns:
        Duration of the decoded audio in seconds.

    Raises:
        DecodeTimeoutError: (a MediaError) The work took longer than ``timeout_s``:
            "Decoding the file took longer than N s".
        MediaError: Not audio ("Only audio files uploads are allowed"), an unsupported
            container, undecodable, empty, too short or too long.
        ValueError: ``timeout_s`` is not > 0.
        OSError: ``src`` is missing, ``dst``'s folder is not writable, or ffmpeg is
            not installed (server faults, not the user's).
    """
    budget = _Budget(timeout_s)
    src_path, dst_path = os.path.abspath(src), Path(dst)
    if not os.path.isfile(src_path):
        raise FileNotFoundError(f"No such upload file: {src_path}")
    container, channels, rate_hz = _probe(src_path, budget)

    wav_name = _temp_beside(dst_path, ".wav")
    try:
        # An absolute path can't be mistaken for an ffmpeg option ("-x") or protocol.
        command = _ffmpeg("-f", container, "-i", src_path, *_TO_PLAIN_WAV)
        if channels > _MAX_DECODE_CHANNELS:
            command += ["-ac", str(_MAX_DECODE_CHANNELS)]
        if rate_hz > _MAX_DECODE_RATE_HZ:
            command += ["-ar", str(_MAX_DECODE_RATE_HZ)]
        if max_duration_s is not None:
            # Decode 1 s past the limit: enough to tell "too long" while bounding work.
            command += ["-t", f"{max_duration_s + 1:.3f}"]
        result = budget.run([*command, "-f", "wav", wav_name])
        duration_s = _wav_duration_s(wav_name) if result.returncode == 0 else None
        if duration_s is None:
            reason = _sanitized_reason(result.stderr.decode(errors="replace"), src_path)
            message = "The audio file could not be decoded"
            raise MediaError(f"{message}: {reason}" if reason else message)

        if duration_s == 0:
            raise MediaError("The audio file is empty (its duration is 0 seconds)")
        if duration_s < min_duration_s:
            raise MediaError(
                f"The audio is too short: {duration_s:.3f} seconds (minimum {min_duration_s:g})"
            )
        if max_duration_s is not None and duration_s > max_duration_s:
            raise MediaError(f"The audio is longer than the maximum of {max_duration_s:g} seconds")

        mp3_name = _temp_beside(dst_path, ".part")
        try:
            result = budget.run(_ffmpeg("-f", "wav", "-i", wav_name, "-f", "mp3", mp3_name))
            if result.returncode != 0:
                # Our own WAV failed to encode: a server fault, not the user's.
                raise OSError(f"ffmpeg could not encode mp3: {result.stderr[-500:]!r}")
            os.replace(mp3_name, dst_path)
        except BaseException:
            Path(mp3_name).unlink(missing_ok=True)
            raise
    finally:
        Path(wav_name).unlink(missing_ok=True)
    return duration_s


def _wav_duration_s(path: str) -> float | None:
    """Duration of a PCM WAV written by ffmpeg, from its header; None if unreadable."""
    try:
        with wave.open(path, "rb") as wav:
            return wav.getnframes() / wav.getframerate()
    except (EOFError, wave.Error, ZeroDivisionError):
        return None
