"""Decoding of live-stream chunks (core.streaming.decode, core.streaming.ffmpeg): raw
PCM and WAV in-process, WebM/Ogg Opus through ffmpeg, made here from an espeak-ng
recording (the shipped one, tests/data/miscue.mp3, when espeak-ng is missing)."""

from __future__ import annotations

import asyncio
import io
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from core.streaming import DecodeError, encode_wav, make_decoder, sniff_format
from core.streaming.decode import LinearResampler, PcmDecoder, WavDecoder
from tests.conftest import DATA

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def speech_wav(folder: Path, text: str = "The little brown dog ran across the field.") -> Path:
    """A 16-kHz mono WAV of speech: espeak-ng's, else the shipped espeak-ng recording."""
    out = folder / "speech16.wav"
    source = DATA / "miscue.mp3"
    if shutil.which("espeak-ng"):
        source = folder / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(source), text],
            check=True,
            capture_output=True,
        )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-ac", "1", "-ar", "16000", str(out)],
        check=True,
    )
    return out


def ffmpeg_to(source: Path, out: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *args, str(out)], check=True)
    return out


def decode_all(fmt: str, chunks: list[bytes], **kwargs) -> np.ndarray:
    """Feed ``chunks`` to a decoder of ``fmt``; all samples it gave (float32)."""
    out: list[np.ndarray] = []
    errors: list[Exception] = []

    async def go():
        decoder = make_decoder(fmt, out.append, on_error=errors.append, **kwargs)
        try:
            for chunk in chunks:
                await decoder.feed(chunk)
                await asyncio.sleep(0)
            await decoder.finish()
        finally:
            await decoder.close()

    asyncio.run(go())
    assert errors == []
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def pcm16(samples: np.ndarray) -> bytes:
    return (samples * 32767).astype("<i2").tobytes()


def wav_file(frames: bytes, rate=16000, channels=1, width=2) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(frames)
    return out.getvalue()


TONE = (0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)


def test_sniffing():
    assert sniff_format(wav_file(b"\0\0")) == "wav"
    assert sniff_format(b"\x1a\x45\xdf\xa3\x9f") == "webm"
    assert sniff_format(b"OggS\x00\x02") == "ogg"
    assert sniff_format(b"\x01\x02\x03\x04") == "pcm_s16le"


def test_pcm_split_at_odd_byte_boundaries_decodes_exactly():
    data = pcm16(TONE)
    decoded = decode_all("pcm_s16le", split(data, 333))
    expected = np.frombuffer(data, "<i2").astype(np.float32) / 32768
    np.testing.assert_array_equal(decoded, expected)


def test_pcm_at_another_rate_is_resampled_to_16k():
    tone8k = (0.5 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype(np.float32)
    decoded = decode_all("pcm_s16le", split(pcm16(tone8k), 1001), sample_rate=8000)
    assert abs(len(decoded) - 16000) <= 2
    # The same tone: compare with the 16-kHz one away from the edges.
    assert np.max(np.abs(decoded[100:15800] - TONE[100:15800])) < 0.01


def test_streaming_resampler_equals_one_shot():
    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32)
    whole = LinearResampler(48000)(x)
    resampler = LinearResampler(48000)
    pieces = np.concatenate([resampler(c) for c in np.array_split(x, 37)])
    np.testing.assert_allclose(pieces, whole, atol=1e-6)


def test_wav_header_then_frames_with_the_header_split():
    data = wav_file(pcm16(TONE))
    chunks = [data[:10], data[10:30], *split(data[30:], 4001)]
    decoded = decode_all("wav", chunks)
    np.testing.assert_allclose(decoded, TONE, atol=1e-4)  # 16-bit quantisation


def test_one_wav_file_per_chunk_and_stereo_44k():
    mono = np.frombuffer(pcm16(TONE[:8000]), "<i2")
    interleaved = np.stack([mono, -mono], axis=1).reshape(-1).astype("<i2").tobytes()
    half_second = wav_file(interleaved, channels=2)
    decoded = decode_all("wav", [half_second, half_second])
    assert len(decoded) == 16000
    assert np.max(np.abs(decoded)) < 1e-4  # the two channels averaged
    rate44 = wav_file(pcm16(np.zeros(44100, np.float32)), rate=44100)
    assert abs(len(decode_all("wav", [rate44])) - 16000) <= 2


