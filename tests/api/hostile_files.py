"""Broken and hostile files for the bad-input corpus, generated at test time.

Nothing here is committed as a binary: the recordings are derived from
``tests/data/every_path.mp3`` with ffmpeg, the images drawn with Pillow or written
byte by byte with zlib. Every function returns bytes and is cached.
"""

from __future__ import annotations

import base64
import gzip
import io
import random
import struct
import subprocess
import zipfile
import zlib
from functools import cache

from PIL import Image

from tests.conftest import DATA as TESTS_DATA

DATA = TESTS_DATA
SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


# --- audio ---------------------------------------------------------------------------


@cache
def mp3() -> bytes:
    return (DATA / "every_path.mp3").read_bytes()


def _transcode(*output_args: str) -> bytes:
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(DATA / "every_path.mp3")]
    return subprocess.run(
        [*command, *output_args, "pipe:1"], capture_output=True, check=True, timeout=60
    ).stdout


@cache
def wav() -> bytes:
    # -bitexact: a plain 44-byte header, so offsets below are the same everywhere.
    return _transcode("-bitexact", "-acodec", "pcm_s16le", "-f", "wav")


@cache
def ogg() -> bytes:
    return _transcode("-acodec", "libvorbis", "-f", "ogg")


@cache
def ogg_opus() -> bytes:
    return _transcode("-acodec", "libopus", "-f", "ogg")


@cache
def webm_opus() -> bytes:
    return _transcode("-acodec", "libopus", "-f", "webm")


@cache
def flac() -> bytes:
    return _transcode("-f", "flac")


def corrupt_after_magic(data: bytes, keep: int) -> bytes:
    """The first ``keep`` bytes (the format's magic/header start), then random bytes."""
    noise = random.Random(5).randbytes(len(data) - keep)
    return data[:keep] + noise


def hls_playlist(*urls: str) -> bytes:
    """An HLS playlist: ffmpeg would fetch every segment URL if allowed to."""
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:0"]
    for url in urls:
        lines += ["#EXTINF:10.0,", url]
    return ("\n".join([*lines, "#EXT-X-ENDLIST", ""])).encode()


def ffconcat(*paths: str) -> bytes:
    """An ffconcat script naming other files on the server."""
    return ("ffconcat version 1.0\n" + "".join(f"file '{p}'\n" for p in paths)).encode()


# --- images --------------------------------------------------------------------------


def png_image(size: tuple[int, int] = (64, 48), colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_image(size: tuple[int, int] = (64, 48), comment: bytes = b"") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "blue").save(buf, format="JPEG", comment=comment)
    return buf.getvalue()


def pdf() -> bytes:
    """A one-page PDF (Pillow writes it; its plugin for PDF is write-only)."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(buf, format="PDF")
    return buf.getvalue()


def gif_image() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (32, 32), 1).save(buf, format="GIF")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A real, fully decodable 1-bit black PNG of width x height: a few KB of zlib."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte "None", then all-zero pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def png_claiming(width: int, height: int) -> bytes:
    """A 1x1 PNG whose IHDR claims width x height (CRC fixed up): a lying header."""
    data = bytearray(png_image((1, 1)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def zip_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("payload/evil.class", b"\xca\xfe\xba\xbe" + b"x" * 64)
    return buf.getvalue()


# --- SVG -----------------------------------------------------------------------------


def svg(body: str, prolog: str = "", size: str = 'width="40" height="30"') -> bytes:
    return f"{prolog}<svg {SVG_NS} {size}>{body}</svg>".encode()


def svg_xxe() -> bytes:
    prolog = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return svg("<text y='20'>&xxe;</text>", prolog)


def svg_external_dtd(url: str) -> bytes:
    return svg("<rect width='40' height='30'/>", f'<!DOCTYPE svg SYSTEM "{url}">')


def svg_billion_laughs() -> bytes:
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    prolog = f"<?xml version='1.0'?><!DOCTYPE svg [{''.join(entities)}]>"
    return svg("<text y='20'>&lol9;</text>", prolog)


def svg_script(url: str) -> bytes:
    return svg(
        "<script>fetch('" + url + "?script=1')</script>"
        f'<script xlink:href="{url}?script=2"/>'
        "<rect width='40' height='30' fill='red' onload=\"fetch('" + url + "?onload=1')\"/>"
    )


def svg_external_resources(url: str) -> bytes:
    return svg(
        f"<style>@import url({url}?css=1);</style>"
        '<image href="file:///etc/passwd" width="40" height="30"/>'
        '<image href="http://169.254.169.254/latest/meta-data/" width="40" height="30"/>'
        f'<image href="{url}?image=1" width="40" height="30"/>'
        f'<image xlink:href="{url}?image=2" width="40" height="30"/>'
        f'<use href="{url}?use=1#x"/>'
    )


def svg_embedding(data: bytes, mime: str) -> bytes:
    uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return svg(f'<image href="{uri}" width="40" height="30"/>')


def svg_embedding_eps() -> bytes:
    """PostScript embedded as an image: Pillow's EPS plugin would run Ghostscript."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 30\n(/etc/passwd) run showpage\n"
    return svg_embedding(eps, "application/postscript")


def svgz_bomb() -> bytes:
    """16 MB of whitespace in an SVG, gzipped to a few KB, embedded as a data: URL."""
    inner = b"<svg xmlns='http://www.w3.org/2000/svg'>" + b" " * (16 << 20) + b"</svg>"
    return svg_embedding(gzip.compress(inner, 9), "image/svg+xml")
