"""Unit tests for core.audio and core.uploads.audio (needs ffmpeg/ffprobe on PATH)."""

import math
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image
from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError
from pydub.generators import Sine

from core.audio import (
    NOT_AUDIO_MESSAGE,
    dbfs_to_fraction,
    fraction_to_dbfs,
    load_audio,
    split_audio,
    split_silence,
)
from core.errors import DecodeTimeoutError, MediaError
from core.uploads.audio import ALLOWED_AUDIO_EXTENSIONS, MIN_AUDIO_DURATION_S, convert_upload_to_mp3
from tests.conftest import DATA as TESTS_DATA

DATA = TESTS_DATA
SAMPLE_MP3 = DATA / "every_path.mp3"
RATE = 44100
TOLERANCE_MS = 30


def tone(ms: int, dbfs: float = -3.0, freq: float = 440) -> AudioSegment:
    return Sine(freq, sample_rate=RATE).to_audio_segment(duration=ms, volume=dbfs)


def silence(ms: int) -> AudioSegment:
    return AudioSegment.silent(duration=ms, frame_rate=RATE)


def durations_ms(folder: Path, ids: list[uuid.UUID]) -> list[int]:
    return [len(AudioSegment.from_file(folder / f"{i}.mp3")) for i in ids]


# --- dBFS conversions -------------------------------------------------------------


@pytest.mark.parametrize("dbfs", [-96.0, -40.0, -20.0, -6.0, 0.0, 3.5])
def test_dbfs_round_trip(dbfs):
    assert fraction_to_dbfs(dbfs_to_fraction(dbfs)) == pytest.approx(dbfs)


@pytest.mark.parametrize("fraction", [1e-5, 0.05, 0.5, 1.0, 2.0])
def test_fraction_round_trip(fraction):
    assert dbfs_to_fraction(fraction_to_dbfs(fraction)) == pytest.approx(fraction)


def test_dbfs_edge_values():
    assert dbfs_to_fraction(0) == 1.0
    assert dbfs_to_fraction(-20) == pytest.approx(0.1)
    assert dbfs_to_fraction(-math.inf) == 0.0
    assert fraction_to_dbfs(0) == -math.inf
    assert fraction_to_dbfs(0.1) == pytest.approx(-20)
    with pytest.raises(ValueError):
        fraction_to_dbfs(-0.1)
    with pytest.raises(ValueError):
        fraction_to_dbfs(math.nan)


# --- split_audio ----------------------------------------------------------------


def test_split_audio_pieces_in_order_and_clamped(tmp_path):
    audio = tone(3000)
    ids = split_audio(audio, [(0, 1), (0.5, 2.25), (2.5, 10)], tmp_path)
    assert len(ids) == 3 and len(set(ids)) == 3
    assert all(isinstance(i, uuid.UUID) for i in ids)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}.mp3" for i in ids)
    # The last interval is clamped to the 3 s audio: 500 ms, not 7.5 s.
    for got, want in zip(durations_ms(tmp_path, ids), [1000, 1750, 500], strict=True):
        assert abs(got - want) <= TOLERANCE_MS


def test_split_audio_from_path_creates_out_dir(tmp_path):
    out = tmp_path / "new" / "pieces"
    ids = split_audio(SAMPLE_MP3, [(0.2, 1.1)], out)
    assert abs(durations_ms(out, ids)[0] - 900) <= TOLERANCE_MS


@pytest.mark.parametrize(
    "interval",
    [(-0.1, 1.0), (1.0, 0.5), (math.nan, 1.0), (0.0, math.nan), (5.0, 6.0), (0.5, 0.5)],
    ids=["negative-start", "end-before-start", "nan-start", "nan-end", "past-end", "empty"],
)
def test_split_audio_rejects_bad_interval_before_writing(tmp_path, interval):
    with pytest.raises(ValueError):
        split_audio(tone(2000), [(0.0, 1.0), interval], tmp_path)
    assert list(tmp_path.iterdir()) == []  # the valid first interval was not exported


