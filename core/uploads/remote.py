"""Download user media given by URL without letting the URL reach internal services (SSRF).

:func:`fetch_media` streams an http(s) URL into a file object under a :class:`UrlPolicy`.
Every TCP connection (first request and each redirect) goes through a network backend that
resolves the host itself, checks *every* resolved address with :func:`address_refusal` and
connects to one of those very addresses, so DNS rebinding (public answer when checked,
internal one when connecting) cannot slip through. TLS and the ``Host`` header still use
the URL's hostname (httpcore starts TLS on the connected socket with it as server name).
Pure domain code (no Ray, no FastAPI); errors are :class:`core.errors.MediaError`s.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any, BinaryIO

import httpcore
import httpx

from core.errors import MediaError

__all__ = [
    "MAX_URL_LENGTH",
    "FetchedMedia",
    "RemoteFetchFailed",
    "RemoteMediaError",
    "RemoteTimeout",
    "RemoteTooLarge",
    "Resolver",
    "UrlPolicy",
    "UrlRefused",
    "address_refusal",
    "default_resolver",
    "fetch_media",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``async (host, port) -> [ip, ...]``; raises :class:`OSError` (e.g. ``socket.gaierror``)
#: when the name does not resolve.
Resolver = Callable[[str, int], Awaitable[list[str]]]

#: Longest URL accepted, in characters (also applied to redirect targets).
MAX_URL_LENGTH = 2048
_SCHEMES = frozenset({"http", "https"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Cloud instance metadata endpoints (AWS/GCP/Azure/Oracle, AWS ECS, Alibaba, AWS IPv6).
#: They hand out credentials, so the allowlist cannot re-open them.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
# httpx errors and the httpcore ones our transport lets through (no timeouts: see fetch_media).
_FAILURES = (httpx.HTTPError, httpx.InvalidURL, httpcore.NetworkError, httpcore.ProtocolError)
#: Refused ranges that some Python versions' ipaddress flags miss.
_EXTRA_REFUSED = {
    ipaddress.ip_network("100.64.0.0/10"): "shared (CGNAT)",  # RFC 6598
    ipaddress.ip_network("64:ff9b::/96"): "NAT64",  # RFC 6052: may translate to internal IPv4
    ipaddress.ip_network("2002::/16"): "6to4",  # RFC 3056, deprecated; embeds any IPv4
}
# ipaddress flags (is_...) checked in this order; the first one set is the refusal reason.
_REFUSED = "unspecified loopback link_local multicast private reserved site_local".split()


class RemoteMediaError(MediaError):
    """A media URL could not be downloaded. ``str(error)`` is a user-facing sentence (4xx)
    naming at most the URL's host, never a resolved address or a server path."""


class UrlRefused(RemoteMediaError):
    """The URL is not allowed: bad scheme, credentials, too long, invalid, too many
    redirects, or its host resolves to a refused address. ``reason`` says why, for logs
    (e.g. ``"loopback"``, ``"scheme"``); the message itself stays generic."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RemoteTooLarge(RemoteMediaError):
    """The body is larger than ``UrlPolicy.max_bytes`` (by Content-Length or as streamed)."""


class RemoteTimeout(RemoteMediaError):
    """The whole download, redirects included, took longer than ``UrlPolicy.timeout_s``."""


class RemoteFetchFailed(RemoteMediaError):
    """DNS failure, connection failure, broken transfer or non-2xx answer. ``status`` is the
    HTTP status code when the server answered, else ``None``."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _network(entry: object) -> IPNetwork:
    try:
        return ipaddress.ip_network(entry)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Invalid URL allowlist entry {entry!r}: expected an IP address or a network "
            "such as 10.0.0.0/8 (host bits must be zero)"
        ) from error


@dataclass(frozen=True)
class UrlPolicy:
    """Limits of one download.

    ``max_bytes``: largest body in bytes. ``timeout_s``: cap in seconds on the whole fetch
    (DNS, connects, redirects and body). ``max_redirects``: redirects followed (0: none).
    ``allowlist``: networks allowed even though not public (e.g. a local test server);
    strings such as ``"10.0.0.0/8"`` are converted. Cloud metadata addresses stay refused.
    """

    max_bytes: int
    timeout_s: float = 30.0
    max_redirects: int = 5
    allowlist: tuple[IPNetwork, ...] = ()

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.timeout_s <= 0 or self.max_redirects < 0:
            raise ValueError("max_bytes and timeout_s must be > 0, max_redirects >= 0")
        object.__setattr__(self, "allowlist", tuple(_network(n) for n in self.allowlist))

    @staticmethod
    def parse_allowlist(text: str) -> tuple[IPNetwork, ...]:
        """``"127.0.0.1/32, 10.0.0.0/8,::1"`` -> networks (a bare address is a /32 or /128);
        empty entries are skipped. Raises :class:`ValueError` naming an invalid entry."""
        return tuple(_network(e.strip()) for e in text.split(",") if e.strip())


