"""Unit tests for core.uploads.images."""

import base64
import gzip
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from core.errors import MediaError
from core.uploads.images import (
    ALLOWED_IMAGE_EXTENSIONS,
    DEFAULT_MAX_PIXELS,
    NOT_IMAGE_MESSAGE,
    convert_upload_to_png,
)
from tests.conftest import DATA as TESTS_DATA

DATA = TESTS_DATA
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'


def open_png(path: Path) -> Image.Image:
    im = Image.open(path)
    assert im.format == "PNG"
    im.load()
    return im


def is_red(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 200 and g < 60 and b < 60


def is_blue(pixel) -> bool:
    r, g, b = pixel[:3]
    return r < 60 and g < 60 and b > 200


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def test_allowed_extensions():
    assert {".jpg", ".jpeg", ".png", ".svg", ".avif", ".tif"} <= ALLOWED_IMAGE_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in ALLOWED_IMAGE_EXTENSIONS)


def test_sample_jpg(out):
    dst = out / "page.png"
    assert convert_upload_to_png(DATA / "every_path.jpg", dst) == (362, 139)
    im = open_png(dst)
    assert im.size == (362, 139) and im.mode == "RGB"
    assert [p.name for p in out.iterdir()] == ["page.png"]  # no temp file left


@pytest.mark.parametrize("fmt", ["WEBP", "GIF", "BMP", "TIFF", "ICO", "AVIF", "PNG", "JPEG"])
def test_raster_formats(tmp_path, out, fmt):
    # Pillow's ICO writer only emits standard sizes that fit, so use a square one.
    want = (48, 48) if fmt == "ICO" else (48, 32)
    src = tmp_path / f"in.{fmt.lower()}"
    Image.new("RGB", want, (255, 0, 0)).save(src, format=fmt)
    dst = out / "x.png"
    size = convert_upload_to_png(src, dst)
    assert size == want
    im = open_png(dst)
    assert im.size == size
    assert is_red(im.getpixel((5, 5)))


def test_animated_gif_keeps_first_frame(tmp_path, out):
    src = tmp_path / "anim.gif"
    red, blue = Image.new("RGB", (20, 20), "red"), Image.new("RGB", (20, 20), "blue")
    red.save(src, save_all=True, append_images=[blue], duration=100, loop=0)
    assert Image.open(src).n_frames == 2
    convert_upload_to_png(src, out / "x.png")
    assert is_red(open_png(out / "x.png").getpixel((10, 10)))


def test_alpha_is_kept(tmp_path, out):
    src = tmp_path / "alpha.webp"
    Image.new("RGBA", (10, 10), (0, 0, 255, 0)).save(src, format="WEBP", lossless=True)
    convert_upload_to_png(src, out / "x.png")
    im = open_png(out / "x.png")
    assert im.mode == "RGBA" and im.getpixel((3, 3))[3] == 0


def test_cmyk_jpeg_becomes_rgb(tmp_path, out):
    src = tmp_path / "cmyk.jpg"
    Image.new("RGB", (16, 16), "red").convert("CMYK").save(src, format="JPEG")
    convert_upload_to_png(src, out / "x.png")
    im = open_png(out / "x.png")
    assert im.mode == "RGB" and is_red(im.getpixel((8, 8)))


def test_16_bit_grey_is_scaled_not_clipped(tmp_path, out):
    src = tmp_path / "grey16.png"
    Image.new("I;16", (8, 8), 32768).save(src, format="PNG")
    convert_upload_to_png(src, out / "x.png")
    r, g, b = open_png(out / "x.png").getpixel((4, 4))
    assert r == g == b and 120 <= r <= 136  # mid grey, not white