def test_pydub_cannot_round_trip_an_empty_mp3(tmp_path):
    """Why split_audio refuses empty pieces instead of exporting them."""
    empty = tmp_path / "empty.mp3"
    AudioSegment.empty().export(empty, format="mp3")
    assert empty.stat().st_size > 0  # pydub "succeeds" ...
    with pytest.raises(CouldntDecodeError):  # ... but writes a frameless file
        AudioSegment.from_file(empty)


# --- split_silence --------------------------------------------------------------


def three_tones(dbfs: float = -3.0, gap: AudioSegment | None = None) -> AudioSegment:
    gap = silence(500) if gap is None else gap
    return tone(1000, dbfs) + gap + tone(1000, dbfs) + gap + tone(1000, dbfs)


def assert_intervals(got, want, tolerance_ms=5):
    assert len(got) == len(want), got
    for (gs, ge), (ws, we) in zip(got, want, strict=True):
        assert abs(gs - ws) <= tolerance_ms and abs(ge - we) <= tolerance_ms, got


def test_split_silence_separate_pieces(tmp_path):
    ids, intervals = split_silence(three_tones(), tmp_path, max_interval=1.5)
    # Tones at 0-1000, 1500-2500, 3000-4000 ms, each padded by 50 ms (clamped to 0/4000).
    assert_intervals(intervals, [(0, 1050), (1450, 2550), (2950, 4000)])
    assert all(isinstance(s, int) and isinstance(e, int) for s, e in intervals)
    want = [e - s for s, e in intervals]
    for got, w in zip(durations_ms(tmp_path, ids), want, strict=True):
        assert abs(got - w) <= TOLERANCE_MS


def test_split_silence_merges_greedily(tmp_path):
    _, intervals = split_silence(three_tones(), tmp_path, max_interval=2.6)
    assert_intervals(intervals, [(0, 2550), (2950, 4000)])


def test_split_silence_merges_everything_when_allowed(tmp_path):
    ids, intervals = split_silence(three_tones(), tmp_path, max_interval=30)
    assert_intervals(intervals, [(0, 4000)])
    assert len(ids) == 1 and (tmp_path / f"{ids[0]}.mp3").is_file()


def test_split_silence_never_cuts_inside_sound(tmp_path):
    _, intervals = split_silence(silence(300) + tone(3000) + silence(300), tmp_path, 1)
    assert_intervals(intervals, [(250, 3350)])


def test_split_silence_threshold_is_relative_to_peak(tmp_path):
    # A quiet recording (peak -30 dBFS) with a hum at -60 dBFS, 3% of the peak.
    hum = tone(500, dbfs=-60.0, freq=50)
    _, intervals = split_silence(three_tones(-30.0, gap=hum), tmp_path, max_interval=1.5)
    assert len(intervals) == 3
    # At cutoff_ratio 0.05 the hum is silence; at 0.01 it is sound, so nothing splits.
    _, intervals = split_silence(
        three_tones(-30.0, gap=hum), tmp_path, max_interval=1.5, cutoff_ratio=0.01
    )
    assert_intervals(intervals, [(0, 4000)])


@pytest.mark.parametrize("audio", [silence(2000), AudioSegment.empty()], ids=["silent", "empty"])
def test_split_silence_silence_only(tmp_path, audio):
    assert split_silence(audio, tmp_path) == ([], [])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs", [{"max_interval": 0}, {"cutoff_ratio": 0}, {"cutoff_ratio": 2}])
def test_split_silence_rejects_bad_parameters(tmp_path, kwargs):
    with pytest.raises(ValueError):
        split_silence(three_tones(), tmp_path, **kwargs)


# --- load_audio / convert_upload_to_mp3 -----------------------------------------


def test_allowed_extensions():
    assert {".mp3", ".wav", ".acc", ".aac", ".opus", ".ogv"} <= ALLOWED_AUDIO_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in ALLOWED_AUDIO_EXTENSIONS)


