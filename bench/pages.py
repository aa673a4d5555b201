"""Render a reference text as a page image, optionally hyphenated and photo-distorted.

Units: image sizes, margins, font sizes and boxes are pixels; angles are degrees; blur
radius is pixels (Pillow's Gaussian blur radius); brightness factors are fractions of
the original (1.0 = unchanged).
"""

from __future__ import annotations

import io
import math
import random
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.miscues import is_number, split_token

#: Fonts in rotation: manifest name -> fontconfig family.
FONT_FAMILIES: dict[str, str] = {
    "DejaVuSans": "DejaVu Sans",
    "DejaVuSerif": "DejaVu Serif",
    "LiberationSerif": "Liberation Serif",
    "LiberationSans": "Liberation Sans",
    "FreeSerif": "FreeSerif",
    "FreeSans": "FreeSans",
}
_REGULAR_STYLES = frozenset({"Regular", "Book", "Roman", "Normal"})

PAGE_WIDTH = 1200
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
#: The manifest's ``distortions`` record of an undistorted page.
NO_DISTORTIONS: dict[str, object] = {
    "rotate_deg": None,
    "light": False,
    "light_min": None,
    "light_angle_deg": None,
    "blur": None,
    "jpeg_quality": None,
}
#: Shortest piece of a hyphenated word on either side of the break, letters.
MIN_HYPHEN_PIECE = 3
#: Shortest word that may be hyphenated, letters.
MIN_HYPHEN_WORD = 6
_VOWELS = frozenset("aeiouy")
_DIGRAPHS = frozenset({"ch", "sh", "th", "ph", "wh", "ck", "ng", "gh", "qu", "wr", "kn"})
_SUFFIXES = ("tion", "sion", "ment", "ness", "ing", "able", "ible", "ful", "less")