def test_exif_rotated_jpeg_is_transposed(tmp_path, out):
    # Stored landscape, left half red / right half blue; Orientation 6 = "rotate 90 CW".
    im = Image.new("RGB", (40, 20), "blue")
    im.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    src = tmp_path / "phone.jpg"
    im.save(src, format="JPEG", exif=exif, quality=95)
    assert convert_upload_to_png(src, out / "x.png") == (20, 40)
    upright = open_png(out / "x.png")
    assert is_red(upright.getpixel((10, 5))) and is_blue(upright.getpixel((10, 35)))


# --- SVG -------------------------------------------------------------------------


def write_svg(path: Path, body: str, attrs: str = 'width="40" height="30"', prolog: str = ""):
    path.write_text(f"{prolog}<svg {SVG_NS} {attrs}>{body}</svg>", encoding="utf-8")
    return path


RED_RECT = '<rect width="100%" height="100%" fill="#ff0000"/>'


def test_svg_rendered(tmp_path, out):
    src = write_svg(tmp_path / "a.svg", RED_RECT, prolog='<?xml version="1.0"?>\n')
    assert convert_upload_to_png(src, out / "x.png") == (40, 30)
    im = open_png(out / "x.png")
    assert im.size == (40, 30) and is_red(im.getpixel((20, 15)))


@pytest.mark.parametrize(
    ("attrs", "size"),
    [('viewBox="0 0 120 60"', (120, 60)), ('width="1in" height="0.5in"', (96, 48))],
    ids=["viewbox-only", "units"],
)
def test_svg_declared_size(tmp_path, out, attrs, size):
    src = write_svg(tmp_path / "a.svg", RED_RECT, attrs)
    assert convert_upload_to_png(src, out / "x.png") == size
    assert open_png(out / "x.png").size == size