@dataclass(frozen=True)
class FetchedMedia:
    """What :func:`fetch_media` downloaded. ``content_type``: media type without parameters,
    lower case, or ``None``. ``filename``: a hint from Content-Disposition or the last path
    segment (a bare name, no directories) or ``None``; the content is validated elsewhere.
    ``size``: bytes written to the target."""

    final_url: str
    content_type: str | None
    filename: str | None
    size: int


def _parse_ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")


def address_refusal(address: str | IPAddress, allowlist: Iterable[IPNetwork] = ()) -> str | None:
    """Why connecting to ``address`` is refused (``"loopback"``, ``"private"``, ...), or
    ``None`` when it is allowed.

    Allowed: addresses in ``allowlist``, and globally reachable unicast addresses, i.e.
    Python's ``ipaddress`` ``is_global`` (the IANA special-purpose registries of RFC 6890)
    and none of ``is_unspecified`` (0.0.0.0, ::), ``is_loopback``, ``is_link_local``
    (169.254/16, fe80::/10), ``is_multicast``, ``is_private`` (RFC 1918, ULA fc00::/7,
    documentation, benchmark...), ``is_reserved`` or ``is_site_local``, nor in carrier-grade
    NAT 100.64/10 (RFC 6598), NAT64 64:ff9b::/96 or 6to4 2002::/16 (these two embed an IPv4
    address that a translator may reach). IPv4-mapped IPv6 (``::ffff:127.0.0.1``) is judged
    as its IPv4 address. Cloud metadata addresses (169.254.169.254, fd00:ec2::254, ...) are
    refused even inside the allowlist. Refused addresses would reach this server, its
    network or its cloud provider rather than the public Internet.
    """
    ip = _parse_ip(address) if isinstance(address, str) else address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "cloud metadata"
    if any(ip in network for network in allowlist):
        return None
    for network, reason in _EXTRA_REFUSED.items():
        if ip in network:
            return reason
    for name in _REFUSED:
        if getattr(ip, f"is_{name}", False):  # IPv4 has no is_site_local
            return name.replace("_", "-")
    return None if ip.is_global else "not global"


