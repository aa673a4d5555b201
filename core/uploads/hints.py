"""Hints about an upload's format from what the client says: file name and MIME type.

Only hints: the content alone decides whether an upload is accepted
(``core.uploads.audio``, ``core.uploads.images``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Literal

from core.uploads.audio import ALLOWED_AUDIO_EXTENSIONS
from core.uploads.images import ALLOWED_IMAGE_EXTENSIONS

__all__ = ["MIME_TYPES", "format_hint"]

#: Python's built-in MIME table (not the host's mime.types, so every node agrees) plus
#: types browsers send that it lacks: audio/wav and MediaRecorder's audio/webm.
MIME_TYPES = mimetypes.MimeTypes()
for _type, _suffix in (
    ("audio/webm", ".webm"),
    ("audio/wav", ".wav"),
    ("audio/wave", ".wav"),
    ("audio/vnd.wave", ".wav"),
    ("audio/x-m4a", ".m4a"),
):
    MIME_TYPES.add_type(_type, _suffix)


def format_hint(
    kind: Literal["audio", "image"], filename: str | None, content_type: str | None
) -> str:
    """The suffix to stage an upload under: the client's, if it is a known one.

    ffprobe weighs a matching extension when content alone is ambiguous (raw ADTS
    AAC, mp3 behind junk bytes), so a plausible suffix helps it; an unknown one is
    dropped so that a hostile name (``.txt``, ``.m3u8``) cannot steer it toward a
    demuxer outside the allow-list. Never used to accept or refuse a file.

    Args:
        kind: ``"audio"`` or ``"image"``.
        filename: The client's file name, e.g. ``"a.mp3"``, ``"blob"``, ``" "``.
        content_type: The part's MIME type, e.g. ``"audio/mpeg"``; parameters such
            as ``;codecs=opus`` are ignored.

    Returns:
        A suffix from ``ALLOWED_AUDIO_EXTENSIONS`` / ``ALLOWED_IMAGE_EXTENSIONS``
        (``".mp3"``), or ``""`` when neither hint names one.
    """
    allowed = ALLOWED_AUDIO_EXTENSIONS if kind == "audio" else ALLOWED_IMAGE_EXTENSIONS
    suffix = Path(filename or "").suffix.lower()
    if suffix in allowed:
        return suffix
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    for guess in MIME_TYPES.guess_all_extensions(mime) if mime else []:
        if guess in allowed:
            return guess
    return ""
