"""Room tone for the benchmark's recordings: brown noise plus mains hum, at a chosen SNR.

A quiet room picked up by a cheap microphone: low-frequency rumble (brown noise, power
falling 6 dB per octave) and hum from the mains (50 Hz in Europe, 60 Hz in North
America) with its second and third harmonics. The noise is scaled so that the speech
is ``snr_db`` louder than the noise (ratio of RMS levels, dB) and added over the whole
recording, its silent lead and tail included.

Pure numpy, no I/O. Units: sample rates and frequencies Hz, levels dB, lengths samples.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

#: The noise kind recorded in the manifest.
BROWN_HUM = "brown+hum"
#: Mains frequencies, Hz.
MAINS_HZ = (50, 60)
#: Amplitudes of the hum's fundamental, 2nd and 3rd harmonic (relative; a plausible
#: transformer hum, chosen here, not measured).
HUM_HARMONICS = (1.0, 0.5, 0.25)
#: Hum level relative to the brown noise, dB (RMS ratio; chosen so that both are heard).
HUM_RELATIVE_DB = -6.0
#: Below this frequency the brown noise spectrum is flat instead of rising without
#: bound (no DC drift), Hz: the lower limit of hearing.
BROWN_FLOOR_HZ = 20.0
#: Speech-to-noise ratios drawn for noisy items, dB (uniform in this range).
SNR_RANGE_DB = (15.0, 30.0)


@dataclass(frozen=True)
class Noise:
    """Room tone added to one recording: its kind, mains frequency (Hz) and SNR (dB)."""

    kind: str
    hum_hz: int
    snr_db: float

    def as_dict(self) -> dict[str, object]:
        """Manifest record ``{"kind", "hum_hz", "snr_db"}``."""
        return {"kind": self.kind, "hum_hz": self.hum_hz, "snr_db": self.snr_db}


def draw_noise(rng: random.Random) -> Noise:
    """A random room tone: 50 or 60 Hz hum, SNR uniform in ``SNR_RANGE_DB`` (0.1 dB steps)."""
    return Noise(BROWN_HUM, rng.choice(MAINS_HZ), round(rng.uniform(*SNR_RANGE_DB), 1))


def _unit_rms(signal: np.ndarray) -> np.ndarray:
    rms = float(np.sqrt(np.mean(signal**2)))
    return signal / rms if rms > 0 else signal


def brown_noise(samples: int, rate_hz: int, rng: np.random.Generator) -> np.ndarray:
    """Brown noise of unit RMS: white Gaussian noise shaped to amplitude ∝ 1/f in the
    frequency domain (flat below ``BROWN_FLOOR_HZ``, no DC)."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, d=1.0 / rate_hz)
    spectrum /= np.maximum(freqs, BROWN_FLOOR_HZ)
    spectrum[0] = 0.0
    return _unit_rms(np.fft.irfft(spectrum, n=samples))


def mains_hum(samples: int, rate_hz: int, hum_hz: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum of unit RMS: ``hum_hz`` and its harmonics (``HUM_HARMONICS``), random phases."""
    t = np.arange(samples) / rate_hz
    hum = sum(
        amplitude * np.sin(2 * np.pi * hum_hz * (k + 1) * t + rng.uniform(0, 2 * np.pi))
        for k, amplitude in enumerate(HUM_HARMONICS)
    )
    return _unit_rms(np.asarray(hum, dtype=np.float64))


def room_tone(samples: int, rate_hz: int, hum_hz: int, seed: int) -> np.ndarray:
    """Brown noise plus mains hum ``HUM_RELATIVE_DB`` below it, unit RMS (float64)."""
    rng = np.random.default_rng(seed)
    hum_gain = 10 ** (HUM_RELATIVE_DB / 20)
    return _unit_rms(
        brown_noise(samples, rate_hz, rng) + hum_gain * mains_hum(samples, rate_hz, hum_hz, rng)
    )


def add_noise(
    signal: np.ndarray, speech_rms: float, noise: Noise, rate_hz: int, seed: int, full_scale: float
) -> np.ndarray:
    """``signal`` plus room tone ``noise.snr_db`` below ``speech_rms``.

    Args:
        signal: Samples of the whole recording (lead and tail silence included), float.
        speech_rms: RMS of the speech alone (same units as ``signal``): the SNR's reference.
        noise: What to add; ``noise.snr_db`` = 20·log10(speech RMS / noise RMS).
        rate_hz: Sample rate of ``signal``, Hz (sets the hum frequency).
        seed: Seed of the noise generator (numpy ``default_rng``).
        full_scale: Largest allowed magnitude; a mix that would clip is scaled down as a
            whole, which keeps the SNR.

    Returns:
        The mixed samples, float64, ``|x| <= full_scale``.
    """
    gain = speech_rms / 10 ** (noise.snr_db / 20)
    mixed = signal + gain * room_tone(len(signal), rate_hz, noise.hum_hz, seed)
    peak = float(np.max(np.abs(mixed))) if len(mixed) else 0.0
    return mixed * (full_scale / peak) if peak > full_scale else mixed
