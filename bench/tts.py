"""Synthesize speech with espeak-ng or festival and measure where the speech is.

Units: durations and times are seconds (pydub works in milliseconds internally);
speaking rate is words per minute; levels are dBFS; sample rate is Hz.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment
from pydub.silence import detect_nonsilent

ESPEAK = "espeak-ng"
FESTIVAL = "festival"
SAMPLE_RATE_HZ = 16_000
MP3_BITRATE = "32k"
#: Audio quieter than the file's average level minus this many dB counts as silence.
SILENCE_BELOW_AVERAGE_DB = 25.0
#: Shortest stretch that counts as silence when looking for speech, milliseconds.
MIN_SILENCE_MS = 100


@dataclass(frozen=True)
class Voice:
    """A TTS voice: engine, voice name and, for espeak-ng, rate in words per minute."""

    engine: str
    voice: str
    rate_wpm: int | None = None

    def as_dict(self) -> dict[str, object]:
        """Manifest record ``{"engine", "voice", "rate_wpm"}`` (rate None: engine default)."""
        return {"engine": self.engine, "voice": self.voice, "rate_wpm": self.rate_wpm}


@dataclass(frozen=True)
class SpeechBounds:
    """A recording's length and where its speech starts and ends, seconds."""

    duration_s: float
    speech_start: float
    speech_end: float


def synthesize_wav(text: str, voice: Voice, wav_path: Path) -> None:
    """Speak ``text`` into a WAV file with the voice's engine.

    espeak-ng gets the text as an argument; festival's ``text2wave`` reads it from a
    temporary file and selects the voice with ``-eval "(voice_NAME)"``.
    """
    if voice.engine == ESPEAK:
        cmd = [ESPEAK, "-v", voice.voice, "-w", str(wav_path)]
        if voice.rate_wpm is not None:
            cmd += ["-s", str(voice.rate_wpm)]
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
    else:
        raise ValueError(f"unknown TTS engine {voice.engine!r}")


def synthesize_mp3(
    text: str, voice: Voice, mp3_path: Path, lead_s: float = 0.0, tail_s: float = 0.0
) -> None:
    """Speak ``text`` into a mono 16 kHz mp3, with ``lead_s``/``tail_s`` seconds of silence."""
    mp3_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        synthesize_wav(text, voice, wav)
        speech = AudioSegment.from_wav(wav).set_channels(1).set_frame_rate(SAMPLE_RATE_HZ)
    padded = (
        AudioSegment.silent(round(lead_s * 1000), SAMPLE_RATE_HZ)
        + speech
        + AudioSegment.silent(round(tail_s * 1000), SAMPLE_RATE_HZ)
    )
    padded.export(mp3_path, format="mp3", bitrate=MP3_BITRATE)


def speech_bounds(path: Path) -> SpeechBounds:
    """Duration and first/last non-silent instant of an audio file, seconds.

    Non-silent means louder than the file's average level (dBFS) minus
    ``SILENCE_BELOW_AVERAGE_DB``, found by ``pydub.silence.detect_nonsilent`` with a
    1 ms step, so the times have millisecond resolution.
    """
    audio = AudioSegment.from_file(path)
    ranges = detect_nonsilent(
        audio,
        min_silence_len=MIN_SILENCE_MS,
        silence_thresh=audio.dBFS - SILENCE_BELOW_AVERAGE_DB,
        seek_step=1,
    )
    if not ranges:
        raise ValueError(f"no speech found in {path}")
    return SpeechBounds(
        duration_s=round(len(audio) / 1000, 3),
        speech_start=round(ranges[0][0] / 1000, 3),
        speech_end=round(ranges[-1][1] / 1000, 3),
    )
