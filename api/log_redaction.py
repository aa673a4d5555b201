"""Keep credentials out of log lines.

The spec's ``PUT /v1/auth/register`` takes the password as a query parameter, so
any log line that quotes a URL could carry it (the original service wrote
plaintext passwords to its access log). Ray Serve's access log prints the route
template, not the URL, but a handler-level filter also catches URLs that other
code (a library's warning, an error with the request in its message) may log.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactSecrets", "install", "redact"]

#: ``password=...`` and friends in query strings, form bodies and JSON-ish text, up
#: to the next separator. Values are replaced, keys kept so the line stays useful.
_SECRET = re.compile(
    r"""(?P<key>\b(?:password|passwd|refresh_token|access_token|client_secret|token)\b"""
    r"""["']?\s*[=:]\s*["']?)(?P<value>[^&\s"',;}]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    """``text`` with secret values (passwords, tokens) replaced by ``[REDACTED]``."""
    text = _SECRET.sub(lambda m: m.group("key") + REDACTED, text)
    return _BEARER.sub(lambda m: m.group("key") + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Logging filter that redacts secrets from a record's formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is left to its handler
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install(*logger_names: str) -> None:
    """Add the filter to every handler of the root logger and of ``logger_names``.

    Handler-level, because logger-level filters do not see records propagated from
    child loggers. Idempotent.
    """
    names = ("", "ray.serve", "uvicorn", "uvicorn.access", "uvicorn.error", *logger_names)
    for name in names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())
