"""Decoding the audio chunks a live stream sends into 16-kHz mono samples.

Formats (:data:`FORMATS`):

* ``pcm_s16le``: raw signed 16-bit little-endian samples, mono (or interleaved
  ``channels``), at the stream's ``sample_rate``; decoded in-process.
* ``wav``: a RIFF/WAVE header and its frames: either one header in the first chunk and
  bare frames in the next ones, or a whole WAV file in each chunk; PCM 8/16/24/32-bit
  integer or 32-bit float; decoded in-process.
* ``webm`` / ``ogg``: a browser's ``MediaRecorder`` output (Opus in WebM or Ogg),
  decoded by one long-lived ``ffmpeg`` process per stream (stdin: the container bytes,
  stdout: s16le 16 kHz mono), run with asyncio so the event loop never blocks
  (:class:`core.streaming.ffmpeg.FfmpegDecoder`).

:func:`sniff_format` picks the format from a stream's first bytes. Every decoder hands
its output to a *sink* as float32 samples in [-1, 1], 16 kHz mono (shape ``(n,)``),
as soon as they are decoded. Resampling (PCM and WAV at other rates) is linear
interpolation without an anti-alias filter: send 16 kHz for the best recognition.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Callable
from typing import Literal

import numpy as np

__all__ = [
    "FORMATS",
    "SAMPLE_RATE",
    "AudioDecoder",
    "DecodeError",
    "LinearResampler",
    "PcmDecoder",
    "WavDecoder",
    "encode_wav",
    "make_decoder",
    "sniff_format",
]

#: Sample rate of all decoded audio, in Hz (Whisper's).
SAMPLE_RATE = 16000
Format = Literal["pcm_s16le", "wav", "webm", "ogg"]
FORMATS: tuple[Format, ...] = ("pcm_s16le", "wav", "webm", "ogg")
#: Receives decoded samples: float32, 16 kHz mono, shape ``(n,)``.
Sink = Callable[[np.ndarray], None]

_EBML = b"\x1a\x45\xdf\xa3"


class DecodeError(ValueError):
    """The audio cannot be decoded; the message is safe to show to the client."""


def sniff_format(head: bytes) -> Format:
    """The format of a stream from its first bytes: ``RIFF....WAVE`` -> ``wav``, the
    EBML magic ``1A 45 DF A3`` -> ``webm``, ``OggS`` -> ``ogg``, else ``pcm_s16le``."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == _EBML:
        return "webm"
    if head[:4] == b"OggS":
        return "ogg"
    return "pcm_s16le"


