"""Live transcription of a stream of audio chunks, with the reading check as it goes.

* :mod:`core.streaming.decode`: incoming chunks (PCM, WAV, WebM/Ogg Opus) to 16-kHz
  mono samples.
* :mod:`core.streaming.policy`: LocalAgreement-2 over re-decoded windows
  (whisper_streaming, Macháček et al. 2023).
* :mod:`core.streaming.session`: one stream: when to decode, what to emit, trimming.
* :mod:`core.streaming.reading`: miscues reported as the reader gets past them.

The WebSocket route is :mod:`api.routes.stream`; its messages :mod:`api.schemas.stream`.
"""

from core.streaming.decode import (
    FORMATS,
    SAMPLE_RATE,
    AudioDecoder,
    DecodeError,
    encode_wav,
    make_decoder,
    sniff_format,
)
from core.streaming.limits import DEFAULT_LIMITS, StreamLimits
from core.streaming.policy import HypothesisBuffer, TimedWord
from core.streaming.reading import IncrementalReadingCheck
from core.streaming.session import Partial, StreamConfig, StreamEnd, StreamSession, Window

__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "SAMPLE_RATE",
    "AudioDecoder",
    "DecodeError",
    "HypothesisBuffer",
    "IncrementalReadingCheck",
    "Partial",
    "StreamConfig",
    "StreamEnd",
    "StreamLimits",
    "StreamSession",
    "TimedWord",
    "Window",
    "encode_wav",
    "make_decoder",
    "sniff_format",
]
