"""A client of the Follow My Reading API: log in, upload a page and a recording,
compare them, and get the miscues and the summary as typed results.

    from fmr_client import Client

    with Client("http://127.0.0.1:8000", username="alice", password="...") as fmr:
        result = fmr.check_page("reading.mp3", "page.jpg")

:class:`Client` is synchronous, :class:`AsyncClient` the same as coroutines. Errors of
the service raise :class:`APIError` subclasses carrying its ``detail``.
"""

from fmr_client._version import __version__
from fmr_client.async_client import AsyncClient
from fmr_client.client import Client
from fmr_client.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FMRError,
    NotAcceptableError,
    NotFoundError,
    NotLoggedIn,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RetryableError,
    ServerError,
    ServiceUnavailableError,
    TaskFailed,
    TransportError,
    UnexpectedResponse,
    ValidationError,
    WaitTimeout,
)
from fmr_client.models import (
    Evidence,
    ImageComparison,
    Miscue,
    ModelInfo,
    PageText,
    Point,
    ReadingSummary,
    Rectangle,
    Segment,
    TaskCreated,
    TaskStatus,
    TextBox,
    TextComparison,
    Tokens,
    Transcript,
    User,
    Word,
)
from fmr_client.reading import Piece, mark_reading
from fmr_client.store import FileTokenStore, MemoryTokenStore, TokenStore

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Evidence",
    "FMRError",
    "FileTokenStore",
    "ImageComparison",
    "MemoryTokenStore",
    "Miscue",
    "ModelInfo",
    "NotAcceptableError",
    "NotFoundError",
    "NotLoggedIn",
    "PageText",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Piece",
    "Point",
    "RateLimitError",
    "ReadingSummary",
    "Rectangle",
    "RetryableError",
    "Segment",
    "ServerError",
    "ServiceUnavailableError",
    "TaskCreated",
    "TaskFailed",
    "TaskStatus",
    "TextBox",
    "TextComparison",
    "TokenStore",
    "Tokens",
    "Transcript",
    "TransportError",
    "UnexpectedResponse",
    "User",
    "ValidationError",
    "WaitTimeout",
    "Word",
    "__version__",
    "mark_reading",
]