def test_svg_larger_than_budget_is_scaled_down(tmp_path, out):
    src = write_svg(tmp_path / "huge.svg", RED_RECT, 'width="100000" height="50000"')
    width, height = convert_upload_to_png(src, out / "x.png", max_pixels=10_000)
    assert width * height <= 10_000 and width == pytest.approx(2 * height, abs=2)
    im = open_png(out / "x.png")
    assert im.size == (width, height) and is_red(im.getpixel((width // 2, height // 2)))


@pytest.mark.parametrize(
    ("attrs", "max_pixels"),
    [('width="1000000000" height="1"', 10_000), ('width="40000" height="100"', DEFAULT_MAX_PIXELS)],
    ids=["extreme-aspect", "over-cairo-side-limit"],
)
def test_svg_extreme_sizes_fit_budgets(tmp_path, out, attrs, max_pixels):
    src = write_svg(tmp_path / "wide.svg", RED_RECT, attrs)
    width, height = convert_upload_to_png(src, out / "x.png", max_pixels=max_pixels)
    assert width * height <= max_pixels and width <= 32767
    assert open_png(out / "x.png").size == (width, height)


def test_svg_with_entities_rejected(tmp_path, out):
    src = write_svg(
        tmp_path / "xxe.svg",
        "<text>&xxe;</text>",
        prolog='<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    )
    with pytest.raises(MediaError, match="entities"):
        convert_upload_to_png(src, out / "x.png")
    assert list(out.iterdir()) == []


def test_svg_billion_laughs_rejected(tmp_path, out):
    src = write_svg(
        tmp_path / "lol.svg",
        "<text>&lol2;</text>",
        prolog='<!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
    )
    with pytest.raises(MediaError):
        convert_upload_to_png(src, out / "x.png")


def test_svg_plain_doctype_accepted(tmp_path, out):
    # Illustrator and older Inkscape emit this; it declares no entities and is not fetched.
    prolog = (
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    )
    src = write_svg(tmp_path / "ai.svg", RED_RECT, prolog=prolog)
    assert convert_upload_to_png(src, out / "x.png") == (40, 30)


def test_svg_external_file_is_not_read(tmp_path, out):
    secret = tmp_path / "secret.png"
    Image.new("RGB", (40, 30), "red").save(secret)
    body = (
        f'<image href="{secret.as_uri()}" width="40" height="30"/>'
        '<image href="file:///etc/passwd" width="40" height="30"/>'
    )
    src = write_svg(tmp_path / "ext.svg", body)
    try:
        size = convert_upload_to_png(src, out / "x.png")
    except MediaError as exc:  # refusing is fine too, as long as nothing leaks
        assert "passwd" not in str(exc) and str(tmp_path) not in str(exc)
        return
    assert size == (40, 30)
    im = open_png(out / "x.png")
    # The red secret image would cover the canvas had it been read.
    assert not any(is_red(p) for p in im.getdata())
    assert im.getpixel((20, 15))[3] == 0


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def png_bytes(size: tuple[int, int], colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def test_svg_embedded_image_within_budget_is_drawn(tmp_path, out):
    body = f'<image href="{data_uri(png_bytes((40, 30)), "image/png")}" width="40" height="30"/>'
    src = write_svg(tmp_path / "embedded.svg", body)
    assert convert_upload_to_png(src, out / "x.png", max_pixels=2 * 40 * 30) == (40, 30)
    assert is_red(open_png(out / "x.png").getpixel((20, 15)))


@pytest.mark.parametrize(
    ("images", "max_pixels"),
    [([(100, 100)], 5000), ([(60, 60), (60, 60)], 5000)],
    ids=["one-too-large", "together-too-large"],
)
def test_svg_embedded_images_share_the_pixel_budget(tmp_path, out, images, max_pixels):
    # A 20000x20000 PNG is a few KB of zlib; CairoSVG would decode it with 1.6 GB.
    body = "".join(
        f'<image href="{data_uri(png_bytes(size), "image/png")}" width="40" height="30"/>'
        for size in images
    )
    src = write_svg(tmp_path / "bomb.svg", body)
    with pytest.raises(MediaError, match="embedded in the SVG is too large"):
        convert_upload_to_png(src, out / "x.png", max_pixels=max_pixels)
    assert list(out.iterdir()) == []


def test_svg_embedded_eps_rejected(tmp_path, out):
    # CairoSVG would hand it to Pillow, whose EPS plugin runs Ghostscript.
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 30\nshowpage\n"
    body = f'<image href="{data_uri(eps, "application/postscript")}" width="40" height="30"/>'
    with pytest.raises(MediaError, match="embedded in the SVG could not be read"):
        convert_upload_to_png(write_svg(tmp_path / "eps.svg", body), out / "x.png")


def test_svg_embedded_svgz_rejected(tmp_path, out):
    inner = gzip.compress(f"<svg {SVG_NS} width='4' height='4'>{' ' * 10_000}</svg>".encode())
    body = f'<image href="{data_uri(inner, "image/svg+xml")}" width="40" height="30"/>'
    with pytest.raises(MediaError, match="compressed SVG"):
        convert_upload_to_png(write_svg(tmp_path / "z.svg", body), out / "x.png")


def test_svg_urls_are_not_fetched(tmp_path, out, monkeypatch):
    fetched: list[str] = []
    monkeypatch.setattr("cairosvg.url.urlopen", lambda request: fetched.append(request.full_url))
    body = (
        '<style>@import url("http://127.0.0.1:9/style.css");</style>'
        '<image href="http://169.254.169.254/latest/meta-data/" width="40" height="30"/>'
        '<use href="http://127.0.0.1:9/defs.svg#x"/>'
        "<script>fetch('http://127.0.0.1:9/script')</script>"
    )
    assert convert_upload_to_png(write_svg(tmp_path / "urls.svg", body), out / "x.png") == (40, 30)
    assert fetched == []


@pytest.mark.parametrize(
    "text",
    ["<html><body>hi</body></html>", "<svg unterminated", "<?xml version='1.0'?><note/>"],
    ids=["html", "malformed", "other-xml"],
)
def test_non_svg_xml_rejected(tmp_path, out, text):
    src = tmp_path / "x.svg"
    src.write_text(text)
    with pytest.raises(MediaError, match=NOT_IMAGE_MESSAGE):
        convert_upload_to_png(src, out / "x.png")


def test_svg_without_size_rejected(tmp_path, out):
    src = write_svg(tmp_path / "nosize.svg", RED_RECT, attrs="")
    with pytest.raises(MediaError, match="width and height"):
        convert_upload_to_png(src, out / "x.png")


# --- size limits -------------------------------------------------------------------


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A real 1x1 PNG whose IHDR header claims width x height (CRC fixed up)."""
    buf = io.BytesIO()
    Image.new("1", (1, 1)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR data follows 8+4+4 bytes
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # CRC of type + data
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "size",
    [(20000, 20000), (8000, 7000)],
    ids=["over-pillow-global-limit", "over-default-max-pixels"],
)
def test_header_claiming_huge_size_rejected(tmp_path, out, size):
    src = png_claiming(tmp_path / "bomb.png", *size)
    assert struct.unpack(">II", src.read_bytes()[16:24]) == size  # the header says so
    assert size[0] * size[1] > DEFAULT_MAX_PIXELS
    with pytest.raises(MediaError, match="too large"):
        convert_upload_to_png(src, out / "x.png")
    assert list(out.iterdir()) == []


def test_max_pixels_is_per_call(tmp_path, out):
    src = tmp_path / "img.png"
    Image.new("RGB", (100, 100), "red").save(src)
    with pytest.raises(MediaError, match="too large"):
        convert_upload_to_png(src, out / "a.png", max_pixels=5_000)
    assert convert_upload_to_png(src, out / "b.png", max_pixels=10_000) == (100, 100)
    assert Image.MAX_IMAGE_PIXELS != 5_000  # the global limit was not touched


# --- non-images ----------------------------------------------------------------------


def truncated(source: Path, fraction: float):
    def write(path: Path) -> None:
        data = source.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return write


def write_png_of_noise(path: Path) -> None:
    Image.effect_noise((200, 200), 64).save(path, format="PNG")


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("notes.png", lambda p: p.write_text("Every path is the right path.\n")),
        ("zero.png", lambda p: p.write_bytes(b"")),
        ("audio.png", lambda p: p.write_bytes((DATA / "every_path.mp3").read_bytes())),
        ("half.jpg", truncated(DATA / "every_path.jpg", 0.5)),
        ("pixmap.png", lambda p: Image.new("RGB", (8, 8)).save(p, format="PPM")),
    ],
    ids=["text-as-png", "zero-bytes", "mp3-as-png", "truncated-jpeg", "ppm-not-allowed"],
)
def test_non_images_rejected(tmp_path, out, name, writer):
    src = tmp_path / name
    writer(src)
    with pytest.raises(MediaError) as info:
        convert_upload_to_png(src, out / "x.png")
    assert str(info.value) == NOT_IMAGE_MESSAGE
    assert list(out.iterdir()) == []


def test_truncated_png_rejected(tmp_path, out):
    whole = tmp_path / "noise.png"
    write_png_of_noise(whole)
    src = tmp_path / "half.png"
    truncated(whole, 0.5)(src)
    with pytest.raises(MediaError, match=NOT_IMAGE_MESSAGE):
        convert_upload_to_png(src, out / "x.png")


def test_failure_keeps_existing_dst(tmp_path, out):
    src = tmp_path / "notes.png"
    src.write_text("not an image")
    dst = out / "stored.png"
    dst.write_bytes(b"previous")
    with pytest.raises(MediaError):
        convert_upload_to_png(src, dst)
    assert dst.read_bytes() == b"previous"
    assert [p.name for p in out.iterdir()] == ["stored.png"]


def test_missing_source_is_not_a_media_error(tmp_path, out):
    with pytest.raises(FileNotFoundError):
        convert_upload_to_png(tmp_path / "nope.png", out / "x.png")