def test_load_audio_error_is_media_error_without_path(tmp_path):
    bad = tmp_path / "secret-dir" / "x.mp3"
    bad.parent.mkdir()
    bad.write_text("not audio at all")
    with pytest.raises(MediaError) as info:
        load_audio(bad)
    assert str(tmp_path) not in str(info.value) and "secret-dir" not in str(info.value)


def test_convert_sample_mp3(tmp_path):
    dst = tmp_path / "out.mp3"
    duration = convert_upload_to_mp3(SAMPLE_MP3, dst)
    assert duration == pytest.approx(1.776, abs=0.03)
    decoded = AudioSegment.from_file(dst)
    assert abs(len(decoded) - 1776) <= TOLERANCE_MS
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp3"]  # no temp file left


@pytest.mark.parametrize(
    ("suffix", "fmt"),
    [(".wav", "wav"), (".ogg", "ogg"), (".opus", "opus"), (".m4a", "ipod")],
)
def test_convert_generated_audio_keeps_channels(tmp_path, suffix, fmt):
    src = tmp_path / f"in{suffix}"
    tone(1000).set_channels(2).export(src, format=fmt)
    dst = tmp_path / "out.mp3"
    assert convert_upload_to_mp3(src, dst) == pytest.approx(1.0, abs=0.05)
    decoded = AudioSegment.from_file(dst)
    assert decoded.channels == 2  # mono is not forced
    assert abs(len(decoded) - 1000) <= 50


def test_convert_ignores_cover_art_stream(tmp_path):
    src = tmp_path / "with-cover.mp3"
    tone(1000).export(src, format="mp3", cover=str(DATA / "every_path.jpg"))
    assert convert_upload_to_mp3(src, tmp_path / "out.mp3") == pytest.approx(1.0, abs=0.05)


def write_text(path: Path) -> None:
    path.write_text("Every path is the right path.\n" * 20)


def write_zero(path: Path) -> None:
    path.write_bytes(b"")


def write_truncated_mp3(path: Path) -> None:
    path.write_bytes(SAMPLE_MP3.read_bytes()[:200])


def write_png(path: Path) -> None:
    Image.new("RGB", (64, 64), "red").save(path, format="PNG")


@pytest.mark.parametrize(
    ("name", "writer", "message"),
    [
        ("notes.mp3", write_text, NOT_AUDIO_MESSAGE),
        ("zero.mp3", write_zero, NOT_AUDIO_MESSAGE),
        ("picture.wav", write_png, NOT_AUDIO_MESSAGE),
        # 200 bytes still hold one mp3 frame: 48 ms of silence, caught by the minimum.
        ("truncated.mp3", write_truncated_mp3, "too short"),
    ],
    ids=["text-as-mp3", "zero-bytes", "png-as-wav", "truncated-mp3"],
)
def test_convert_rejects_non_audio(tmp_path, name, writer, message):
    src = tmp_path / name
    writer(src)
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "stored.mp3"
    with pytest.raises(MediaError) as info:
        convert_upload_to_mp3(src, dst)
    assert message in str(info.value)
    assert str(tmp_path) not in str(info.value)
    assert list(out.iterdir()) == []  # neither dst nor a temp file


def test_convert_failure_keeps_existing_dst(tmp_path):
    src = tmp_path / "notes.mp3"
    write_text(src)
    dst = tmp_path / "stored.mp3"
    dst.write_bytes(b"previous")
    with pytest.raises(MediaError):
        convert_upload_to_mp3(src, dst)
    assert dst.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp3", "stored.mp3"]


def test_convert_rejects_zero_duration(tmp_path):
    src = tmp_path / "empty.wav"
    AudioSegment.empty().set_frame_rate(RATE).export(src, format="wav")
    with pytest.raises(MediaError, match="duration is 0"):
        convert_upload_to_mp3(src, tmp_path / "out.mp3")
    assert not (tmp_path / "out.mp3").exists()


