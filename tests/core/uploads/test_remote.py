"""Unit tests for core.uploads.remote: the SSRF-checked media fetcher.

A threaded HTTP server on 127.0.0.1 plays the remote site. Names are resolved by a stub
resolver, and every connection goes through ``RecordingBackend``, which records the
address it is asked to connect to and fails the test on anything but loopback (or an
explicit reroute of a fake public address to the local server): no test ever sends
traffic off this machine, and "nothing connected" is an assertion on its record.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest

from core.errors import MediaError
from core.uploads.remote import (
    MAX_URL_LENGTH,
    FetchedMedia,
    RemoteFetchFailed,
    RemoteTimeout,
    RemoteTooLarge,
    UrlPolicy,
    UrlRefused,
    address_refusal,
    fetch_media,
)

SMALL = bytes(range(256)) * 4  # 1024 bytes
CAP = 2000  # bytes; the big files are larger
PUBLIC_IP = "93.184.215.14"  # a global address; never really connected to (rerouted)
LOOPBACK = UrlPolicy.parse_allowlist("127.0.0.1/32")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep pytest output quiet
        pass

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        headers.setdefault("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Connection", "close")  # a new (checked) connection per request
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.hits.append((self.path, self.headers.get("Host")))
        self.close_connection = True
        path, query = urlsplit(self.path).path, parse_qs(urlsplit(self.path).query)
        try:
            if path == "/media/clip.wav":
                self._send(200, SMALL, Content_Type="audio/wav")
            elif path == "/download":
                self._send(
                    200,
                    SMALL,
                    Content_Type="Audio/MPEG; charset=binary",
                    Content_Disposition='attachment; filename="../secret/reading.mp3"',
                )
            elif path == "/big.bin":  # announces its size, then sends a first part only
                self.send_response(200)
                self.send_header("Content-Length", str(CAP * 3))
                self.end_headers()
                self.wfile.write(b"x" * 500)
                self.wfile.flush()
                time.sleep(1)
                self.wfile.write(b"x" * (CAP * 3 - 500))
            elif path == "/chunked.bin":  # no Content-Length: only counting can stop it
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for _ in range(10):
                    self.wfile.write(b"%x\r\n%s\r\n" % (500, b"y" * 500))
                self.wfile.write(b"0\r\n\r\n")
            elif path == "/slow":  # a byte every 0.1 s: each read is quick, the total is not
                self.send_response(200)
                self.send_header("Content-Length", "50")
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"s")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif path.startswith("/redirect/"):
                left = int(path.rsplit("/", 1)[1])
                target = f"/redirect/{left - 1}" if left > 1 else "/media/clip.wav"
                self._send(302, Location=target)
            elif path == "/to":
                self._send(302, Location=query["location"][0])
            else:
                self._send(404, b"not here")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (size or time cap): expected


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server) -> str:
    return f"http://127.0.0.1:{server.server_port}"


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records each address connected to; only loopback or ``reroute`` keys are allowed."""

    def __init__(self, reroute: dict[str, tuple[str, int]] | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.reroute = reroute or {}
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, **options):
        self.calls.append((host, port))
        if host not in self.reroute and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"the fetcher tried to connect to {host}")
        host, port = self.reroute.get(host, (host, port))
        return await self.inner.connect_tcp(host, port, **options)

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


