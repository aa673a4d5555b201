"""Exceptions shared by the media helpers in :mod:`core`.

These modules are pure Python (no Ray, no FastAPI); the web layer decides how to map
the exceptions to HTTP responses.
"""

__all__ = ["DecodeTimeoutError", "MediaError"]


class MediaError(ValueError):
    """Bad user-supplied media: not audio/an image, undecodable, too long, too large.

    ``str(error)`` is a complete, user-facing sentence meant for a 4xx response body,
    e.g. ``"Only audio files uploads are allowed"``. Messages never contain server
    paths; the underlying library error, if any, is chained as ``__cause__`` for logs.

    It subclasses :class:`ValueError` so callers that already treat ``ValueError`` as
    "bad input" keep working.
    """


class DecodeTimeoutError(MediaError):
    """Decoding an upload took longer than its time budget; the decoder was killed.

    Hostile or pathological files (e.g. crafted to make ffmpeg crawl) end up here. It
    is a :class:`MediaError`, so the web layer answers 422 with ``str(error)``.
    """
