"""Limits of a live stream, from the settings where they have them.

The API's settings may define ``stream_<field>`` for each field of
:class:`StreamLimits` (environment ``FMR_STREAM_<FIELD>``); fields they lack take
:data:`DEFAULT_LIMITS`. Units: seconds and bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LIMITS", "StreamLimits"]


@dataclass(frozen=True)
class StreamLimits:
    """Limits and policy of a stream (seconds, bytes).

    Attributes:
        max_duration_s: Longest stream (audio time); ``FMR_STREAM_MAX_DURATION_S``.
        max_message_bytes: Largest message; ``FMR_STREAM_MAX_MESSAGE_BYTES``.
        min_chunk_s: New audio before decoding again; ``FMR_STREAM_MIN_CHUNK_S``.
        buffer_trim_s: Audio buffer length that is trimmed; ``FMR_STREAM_BUFFER_TRIM_S``.
        idle_timeout_s: Longest wait for a message; ``FMR_STREAM_IDLE_TIMEOUT_S``.
        auth_timeout_s: Longest wait for the token message.
    """

    max_duration_s: float = 600.0
    max_message_bytes: int = 1024 * 1024
    min_chunk_s: float = 1.0
    buffer_trim_s: float = 15.0
    idle_timeout_s: float = 30.0
    auth_timeout_s: float = 10.0

    @classmethod
    def from_settings(cls, settings: Any, defaults: StreamLimits | None = None) -> StreamLimits:
        """``settings.stream_<field>`` where set, else the field of ``defaults``
        (:data:`DEFAULT_LIMITS` when None)."""
        defaults = defaults or DEFAULT_LIMITS
        values = {
            name: getattr(settings, f"stream_{name}", getattr(defaults, name))
            for name in cls.__dataclass_fields__
        }
        return cls(**values)


DEFAULT_LIMITS = StreamLimits()