class StubResolver:
    """Maps names to address lists; a list of lists is consumed one answer per call."""

    def __init__(self, table: dict[str, list[str] | list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = self.table[host]
        if answer and isinstance(answer[0], list):
            return answer.pop(0)
        return list(answer)


def fetch(url, policy=None, resolver=None, backend=None, target=None) -> FetchedMedia:
    policy = policy or UrlPolicy(max_bytes=CAP, timeout_s=5, allowlist=LOOPBACK)
    return asyncio.run(
        fetch_media(
            url,
            target if target is not None else io.BytesIO(),
            policy,
            resolver=resolver or StubResolver({}),
            network_backend=backend or RecordingBackend(),
        )
    )


def test_allowlisted_loopback_fetch_returns_body_type_and_filename(server, base):
    target, backend = io.BytesIO(), RecordingBackend()
    media = fetch(f"{base}/media/clip.wav", backend=backend, target=target)
    assert target.getvalue() == SMALL
    assert media == FetchedMedia(f"{base}/media/clip.wav", "audio/wav", "clip.wav", len(SMALL))
    assert backend.calls == [("127.0.0.1", server.server_port)]


def test_names_go_through_the_resolver_and_keep_the_host_header(server):
    resolver, backend = StubResolver({"media.test": ["127.0.0.1"]}), RecordingBackend()
    url = f"http://media.test:{server.server_port}/download?id=7"
    media = fetch(url, resolver=resolver, backend=backend)
    assert resolver.calls == ["media.test"]
    assert backend.calls == [("127.0.0.1", server.server_port)]  # the checked address
    assert server.hits[-1] == ("/download?id=7", f"media.test:{server.server_port}")
    # Content-Disposition wins over the path; directories are dropped; params stripped.
    assert (media.filename, media.content_type, media.size) == ("reading.mp3", "audio/mpeg", 1024)


class TlsRecordingStream(httpcore.AsyncNetworkStream):
    """Records the TLS server name asked for, then fails like a bad handshake."""

    def __init__(self, stream, names: list[str]) -> None:
        self.stream, self.names = stream, names

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        self.names.append(server_hostname)
        await self.stream.aclose()
        raise httpcore.ConnectError("handshake refused by the test")

    async def aclose(self) -> None:
        await self.stream.aclose()


def test_tls_uses_the_hostname_while_connecting_to_the_checked_address(server):
    names: list[str] = []

    class Backend(RecordingBackend):
        async def connect_tcp(self, host, port, **options):
            return TlsRecordingStream(await super().connect_tcp(host, port, **options), names)

    backend = Backend()
    resolver = StubResolver({"secure.test": ["127.0.0.1"]})
    with pytest.raises(RemoteFetchFailed, match="Could not connect to secure.test"):
        fetch(f"https://secure.test:{server.server_port}/clip.wav", None, resolver, backend)
    assert backend.calls == [("127.0.0.1", server.server_port)] and names == ["secure.test"]


def test_environment_proxies_are_ignored(server, base, monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    backend = RecordingBackend()
    assert fetch(f"{base}/media/clip.wav", backend=backend).size == len(SMALL)
    assert backend.calls == [("127.0.0.1", server.server_port)]  # direct, not via the proxy


def test_loopback_is_refused_without_allowlist_and_the_server_sees_nothing(server, base):
    hits, backend = len(server.hits), RecordingBackend()
    with pytest.raises(UrlRefused) as caught:
        fetch(f"{base}/media/clip.wav", UrlPolicy(max_bytes=CAP), backend=backend)
    assert caught.value.reason == "loopback"
    assert str(caught.value) == "Downloads from 127.0.0.1 are not allowed"
    assert isinstance(caught.value, MediaError)
    assert backend.calls == [] and len(server.hits) == hits


REFUSED = {
    "10.0.0.1": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "127.0.0.1": "loopback",
    "::1": "loopback",
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "fe80::1": "link-local",
    "0.0.0.0": "unspecified",
    "100.64.0.1": "shared (CGNAT)",
    "::ffff:127.0.0.1": "loopback",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "fc00::1": "private",
    "192.0.2.1": "private",  # documentation (TEST-NET-1)
    "240.0.0.1": "private",  # reserved for future use
    "64:ff9b::a00:1": "NAT64",  # would be 10.0.0.1 behind a NAT64 translator
    "2002:a00:1::": "6to4",
}


@pytest.mark.parametrize("address", REFUSED)
def test_each_refused_class_is_refused_before_connecting(address):
    resolver, backend = StubResolver({"internal.test": [address]}), RecordingBackend()
    with pytest.raises(UrlRefused) as caught:
        fetch("http://internal.test/clip.wav", UrlPolicy(max_bytes=CAP), resolver, backend)
    assert caught.value.reason == REFUSED[address]
    assert resolver.calls == ["internal.test"] and backend.calls == []
    assert address not in str(caught.value)  # the message names the host, not the address
    assert address_refusal(address) == REFUSED[address]


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
        "https://10.1.2.3:8443/clip.wav",
        "http://0.0.0.0:80/",
    ],
)
def test_literal_ip_hosts_are_checked_without_dns(url):
    resolver, backend = StubResolver({}), RecordingBackend()
    with pytest.raises(UrlRefused):
        fetch(url, UrlPolicy(max_bytes=CAP), resolver, backend)
    assert resolver.calls == [] and backend.calls == []


def test_metadata_stays_refused_even_inside_an_allowlisted_network():
    backend = RecordingBackend()
    policy = UrlPolicy(max_bytes=CAP, allowlist=UrlPolicy.parse_allowlist("169.254.0.0/16"))
    with pytest.raises(UrlRefused) as caught:
        fetch("http://169.254.169.254/latest/meta-data", policy, backend=backend)
    assert caught.value.reason == "cloud metadata" and backend.calls == []
    assert address_refusal("169.254.1.1", policy.allowlist) is None


@pytest.mark.parametrize("answer", [[PUBLIC_IP, "10.0.0.1"], ["10.0.0.1", PUBLIC_IP]])
def test_a_name_with_any_refused_address_is_refused(answer):
    resolver, backend = StubResolver({"mixed.test": answer}), RecordingBackend()
    with pytest.raises(UrlRefused) as caught:
        fetch("http://mixed.test/clip.wav", UrlPolicy(max_bytes=CAP), resolver, backend)
    assert caught.value.reason == "private" and backend.calls == []


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://metadata.test/latest/meta-data", "cloud metadata"),
        ("http://[::1]/", "loopback"),  # only 127.0.0.1/32 is allow-listed
        ("ftp://files.test/clip.wav", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://user:secret@files.test/clip.wav", "credentials"),
    ],
)
def test_redirect_targets_are_checked_like_the_first_url(server, base, location, reason):
    resolver = StubResolver({"metadata.test": ["169.254.169.254"]})
    backend = RecordingBackend()
    with pytest.raises(UrlRefused) as caught:
        fetch(f"{base}/to?location={location}", resolver=resolver, backend=backend)
    assert caught.value.reason == reason
    assert backend.calls == [("127.0.0.1", server.server_port)]  # only the first hop