def encode_wav(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A mono 16-bit WAV file of float samples in [-1, 1] (clipped), shape ``(n,)``."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()


class LinearResampler:
    """Streaming linear-interpolation resampler to :data:`SAMPLE_RATE`; keeps the
    fractional position and the last input sample between chunks, so chunk
    boundaries leave no seams.

    Args:
        rate: Input sample rate in Hz (> 0).
    """

    def __init__(self, rate: int) -> None:
        self.step = rate / SAMPLE_RATE  # input samples per output sample
        self._pos = 0.0  # next output position, in input samples from _tail[0]
        self._tail = np.zeros(0, np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Resample the next chunk (float32, shape ``(n,)``)."""
        if self.step == 1.0:
            return samples
        buf = np.concatenate([self._tail, samples])
        last = len(buf) - 1
        if last < 0 or self._pos > last:
            self._tail = buf
            return np.zeros(0, np.float32)
        count = int((last - self._pos) // self.step) + 1
        positions = self._pos + self.step * np.arange(count)
        out = np.interp(positions, np.arange(len(buf)), buf).astype(np.float32)
        following = self._pos + self.step * count
        keep = min(int(following), last)
        self._tail = buf[keep:]
        self._pos = following - keep
        return out


class AudioDecoder:
    """Base of the decoders: ``feed`` chunks, ``finish`` at the end, ``close`` always.

    Args:
        sink: Gets the decoded samples (float32, 16 kHz mono).
    """

    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def feed(self, data: bytes) -> None:
        """Decode one chunk. Raises :class:`DecodeError` for undecodable data."""
        raise NotImplementedError

    async def finish(self) -> None:
        """Decode what is left (the sink has all the audio when this returns)."""

    def abort(self) -> None:
        """Stop at once, without awaiting (e.g. kill a subprocess); :meth:`close`
        still follows. Safe to call more than once."""

    async def close(self) -> None:
        """Release resources; safe to call more than once, also after a failure."""


class PcmDecoder(AudioDecoder):
    """Raw interleaved signed 16-bit little-endian PCM.

    Args:
        sink: See :class:`AudioDecoder`.
        sample_rate: Hz, 8000..192000.
        channels: Interleaved channels, averaged to mono.
    """

    def __init__(self, sink: Sink, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> None:
        super().__init__(sink)
        if not 8000 <= sample_rate <= 192000:
            raise DecodeError(f"sample_rate must be 8000..192000 Hz, got {sample_rate}")
        self.channels = channels
        self._frame = 2 * channels
        self._carry = b""  # an incomplete frame from the previous chunk
        self._resample = LinearResampler(sample_rate)

    async def feed(self, data: bytes) -> None:
        self.decode(data)

    def decode(self, data: bytes) -> None:
        """Synchronous :meth:`feed`."""
        data = self._carry + data
        whole = len(data) - len(data) % self._frame
        self._carry = data[whole:]
        if whole:
            samples = np.frombuffer(data[:whole], "<i2").astype(np.float32) / 32768.0
            if self.channels > 1:
                samples = samples.reshape(-1, self.channels).mean(axis=1)
            out = self._resample(samples)
            if len(out):
                self.sink(out)


class WavDecoder(AudioDecoder):
    """RIFF/WAVE: a header (possibly split over chunks) then frames; a chunk that starts
    with a new ``RIFF....WAVE`` header starts a new file (one WAV file per chunk).

    Raises (from :meth:`feed`):
        DecodeError: a malformed header, or a sample format other than PCM
            8/16/24/32-bit or 32-bit float.
    """

    #: Longest header accepted before the ``data`` chunk, in bytes.
    MAX_HEADER = 64 * 1024

    def __init__(self, sink: Sink) -> None:
        super().__init__(sink)
        self._head = b""  # header bytes not yet parsed
        self._remaining: int | None = None  # data bytes left in the current file
        self._frame = 0
        self._carry = b""
        self._format: tuple[int, int, int] = (0, 0, 0)  # (tag, channels, bits)
        self._resample: LinearResampler | None = None

    async def feed(self, data: bytes) -> None:
        self.decode(data)

    def decode(self, data: bytes) -> None:
        """Synchronous :meth:`feed`."""
        if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
            self._head, self._frame, self._carry = b"", 0, b""
        if not self._frame:
            self._head += data
            data = self._parse_header()
            if not self._frame:
                if len(self._head) > self.MAX_HEADER:
                    raise DecodeError("The WAV header has no data chunk")
                return
        if self._remaining is not None:
            data, self._remaining = data[: self._remaining], self._remaining - len(data)
            self._remaining = max(self._remaining, 0)
        data = self._carry + data
        whole = len(data) - len(data) % self._frame
        self._carry = data[whole:]
        if whole and self._resample is not None:
            out = self._resample(self._samples(data[:whole]))
            if len(out):
                self.sink(out)

    def _parse_header(self) -> bytes:
        """Parse ``self._head`` up to the data chunk; returns the bytes after it
        (``b""`` while the header is incomplete)."""
        head = self._head
        if len(head) < 12:
            return b""
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise DecodeError("The audio is not a RIFF/WAVE file")
        pos, fmt = 12, None
        while len(head) >= pos + 8:
            chunk_id, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
            body = pos + 8
            if chunk_id == b"data":
                if fmt is None:
                    raise DecodeError("The WAV file has no fmt chunk before its data")
                self._start(fmt, size)
                self._head = b""
                return head[body:]
            if len(head) < body + size:
                return b""
            if chunk_id == b"fmt ":
                fmt = head[body : body + size]
            pos = body + size + (size & 1)
        return b""

    def _start(self, fmt: bytes, data_size: int) -> None:
        if len(fmt) < 16:
            raise DecodeError("The WAV fmt chunk is too short")
        tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat's tag
            tag = struct.unpack("<H", fmt[24:26])[0]
        supported = (tag == 1 and bits in (8, 16, 24, 32)) or (tag == 3 and bits == 32)
        if not supported or channels < 1 or align != channels * bits // 8:
            raise DecodeError(
                f"Unsupported WAV sample format (tag {tag}, {bits} bits, {channels} channels)"
                "; send PCM 16-bit"
            )
        if not 8000 <= rate <= 192000:
            raise DecodeError(f"WAV sample rate must be 8000..192000 Hz, got {rate}")
        self._format, self._frame = (tag, channels, bits), align
        # 0 and 0xFFFFFFFF: a streaming writer that does not know the length.
        self._remaining = None if data_size in (0, 0xFFFFFFFF) else data_size
        self._resample = LinearResampler(rate)

    def _samples(self, data: bytes) -> np.ndarray:
        tag, channels, bits = self._format
        if tag == 3:
            samples = np.frombuffer(data, "<f4").astype(np.float32)
        elif bits == 8:
            samples = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
        elif bits == 16:
            samples = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
        elif bits == 24:
            raw = np.frombuffer(data, np.uint8).reshape(-1, 3).astype(np.int32)
            value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
            value = np.where(value >= 1 << 23, value - (1 << 24), value)
            samples = value.astype(np.float32) / float(1 << 23)
        else:
            samples = (np.frombuffer(data, "<i4").astype(np.float64) / 2**31).astype(np.float32)
        if channels > 1:
            samples = samples.reshape(-1, channels).mean(axis=1)
        return samples


def make_decoder(
    fmt: Format,
    sink: Sink,
    sample_rate: int = SAMPLE_RATE,
    on_error: Callable[[DecodeError], None] | None = None,
) -> AudioDecoder:
    """The decoder of a format (``sample_rate``: Hz of raw PCM only).

    Raises:
        DecodeError: an unknown format or an out-of-range sample rate.
    """
    if fmt == "pcm_s16le":
        return PcmDecoder(sink, sample_rate)
    if fmt == "wav":
        return WavDecoder(sink)
    if fmt in ("webm", "ogg"):
        from core.streaming.ffmpeg import FfmpegDecoder  # imports this module

        return FfmpegDecoder(sink, fmt, on_error)  # type: ignore[arg-type]
    raise DecodeError(f"Unknown audio format {fmt!r}; expected one of {', '.join(FORMATS)}")