@cache
def font_paths() -> dict[str, Path]:
    """Locate the regular-weight TTF of every font in ``FONT_FAMILIES`` with ``fc-list``.

    Raises ``FileNotFoundError`` naming the missing families (install ``fonts-dejavu-core
    fonts-liberation fonts-freefont-ttf``).
    """
    listing = subprocess.run(
        ["fc-list", "--format", "%{family[0]}|%{style[0]}|%{file}\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: dict[str, Path] = {}
    for line in sorted(listing.splitlines()):
        family, _, rest = line.partition("|")
        style, _, path = rest.partition("|")
        for name, wanted in FONT_FAMILIES.items():
            if family == wanted and style in _REGULAR_STYLES and path.endswith(".ttf"):
                found.setdefault(name, Path(path))
    missing = sorted(set(FONT_FAMILIES) - set(found))
    if missing:
        raise FileNotFoundError(f"fonts not found by fc-list: {', '.join(missing)}")
    return found


@dataclass
class WordBox:
    """Where one reference token was drawn: ``box`` is [left, top, right, bottom] px.

    A hyphenated token has one box per piece; ``box`` is then the first piece's.
    """

    word: str
    box: list[int]
    pieces: list[list[int]] = field(default_factory=list)


@dataclass
class Page:
    """A rendered page and what went into it."""

    image: Image.Image
    font: str
    font_size: int
    margin: int
    hyphenated: list[str]
    boxes: list[WordBox]


def hyphen_points(word: str) -> list[int]:
    """Positions where ``word`` may be split, by a simple English heuristic.

    A cut is allowed in the middle of a vowel-consonant-consonant-vowel group whose two
    consonants are not a digraph ("pur-poses", "Pennsyl-vania", but not "p-h" nor
    "kil-led"), and before a common suffix ("harass-ment", "popula-tion"). Each piece keeps at least
    ``MIN_HYPHEN_PIECE`` letters. Returns cut indices, ascending.
    """
    lower = word.lower()
    cuts = set()
    for cut in range(MIN_HYPHEN_PIECE, len(word) - MIN_HYPHEN_PIECE + 1):
        group = lower[cut - 2 : cut + 2]
        vccv = [c in _VOWELS for c in group] == [True, False, False, True]
        past_tense = len(word) - cut == 3 and lower.endswith("ed")
        if vccv and group[1:3] not in _DIGRAPHS and not past_tense:
            cuts.add(cut)
        if lower[cut:] in _SUFFIXES:
            cuts.add(cut)
    return sorted(cuts)


def _hyphen_split(
    token: str, room: float, font: ImageFont.FreeTypeFont, features: list[str] | None
) -> tuple[str, str] | None:
    """Split ``token`` as "head-" / "tail" so that "head-" fits in ``room`` px, or None.

    Only all-letter words of at least ``MIN_HYPHEN_WORD`` letters (not numbers) are
    split, at a point from :func:`hyphen_points`; the longest head that fits is used.
    Punctuation stays with the tail.
    """
    prefix, core, suffix = split_token(token)
    if prefix or not core.isalpha() or len(core) < MIN_HYPHEN_WORD or is_number(token):
        return None
    for cut in reversed(hyphen_points(core)):
        head = core[:cut] + "-"
        if font.getlength(head, features=features) <= room:
            return head, core[cut:] + suffix
    return None


def render_page(
    reference: str,
    font_name: str,
    font_size: int,
    *,
    margin: int = 80,
    width: int = PAGE_WIDTH,
    hyphenate: int = 0,
    ligatures: bool = True,
) -> Page:
    """Draw ``reference`` black on white, left-aligned and word-wrapped.

    Args:
        reference: the text; tokens are its whitespace-separated words.
        font_name: a key of ``FONT_FAMILIES``.
        font_size: font size, px.
        margin: left, right, top and bottom margin, px.
        width: page width, px.
        hyphenate: the first this many line ends where a word can be split with "-" are.
        ligatures: keep the font's standard ligatures ("fi" as one glyph, as in print);
            False draws every letter separately (needs Pillow with libraqm).

    Returns:
        The page with each token's box(es) and the hyphenated words as "head-tail".
    """
    font = ImageFont.truetype(str(font_paths()[font_name]), font_size)
    feats = None if ligatures else ["-liga", "-clig"]
    line_height = round(font_size * 1.5)
    space = font.getlength(" ", features=feats)
    right = width - margin
    # Lay out first: (token index, piece text, x, line number).
    pieces: list[tuple[int, str, float, int]] = []
    hyphenated: list[str] = []
    x, line = float(margin), 0
    for index, token in enumerate(reference.split()):
        w = font.getlength(token, features=feats)
        if x > margin and x + w > right:
            split = None
            if len(hyphenated) < hyphenate:
                split = _hyphen_split(token, right - x, font, feats)
            if split is not None:
                head, tail = split
                pieces.append((index, head, x, line))
                hyphenated.append(head + tail.rstrip(".,;:!?'\""))
                token, w = tail, font.getlength(tail, features=feats)
            x, line = float(margin), line + 1
        pieces.append((index, token, x, line))
        x += w + space
    height = 2 * margin + (line + 1) * line_height
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    boxes: dict[int, WordBox] = {}
    tokens = reference.split()
    for index, text, px, ln in pieces:
        xy = (round(px), margin + ln * line_height)
        draw.text(xy, text, font=font, fill=BLACK, features=feats)
        box = [int(v) for v in draw.textbbox(xy, text, font=font, features=feats)]
        if index in boxes:
            boxes[index].pieces.append(box)
        else:
            boxes[index] = WordBox(tokens[index], box, [box])
    words = [boxes[i] for i in range(len(tokens))]
    return Page(image, font_name, font_size, margin, hyphenated, words)


def render_hyphenated(
    reference: str, font_name: str, font_size: int, margin: int, count: int
) -> Page:
    """Render with up to ``count`` hyphenated line ends, trying hard to get at least one.

    Whether a line end can be hyphenated depends on the word that falls there, so if
    the layout at ``margin`` has none, margins of 40–140 px are tried, nearest first;
    the first layout with a hyphenated word wins (else the one at ``margin``).
    """
    page = render_page(reference, font_name, font_size, margin=margin, hyphenate=count)
    if page.hyphenated:
        return page
    for other in sorted(range(40, 141, 2), key=lambda m: (abs(m - margin), m)):
        candidate = render_page(reference, font_name, font_size, margin=other, hyphenate=count)
        if candidate.hyphenated:
            return candidate
    return page


def _lighting(image: Image.Image, low: float, angle_deg: float) -> Image.Image:
    """Multiply ``image`` by a smooth brightness ramp from ``low`` to 1.0 along an angle."""
    w, h = image.size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = math.radians(angle_deg)
    t = xs * math.cos(theta) + ys * math.sin(theta)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    t = t * t * (3 - 2 * t)  # smoothstep: no visible band edges
    factor = low + (1.0 - low) * t
    pixels = np.asarray(image, dtype=np.float32) * factor[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def distort(image: Image.Image, rng: random.Random) -> tuple[Image.Image, dict[str, object]]:
    """Apply a random non-empty subset of photo-like distortions.

    In order: rotation by ±1–3° (white fill, canvas expanded), uneven lighting (a
    smooth brightness ramp from 0.6–0.75 up to 1.0 in a random direction), Gaussian blur
    (radius 0.8–1.5 px), JPEG re-encoding at quality 30–50 (decoded again: the item is
    still saved as PNG). Returns the image and the manifest record, with ``None`` (or
    ``False`` for ``light``) for distortions not applied.
    """
    chosen = [k for k in ("rotate", "light", "blur", "jpeg") if rng.random() < 0.5]
    if not chosen:
        chosen = [rng.choice(("rotate", "light", "blur", "jpeg"))]
    record = dict(NO_DISTORTIONS)
    if "rotate" in chosen:
        angle = round(rng.uniform(1.0, 3.0) * rng.choice((-1, 1)), 2)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE)
        record["rotate_deg"] = angle
    if "light" in chosen:
        low, direction = round(rng.uniform(0.6, 0.75), 2), round(rng.uniform(0, 360), 1)
        image = _lighting(image, low, direction)
        record.update(light=True, light_min=low, light_angle_deg=direction)
    if "blur" in chosen:
        radius = round(rng.uniform(0.8, 1.5), 2)
        image = image.filter(ImageFilter.GaussianBlur(radius))
        record["blur"] = radius
    if "jpeg" in chosen:
        quality = rng.randint(30, 50)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        image = Image.open(buffer).convert("RGB")
        record["jpeg_quality"] = quality
    return image, record


def save_png(image: Image.Image, path: Path) -> None:
    """Save as an optimised PNG (greyscale when the image has no colour)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert("L").save(path, format="PNG", optimize=True)