def test_dns_rebinding_connects_to_the_checked_address_only(server):
    port = server.server_port
    # First answer public, then loopback: a check-then-connect fetcher would be fooled.
    resolver = StubResolver({"rebind.test": [[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]]})
    backend = RecordingBackend(reroute={PUBLIC_IP: ("127.0.0.1", port)})  # plays the site
    policy = UrlPolicy(max_bytes=CAP, timeout_s=5)  # nothing allow-listed
    media = fetch(f"http://rebind.test:{port}/media/clip.wav", policy, resolver, backend)
    assert media.size == len(SMALL)
    assert resolver.calls == ["rebind.test"]  # resolved once for the one connection...
    assert backend.calls == [(PUBLIC_IP, port)]  # ...and connected to that checked address
    # The next connection (here a redirect to the same name) resolves and checks again.
    url = f"http://rebind.test:{port}/to?location=http://rebind.test:{port}/media/clip.wav"
    resolver.table["rebind.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
    with pytest.raises(UrlRefused) as caught:
        fetch(url, policy, resolver, backend)
    assert caught.value.reason == "loopback"
    assert resolver.calls == ["rebind.test"] * 3
    assert backend.calls == [(PUBLIC_IP, port)] * 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://files.test/clip.wav", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://files.test/", "scheme"),
        ("http://user:pass@files.test/clip.wav", "credentials"),
        ("http://user@files.test/clip.wav", "credentials"),
        ("http://files.test/" + "a" * MAX_URL_LENGTH, "too long"),
        ("http://[::1/", "invalid"),
        ("http:///clip.wav", "no host"),
    ],
)
def test_bad_urls_are_refused_before_any_lookup(url, reason):
    resolver, backend = StubResolver({"files.test": [PUBLIC_IP]}), RecordingBackend()
    with pytest.raises(UrlRefused) as caught:
        fetch(url, UrlPolicy(max_bytes=CAP), resolver, backend)
    assert caught.value.reason == reason
    assert resolver.calls == [] and backend.calls == []