def test_convert_rejects_unaccepted_container(tmp_path):
    src = tmp_path / "in.wav"
    tone(1000).export(src, format="flac")
    with pytest.raises(MediaError, match="Unsupported audio format: flac"):
        convert_upload_to_mp3(src, tmp_path / "out.mp3")


def test_convert_max_duration(tmp_path):
    src = tmp_path / "long.wav"
    tone(3000).export(src, format="wav")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(MediaError, match="longer than the maximum of 2 seconds"):
        convert_upload_to_mp3(src, out / "a.mp3", max_duration_s=2)
    assert list(out.iterdir()) == []
    assert convert_upload_to_mp3(src, out / "b.mp3", max_duration_s=5) == pytest.approx(3.0)


def test_convert_min_duration_is_configurable(tmp_path):
    src = tmp_path / "blip.wav"
    tone(60).export(src, format="wav")
    assert MIN_AUDIO_DURATION_S > 0.06
    with pytest.raises(MediaError, match="too short"):
        convert_upload_to_mp3(src, tmp_path / "a.mp3")
    assert convert_upload_to_mp3(src, tmp_path / "b.mp3", min_duration_s=0.05) == pytest.approx(
        0.06, abs=0.002
    )


def test_convert_missing_source_is_not_a_media_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        convert_upload_to_mp3(tmp_path / "nope.mp3", tmp_path / "out.mp3")


def test_convert_downmixes_many_channels(tmp_path):
    # A 6-channel upload is decoded as stereo: mp3 holds no more, and the decoded size
    # of hostile files (Opus allows 255 channels) stays bounded.
    src = tmp_path / "surround.wav"
    AudioSegment.from_mono_audiosegments(
        *[tone(1000, freq=220 * (i + 1)) for i in range(6)]
    ).export(src, format="wav")
    assert convert_upload_to_mp3(src, tmp_path / "out.mp3") == pytest.approx(1.0, abs=0.05)
    assert AudioSegment.from_file(tmp_path / "out.mp3").channels == 2


@pytest.fixture
def hanging_ffmpeg(tmp_path, monkeypatch):
    """An "ffmpeg" that records its pid and hangs: a decoder stuck on a hostile file."""
    pid_file = tmp_path / "ffmpeg.pid"
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    script.chmod(0o755)
    monkeypatch.setattr(AudioSegment, "converter", str(script))
    return pid_file


def test_convert_kills_a_decoder_that_runs_out_of_time(tmp_path, hanging_ffmpeg):
    out = tmp_path / "out"
    out.mkdir()
    started = time.monotonic()
    with pytest.raises(DecodeTimeoutError, match=r"^Decoding the file took longer than 0.5 s$"):
        convert_upload_to_mp3(SAMPLE_MP3, out / "a.mp3", timeout_s=0.5)
    assert time.monotonic() - started < 5  # not the 30 s the decoder wanted
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(int(hanging_ffmpeg.read_text()), 0)
    assert list(out.iterdir()) == []  # no temp WAV or partial mp3


def test_decode_timeout_is_a_media_error_and_validated(tmp_path):
    assert issubclass(DecodeTimeoutError, MediaError)
    with pytest.raises(DecodeTimeoutError):  # the whole budget, ffprobe included
        convert_upload_to_mp3(SAMPLE_MP3, tmp_path / "a.mp3", timeout_s=1e-6)
    with pytest.raises(ValueError, match="timeout_s"):
        convert_upload_to_mp3(SAMPLE_MP3, tmp_path / "a.mp3", timeout_s=0)
    assert convert_upload_to_mp3(SAMPLE_MP3, tmp_path / "b.mp3", timeout_s=None) > 1


def test_ffmpeg_is_available():
    # Everything above shells out to these; fail loudly rather than obscurely.
    assert shutil.which("ffmpeg") and shutil.which("ffprobe")
