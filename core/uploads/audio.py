"""Audio uploads: validate by content and store as mp3.

ffprobe finds the container and the audio streams, ffmpeg decodes with that demuxer
only, and every run is killed at one shared time budget (:func:`convert_upload_to_mp3`).
Units: parameters named ``*_s`` are seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import wave
from pathlib import Path

from pydub import AudioSegment
from pydub.utils import get_prober_name

from core.audio import NOT_AUDIO_MESSAGE, StrPath, ffmpeg_reason
from core.errors import DecodeTimeoutError, MediaError

__all__ = [
    "ACCEPTED_AUDIO_CONTAINERS",
    "ALLOWED_AUDIO_EXTENSIONS",
    "DEFAULT_DECODE_TIMEOUT_S",
    "MIN_AUDIO_DURATION_S",
    "convert_upload_to_mp3",
]

#: Upload suffixes of the API spec, verbatim, plus ``.webm`` (browsers' MediaRecorder).
#: Only a hint to ffprobe (``core.uploads.hints.format_hint``): the content decides what is
#: accepted. ``.acc`` is the spec's typo for ``.aac``.
ALLOWED_AUDIO_EXTENSIONS = frozenset(
    {".acc", ".aac", ".mp3", ".m4a", ".oga", ".ogv", ".ogg", ".opus", ".wav", ".webm"}
)

#: ffprobe demuxer names accepted: the gate. Derived from ALLOWED_AUDIO_EXTENSIONS
#: (aac: ADTS .aac; mov: .m4a; ogg: .oga/.ogv/.ogg/.opus; matroska: .webm, the
#: WebM/Opus container of browsers' MediaRecorder). An allow-list keeps ffmpeg away
#: from playlist/reference demuxers (hls, concat) that open other files or URLs.
ACCEPTED_AUDIO_CONTAINERS = frozenset({"aac", "matroska", "mov", "mp3", "ogg", "wav"})

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

#: ffmpeg/ffprobe options: no banner, only errors on stderr (the reason shown to users).
_QUIET = ("-hide_banner", "-v", "error")
#: ffmpeg output options: audio only, no metadata; a plain 16-bit PCM WAV the standard
#: library's wave module reads (with at most 2 channels and 48 kHz, see above).
_TO_PLAIN_WAV = "-vn -sn -dn -map_metadata -1 -fflags +bitexact -acodec pcm_s16le".split()


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
            reason = ffmpeg_reason(result.stderr.decode(errors="replace"), src_path)
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