def wav_with_format(tag: int, bits: int, frames: bytes, channels: int = 1) -> bytes:
    """A WAV file with a hand-made fmt chunk (16 kHz)."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, 16000, 16000 * align, align, bits)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_wav_float32_and_24_bit():
    as_float = wav_with_format(3, 32, TONE.astype("<f4").tobytes())
    np.testing.assert_allclose(decode_all("wav", [as_float]), TONE, atol=1e-6)
    ints = (TONE * (1 << 23)).astype("<i4").tobytes()
    packed = b"".join(ints[i : i + 3] for i in range(0, len(ints), 4))
    np.testing.assert_allclose(decode_all("wav", [wav_with_format(1, 24, packed)]), TONE, atol=1e-6)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"RIFF\0\0\0\0WAVEdata\0\0\0\0", "no fmt chunk"),
        (wav_with_format(2, 4, b"\0" * 64), "Unsupported WAV sample format"),
        (b"RIFF\0\0\0\0WAVEjunk" + struct.pack("<I", 70000) + b"\0" * 70000, "no data chunk"),
    ],
)
def test_bad_wav_is_refused(data, message):
    with pytest.raises(DecodeError, match=message):
        WavDecoder(lambda _: None).decode(data)


def test_out_of_range_sample_rate():
    with pytest.raises(DecodeError, match="sample_rate"):
        PcmDecoder(lambda _: None, sample_rate=1000)


def test_encode_wav_round_trips():
    decoded = decode_all("wav", [encode_wav(TONE)])
    np.testing.assert_allclose(decoded, TONE, atol=1 / 16384)


@pytest.mark.parametrize(
    "container, args",
    [
        ("webm", ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"]),
        ("ogg", ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"]),
    ],
)
def test_opus_streamed_in_pieces_decodes_like_the_whole_file(tmp_path, container, args):
    source = speech_wav(tmp_path)
    encoded = ffmpeg_to(source, tmp_path / f"speech.{container}", *args).read_bytes()
    assert sniff_format(encoded) == container
    streamed = decode_all(container, split(encoded, 1500))
    whole = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(tmp_path / f"speech.{container}"),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-f",
            "s16le",
            "pipe:1",
        ],
        check=True,
        capture_output=True,
    ).stdout
    expected = np.frombuffer(whole, "<i2").astype(np.float32) / 32768
    assert len(streamed) == len(expected)
    np.testing.assert_array_equal(streamed, expected)
    with wave.open(str(source)) as reader:
        assert abs(len(streamed) - reader.getnframes()) < 16000 * 0.1


def test_ffmpeg_output_arrives_while_the_stream_goes_on(tmp_path):
    encoded = ffmpeg_to(
        speech_wav(tmp_path), tmp_path / "s.webm", "-c:a", "libopus", "-f", "webm"
    ).read_bytes()
    got: list[int] = []

    async def go():
        decoder = make_decoder("webm", lambda s: got.append(len(s)))
        try:
            half = len(encoded) // 2
            await decoder.feed(encoded[:half])
            for _ in range(100):  # up to 2 s for ffmpeg to start and decode
                if sum(got) > 16000:
                    break
                await asyncio.sleep(0.02)
            before_end = sum(got)
            await decoder.feed(encoded[half:])
            await decoder.finish()
            return before_end
        finally:
            await decoder.close()

    before_end = asyncio.run(go())
    assert before_end > 16000  # over a second decoded from the first half alone
    assert sum(got) > before_end


def test_garbage_in_a_webm_stream_is_a_decode_error():
    async def go():
        errors: list[Exception] = []
        decoder = make_decoder("webm", lambda _: None, on_error=errors.append)
        try:
            await decoder.feed(b"\x1a\x45\xdf\xa3" + b"\xff" * 5000)
            await decoder.finish()
        except DecodeError as error:
            errors.append(error)
        finally:
            await decoder.close()
        return errors

    errors = asyncio.run(go())
    assert errors and all(isinstance(e, DecodeError) for e in errors)
    assert "webm audio could not be decoded" in str(errors[0])


def test_closing_kills_ffmpeg():
    async def go():
        decoder = make_decoder("webm", lambda _: None)
        await decoder.feed(b"\x1a\x45\xdf\xa3")
        process = decoder._process
        await decoder.close()
        await decoder.close()  # twice is fine
        return process.returncode

    assert asyncio.run(go()) is not None