def test_size_cap_by_content_length_reads_nothing(base):
    target = io.BytesIO()
    started = time.monotonic()
    with pytest.raises(RemoteTooLarge, match=f"larger than the maximum of {CAP} bytes"):
        fetch(f"{base}/big.bin", target=target)
    assert target.getvalue() == b"" and time.monotonic() - started < 0.5  # refused at once


def test_size_cap_counts_streamed_bytes_without_content_length(base):
    target = io.BytesIO()
    with pytest.raises(RemoteTooLarge):
        fetch(f"{base}/chunked.bin", target=target)
    assert 0 < len(target.getvalue()) <= CAP  # stopped at the cap, not at the end


def test_a_body_of_exactly_the_cap_is_accepted(base):
    policy = UrlPolicy(max_bytes=len(SMALL), allowlist=LOOPBACK)
    assert fetch(f"{base}/media/clip.wav", policy).size == len(SMALL)
    with pytest.raises(RemoteTooLarge):
        fetch(f"{base}/media/clip.wav", UrlPolicy(max_bytes=len(SMALL) - 1, allowlist=LOOPBACK))


def test_time_cap_covers_the_whole_fetch(base):
    policy = UrlPolicy(max_bytes=CAP, timeout_s=0.5, allowlist=LOOPBACK)
    started = time.monotonic()
    with pytest.raises(RemoteTimeout, match="longer than 0.5 seconds"):
        fetch(f"{base}/slow", policy)
    assert time.monotonic() - started < 2


def test_redirects_up_to_the_cap_are_followed(base):
    policy = UrlPolicy(max_bytes=CAP, max_redirects=3, allowlist=LOOPBACK)
    media = fetch(f"{base}/redirect/3", policy)
    assert (media.final_url, media.filename) == (f"{base}/media/clip.wav", "clip.wav")


def test_too_many_redirects_are_refused(server, base):
    hits = len(server.hits)
    policy = UrlPolicy(max_bytes=CAP, max_redirects=2, allowlist=LOOPBACK)
    with pytest.raises(UrlRefused, match=r"Too many redirects \(more than 2\)") as caught:
        fetch(f"{base}/redirect/3", policy)
    assert caught.value.reason == "redirects"
    assert len(server.hits) - hits == 3  # the first request and two redirects


def test_not_found_is_a_fetch_failure_naming_the_status(base):
    with pytest.raises(RemoteFetchFailed, match="HTTP status 404 Not Found") as caught:
        fetch(f"{base}/missing.wav")
    assert caught.value.status == 404


def test_unresolvable_name_is_a_fetch_failure():
    backend = RecordingBackend()
    with pytest.raises(RemoteFetchFailed, match="The host nowhere.test could not be found"):
        fetch("http://nowhere.test/clip.wav", backend=backend)
    assert backend.calls == []


def test_connection_refused_is_a_fetch_failure(server):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RemoteFetchFailed, match="Could not connect to 127.0.0.1") as caught:
        fetch(f"http://127.0.0.1:{port}/clip.wav")
    assert caught.value.status is None


def test_default_resolver_checks_localhost_too():
    backend = RecordingBackend()
    with pytest.raises(UrlRefused) as caught:
        asyncio.run(
            fetch_media(
                "http://localhost/", io.BytesIO(), UrlPolicy(max_bytes=CAP), network_backend=backend
            )
        )
    assert caught.value.reason == "loopback" and backend.calls == []


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", PUBLIC_IP])
def test_public_addresses_are_allowed(address):
    assert address_refusal(address) is None


def test_parse_allowlist():
    assert UrlPolicy.parse_allowlist(" 127.0.0.1/32, 10.0.0.0/8,::1,, ") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert UrlPolicy.parse_allowlist("") == ()
    for bad in ("10.0.0.0/33", "localhost", "10.0.0.1/8"):
        with pytest.raises(ValueError, match=f"Invalid URL allowlist entry '{bad}'"):
            UrlPolicy.parse_allowlist(f"127.0.0.1,{bad}")
    with pytest.raises(ValueError):
        UrlPolicy(max_bytes=0)