async def default_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the event loop's ``getaddrinfo``: unique IPs, in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects ``inner`` to a checked IP."""

    def __init__(self, allowlist: tuple[IPNetwork, ...], resolver: Resolver, inner: Any) -> None:
        self._allowlist = allowlist
        self._resolver = resolver
        self._inner = inner

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            return [_parse_ip(host)]  # a literal IP host: no DNS
        except ValueError:
            pass
        try:
            found = [_parse_ip(a) for a in await self._resolver(host, port)]
        except (OSError, ValueError) as error:
            raise RemoteFetchFailed(f"The host {host} could not be found") from error
        if not found:
            raise RemoteFetchFailed(f"The host {host} could not be found")
        return found

    async def connect_tcp(
        self, host: str, port: int, **options: Any
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        # All addresses must pass: otherwise the outcome would depend on which one answers.
        for ip in addresses:
            reason = address_refusal(ip, self._allowlist)
            if reason is not None:
                raise UrlRefused(f"Downloads from {host} are not allowed", reason)
        error: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(str(ip), port, **options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                error = failure
        assert error is not None
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        if hasattr(self._stream, "aclose"):
            await self._stream.aclose()


class _CheckedTransport(httpx.AsyncBaseTransport):
    """httpx transport over an httpcore pool using the checked backend (httpx's own
    transport does not take a network backend). httpcore errors are mapped by the caller."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        ssl_context = httpx.create_ssl_context(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, max_connections=4, network_backend=backend
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_url = httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        )
        core_request = httpcore.Request(
            request.method,
            core_url,
            headers=request.headers.raw,
            content=request.stream,  # type: ignore[arg-type]
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def _check_url(text: str) -> httpx.URL:
    if len(text) > MAX_URL_LENGTH:
        raise UrlRefused(f"The URL is longer than {MAX_URL_LENGTH} characters", "too long")
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError) as error:
        raise UrlRefused("The URL is not valid", "invalid") from error
    if url.scheme not in _SCHEMES:
        raise UrlRefused("Only http:// and https:// URLs are allowed", "scheme")
    if url.userinfo:
        raise UrlRefused("URLs with a user name or password are not allowed", "credentials")
    if not url.host:
        raise UrlRefused("The URL has no host", "no host")
    return url


@contextlib.contextmanager
def _network_errors(host: str) -> Iterator[None]:
    """Map httpx/httpcore errors of one hop to user-facing errors naming ``host``."""
    try:
        yield
    except (httpx.ConnectError, httpcore.ConnectError) as error:
        raise RemoteFetchFailed(f"Could not connect to {host}") from error
    except _FAILURES as error:
        raise RemoteFetchFailed(f"The download from {host} failed") from error


def _filename_hint(response: httpx.Response) -> str | None:
    name = None
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()  # handles quoting and RFC 2231 filename*=
    if not name:
        name = response.url.path.rsplit("/", 1)[-1]  # .path is percent-decoded
    # Only a bare, printable name: never a directory part.
    name = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable())
    name = name.strip()
    return name[:255] if name not in ("", ".", "..") else None


async def _save(response: httpx.Response, target: BinaryIO, policy: UrlPolicy) -> FetchedMedia:
    host = response.url.host
    if not response.is_success:
        status = response.status_code
        phrase = httpx.codes.get_reason_phrase(status)
        raise RemoteFetchFailed(
            f"The server {host} answered with HTTP status {status} {phrase}".rstrip(), status
        )
    too_large = f"The file at {host} is larger than the maximum of {policy.max_bytes} bytes"
    length = response.headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > policy.max_bytes:
        raise RemoteTooLarge(too_large)  # before reading any of the body
    size = 0
    async for chunk in response.aiter_bytes():  # counts decoded bytes: no compression bomb
        size += len(chunk)
        if size > policy.max_bytes:
            raise RemoteTooLarge(too_large)
        target.write(chunk)
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return FetchedMedia(str(response.url), content_type or None, _filename_hint(response), size)


async def fetch_media(
    url: str,
    target: BinaryIO,
    policy: UrlPolicy,
    *,
    resolver: Resolver | None = None,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
) -> FetchedMedia:
    """GET ``url`` (following up to ``policy.max_redirects`` redirects) and write its body
    into ``target`` (synchronous ``write``; on error it may hold a partial body).

    ``resolver`` defaults to :func:`default_resolver`; ``network_backend`` opens the
    connections to checked IP addresses (default: httpcore's anyio backend; tests pass a
    recording one). Refused addresses: see :func:`address_refusal`.

    Raises :class:`UrlRefused` (scheme other than http/https, credentials in the URL, URL
    longer than :data:`MAX_URL_LENGTH`, a host resolving to any refused address at any
    hop, too many redirects), :class:`RemoteTooLarge` (more than ``policy.max_bytes``
    bytes, by Content-Length or counted), :class:`RemoteTimeout` (over ``policy.timeout_s``
    seconds in total) and :class:`RemoteFetchFailed` (unknown host, connection failure,
    broken transfer, non-2xx status). All are :class:`core.errors.MediaError`.
    """
    hops = [_check_url(url)]  # the first URL, then each redirect target
    inner = network_backend if network_backend is not None else httpcore.AnyIOBackend()
    backend = _CheckedBackend(policy.allowlist, resolver or default_resolver, inner)

    async def download() -> FetchedMedia:
        async with httpx.AsyncClient(
            transport=_CheckedTransport(backend),
            trust_env=False,  # no env proxy (it would connect for us, unchecked), no .netrc
            follow_redirects=False,  # followed below, each target checked like the first URL
            timeout=None,  # wait_for below caps the total time; a per-read cap adds nothing
            headers={"Accept-Encoding": "identity"},  # so Content-Length is the body size
        ) as client:
            for _ in range(policy.max_redirects + 1):
                with _network_errors(hops[-1].host):
                    async with client.stream("GET", hops[-1]) as response:
                        location = response.headers.get("location")
                        if response.status_code not in _REDIRECTS or location is None:
                            return await _save(response, target, policy)
                        next_url = str(response.url.join(location))
                hops.append(_check_url(next_url))
        limit = policy.max_redirects
        raise UrlRefused(f"Too many redirects (more than {limit}) from {hops[0].host}", "redirects")

    try:
        return await asyncio.wait_for(download(), policy.timeout_s)
    except asyncio.TimeoutError as error:
        raise RemoteTimeout(
            f"Downloading from {hops[-1].host} took longer than {policy.timeout_s:g} seconds"
        ) from error
