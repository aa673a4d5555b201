"""The benchmark's audio (``bench/noise.py``, ``bench/tts.py``): room tone at the SNR
asked for, Piper speaking deterministically at the rate asked for, and speech bounds
that noise does not move."""

from __future__ import annotations

import numpy as np
import pytest
from pydub import AudioSegment

from bench.noise import BROWN_HUM, Noise, add_noise, room_tone
from bench.tts import piper_voice, speech_bounds, synthesize_mp3, synthesize_wav

RATE_HZ = 16_000
TEXT = "The little brown dog ran across the green field to find his red ball."


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def _speech_like(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    tone = 6000 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    silence = np.zeros(RATE_HZ // 2)
    return np.concatenate([silence, tone, silence]), tone


@pytest.mark.parametrize("snr_db", [15.0, 22.5, 30.0])
def test_room_tone_is_added_at_the_snr_asked_for(snr_db):
    signal, speech = _speech_like()
    noise = Noise(BROWN_HUM, 50, snr_db)
    mixed = add_noise(signal, _rms(speech), noise, RATE_HZ, seed=3, full_scale=32767.0)
    added = mixed - signal
    assert 20 * np.log10(_rms(speech) / _rms(added)) == pytest.approx(snr_db, abs=0.01)
    assert _rms(added[: RATE_HZ // 2]) > 0  # the silent lead gets room tone too


def test_room_tone_is_brown_noise_with_mains_hum():
    samples = 8 * RATE_HZ
    tone = room_tone(samples, RATE_HZ, 60, seed=5)
    assert _rms(tone) == pytest.approx(1.0)
    assert np.array_equal(tone, room_tone(samples, RATE_HZ, 60, seed=5))
    assert not np.array_equal(tone, room_tone(samples, RATE_HZ, 60, seed=6))
    power = np.abs(np.fft.rfft(tone)) ** 2
    freqs = np.fft.rfftfreq(samples, 1 / RATE_HZ)

    def band(low: float, high: float) -> float:
        return float(power[(freqs >= low) & (freqs < high)].mean())

    # Brown: about 6 dB less power per octave, so 30 dB or more between 100 Hz and 4 kHz.
    assert band(90, 110) > 1000 * band(3800, 4200)
    for harmonic in (60, 120, 180):  # hum lines stand out of the noise around them
        assert band(harmonic - 0.5, harmonic + 0.5) > 10 * band(harmonic + 5, harmonic + 15)


def test_a_mix_that_would_clip_is_scaled_down_as_a_whole():
    signal, speech = _speech_like()
    loud = signal * (32767 / np.abs(signal).max())
    mixed = add_noise(loud, _rms(loud), Noise(BROWN_HUM, 50, 15.0), RATE_HZ, 1, 32767.0)
    assert np.abs(mixed).max() == pytest.approx(32767.0)


def _seconds(wav) -> float:
    return len(AudioSegment.from_wav(wav)) / 1000


def test_piper_speaks_the_same_for_a_seed_and_faster_when_asked(tmp_path):
    voice = piper_voice()
    assert voice.voice == "en_US-joe-medium" and voice.model.is_file()
    paths = [tmp_path / f"{name}.wav" for name in ("a", "b", "fast")]
    synthesize_wav(TEXT, voice, paths[0], seed=1)
    synthesize_wav(TEXT, voice, paths[1], seed=1)
    synthesize_wav(TEXT, voice, paths[2], rate_factor=1.2, seed=1)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert 2.0 < _seconds(paths[0]) < 8.0
    assert 0.7 < _seconds(paths[2]) / _seconds(paths[0]) < 0.95


def test_speech_bounds_are_those_of_the_speech_not_of_the_noise(tmp_path):
    voice, noise = piper_voice(), Noise(BROWN_HUM, 60, 15.0)
    clean = synthesize_mp3(TEXT, voice, tmp_path / "clean.mp3", 0.6, 0.5, seed=2)
    noisy = synthesize_mp3(TEXT, voice, tmp_path / "noisy.mp3", 0.6, 0.5, noise=noise, seed=2)
    assert noisy == clean
    assert clean.speech_start == pytest.approx(0.6, abs=0.1)
    assert 0.5 <= clean.duration_s - clean.speech_end < 0.9  # Piper's own tail, then 0.5 s
    # Measured on the file, the noise would count as speech from the first instant.
    assert speech_bounds(tmp_path / "clean.mp3").speech_start == pytest.approx(
        clean.speech_start, abs=0.005
    )
    assert speech_bounds(tmp_path / "noisy.mp3").speech_start < 0.1
