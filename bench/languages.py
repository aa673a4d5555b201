"""Benchmark items in Russian and Arabic: miscues, voices, pages, and the two API fixtures.

``bench/build_set.py --language ru|ar`` builds a set from ``passages_ru.json`` /
``passages_ar.json`` (the UDHR, ``bench/extract_udhr.py``) with the English set's
machinery (a quarter of the items clean, the others 1–3 miscues dealt from the same
balanced deck; a third with room tone, a third at a changed rate; half the pages
photo-distorted) and these language-specific parts:

* **Miscues.** Substitution (detail ``visual`` only): a real word from wordfreq's
  ``VOCABULARY_SIZE`` most frequent words of the language with the same first letter,
  the same length (±1 only when no same-length word exists) and an edit distance of 1–2
  (rapidfuzz), never a number word and never a word that sounds the same (``sound_key``:
  Russian vowel reduction and final devoicing, Arabic orthographic variants). Names
  (capitalised inside a sentence), function words and numbers are not substituted.
  Omissions: a function word of ``FUNCTION_WORDS``, another word, or two words;
  insertions: a word of ``INSERT_FUNCTION_WORDS`` or ``INSERT_WORDS``, or a repetition.
  Positions and records are those of ``bench/miscues.py``; ``miscues.apply`` makes the
  spoken text. Arabic tokens ending in a combining mark (tanwin, shadda ...) are never
  substituted or omitted, since ``miscues.split_token`` takes the mark for punctuation.
* **Voices.** espeak-ng ``ru`` and ``ar`` (Debian's espeak-ng; no other Russian or Arabic
  voice ships in a package this machine can install) at 140/150/160 words per minute.
* **Pages.** Russian: the six English fonts (all have Cyrillic), left-aligned, no
  hyphenation. Arabic: DejaVu Sans and FreeSerif (``fc-list :lang=ar``), shaped by
  libraqm (``ImageFont.Layout.RAQM``: letters join, lam-alef ligates), each word drawn
  right-to-left, words laid out from the right margin, lines right-aligned.

Units: sizes and boxes px, rates words per minute.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from bench.build_set import (
    DISTORTED_FRACTION,
    ESPEAK_RATES_WPM,
    NOISY_FRACTION,
    RATE_CHANGED_FRACTION,
    ItemPlan,
    _rate_factor,
)
from bench.miscues import (
    DETAILS,
    FUNCTION_WORD,
    INSERTION,
    OMISSION,
    REPETITION,
    SUBSTITUTION,
    TWO_WORDS,
    Kind,
    Miscue,
    _fits,
    _sentence_start,
    core_of,
    plan_miscues,
    split_token,
)
from bench.noise import draw_noise
from bench.pages import BLACK, PAGE_WIDTH, WHITE, Page, WordBox, font_paths, render_page
from bench.substitutes import VISUAL
from bench.tts import ESPEAK, Voice

LANGUAGES = ("ru", "ar")
PASSAGES = {lang: Path(__file__).with_name(f"passages_{lang}.json") for lang in LANGUAGES}
VOICES = {"ru": "ru", "ar": "ar"}
FONTS = {
    "ru": ("DejaVuSans", "DejaVuSerif", "LiberationSerif", "LiberationSans", "FreeSerif",
           "FreeSans"),
    "ar": ("DejaVuSans", "FreeSerif"),
}
RIGHT_TO_LEFT = frozenset({"ar"})
#: wordfreq's most frequent words a substitute is drawn from.
VOCABULARY_SIZE = 30_000
#: The substitute is drawn among this many of the most frequent candidates.
SUBSTITUTE_CHOICES = 8

FUNCTION_WORDS = {
    "ru": frozenset(
        "и в во на с со к ко по не от до за из о об обо для что или а но как его их ее её при"
        " без это так то же ли бы ни у над под перед через".split()
    ),
    "ar": frozenset(
        "في من على إلى الى أن ان أو او لا عن مع ما هذا هذه التي الذي كل أي أية قد له لها ذلك تلك"
        " بين إلا الا أم".split()
    ),
}
INSERT_FUNCTION_WORDS = {"ru": ("и", "на", "не", "по"), "ar": ("في", "من", "على", "لا")}
INSERT_WORDS = {"ru": ("очень", "тоже", "уже", "просто"), "ar": ("أيضا", "فقط", "جدا", "دائما")}
NUMBER_WORDS = {
    "ru": frozenset(
        "ноль один одна одно два две три четыре пять шесть семь восемь девять десять сто тысяча"
        " миллион первый второй третий половина".split()
    ),
    "ar": frozenset(
        "صفر واحد واحدة اثنان اثنين ثلاث ثلاثة أربع أربعة خمس خمسة ست ستة سبع سبعة ثماني ثمانية"
        " تسع تسعة عشر عشرة مئة مائة ألف مليون أول ثاني ثالث نصف".split()
    ),
}
#: Never substitutes: acronyms and names of organisations that wordfreq lists lower-cased.
EXCLUDED = {
    "ru": frozenset("сша ссср рф оон мвд нато снг фсб кгб".split()),
    "ar": frozenset("داعش".split()),
}
_LETTERS = {"ru": re.compile(r"^[а-яё]+$"), "ar": re.compile(r"^[\u0621-\u063a\u0641-\u064a]+$")}
_TASHKEEL = re.compile(r"[\u064b-\u0652\u0670\u0640]")
_AR_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و",
                          "ئ": "ي"})
_RU_VOWELS = str.maketrans({"ё": "е", "о": "а", "е": "и", "я": "и", "э": "и"})
_RU_DEVOICE = {"б": "п", "в": "ф", "г": "к", "д": "т", "ж": "ш", "з": "с"}


def fold(word: str, language: str) -> str:
    """A word as spelled for comparison: lower case; Russian ё as е; Arabic without
    tashkeel and tatweel, with the hamza/alef, alef maksura and teh marbuta variants
    folded (as ``core.reading.languages`` does, after CAMeL Tools' normalisers)."""
    word = unicodedata.normalize("NFC", word.lower())
    if language == "ru":
        return word.replace("ё", "е")
    return _TASHKEEL.sub("", word).translate(_AR_FOLD)


def sound_key(word: str, language: str) -> str:
    """What a word sounds like, coarsely: two words with one key are not told apart by ear.

    Russian: unstressed-vowel reduction (о as а; е, я, э as и) and final devoicing
    (б в г д ж з as п ф к т ш с); Arabic: ``fold`` (the folded letters sound alike in
    connected speech, or are spelling variants).
    """
    key = fold(word, language)
    if language == "ru":
        key = key.translate(_RU_VOWELS)
        if key and key[-1] in _RU_DEVOICE:
            key = key[:-1] + _RU_DEVOICE[key[-1]]
    return key


def ends_with_mark(token: str) -> bool:
    """Whether a token ends in a combining mark (Arabic tanwin, shadda, a vowel sign)."""
    return bool(token) and unicodedata.category(token[-1]) == "Mn"


def is_number(token: str, language: str) -> bool:
    """A digit (any script: Arabic-Indic digits too) or a number word of the language."""
    core = core_of(token)
    numbers = _folded(NUMBER_WORDS[language], language)
    return any(ch.isdigit() for ch in core) or fold(core, language) in numbers


@cache
def _folded(words: frozenset[str], language: str) -> frozenset[str]:
    return frozenset(fold(w, language) for w in words)


def _is_function_word(word: str, language: str) -> bool:
    return fold(word, language) in _folded(FUNCTION_WORDS[language], language)


@cache
def vocabulary(language: str) -> dict[int, tuple[tuple[str, str], ...]]:
    """wordfreq's ``VOCABULARY_SIZE`` most frequent words of the language that are all
    letters, 3+ long, not number words nor ``EXCLUDED``: (folded, as spelled) pairs,
    most frequent first, by folded length (the first spelling of a folded form wins)."""
    from wordfreq import top_n_list

    out: dict[int, dict[str, str]] = {}
    banned = _folded(NUMBER_WORDS[language] | EXCLUDED[language], language)
    for word in top_n_list(language, VOCABULARY_SIZE):
        key = fold(word, language)
        if len(key) >= 3 and _LETTERS[language].match(key) and key not in banned:
            out.setdefault(len(key), {}).setdefault(key, word)
    return {n: tuple(words.items()) for n, words in out.items()}


def substitute_for(word: str, rng: random.Random, language: str) -> str | None:
    """A frequent real word that looks like ``word`` (see the module docstring), or None.

    Candidates are ranked by edit distance, then frequency; one of the first
    ``SUBSTITUTE_CHOICES`` is drawn. Returned as wordfreq spells it (lower case).
    """
    target = fold(word, language)
    key = sound_key(target, language)
    for lengths in ((len(target),), (len(target) - 1, len(target) + 1)):
        found = []
        for n in lengths:
            for rank, (folded, spelled) in enumerate(vocabulary(language).get(n, ())):
                distance = Levenshtein.distance(folded, target)
                if folded[0] == target[0] and 1 <= distance <= 2 and (
                    sound_key(folded, language) != key
                ):
                    found.append((distance, rank, spelled))
        if found:
            return rng.choice(sorted(found)[:SUBSTITUTE_CHOICES])[2]
    return None


def _candidates(tokens: Sequence[str], kind: str, detail: str, language: str) -> list[tuple]:
    """``miscues._candidates`` for ``language``: spans where a miscue may go."""
    n, spans = len(tokens), []
    if kind == INSERTION:
        for i in range(2, n - 1):
            prev, nxt = tokens[i - 1], tokens[i]
            if not (split_token(prev)[2] or is_number(prev, language) or
                    is_number(nxt, language)):
                spans.append((i, i))
        return spans
    for i in range(1, n - 1):
        prefix, core, suffix = split_token(tokens[i])
        if prefix or not core or ends_with_mark(tokens[i]) or is_number(tokens[i], language):
            continue
        function = _is_function_word(core, language)
        if kind == SUBSTITUTION:
            name = core[0].isupper() and (
                not _sentence_start(tokens, i) or tokens[i + 1][:1].isupper()
            )
            if _LETTERS[language].match(fold(core, language)) and len(fold(core, language)) >= 3:
                if not name and not function:
                    spans.append((i, i + 1))
        elif detail == TWO_WORDS:
            nxt = tokens[i + 1] if i + 2 < n else ""
            if nxt and not suffix and not is_number(nxt, language) and not ends_with_mark(nxt):
                if not split_token(nxt)[0]:
                    spans.append((i, i + 2))
        elif function == (detail == FUNCTION_WORD):
            spans.append((i, i + 1))
    return spans


def _make(tokens: Sequence[str], kind: str, detail: str, span: tuple[int, int],
          rng: random.Random, language: str) -> Miscue | None:
    """A miscue of ``kind``/``detail`` at ``span``, or None if no word fits there."""
    start, end = span
    expected = " ".join(core_of(t) for t in tokens[start:end])
    if kind == OMISSION:
        return Miscue(OMISSION, start, end, expected, "", detail)
    if kind == SUBSTITUTION:
        found = substitute_for(expected, rng, language)
        if found is None:
            return None
        if expected[0].isupper():
            found = found[0].upper() + found[1:]
        return Miscue(SUBSTITUTION, start, end, expected, found, VISUAL)
    prev, nxt = core_of(tokens[start - 1]), core_of(tokens[start])
    if detail == REPETITION:
        return Miscue(INSERTION, start, start, "", prev, detail)
    words = INSERT_FUNCTION_WORDS if detail == FUNCTION_WORD else INSERT_WORDS
    found = rng.choice(words[language])
    if fold(found, language) in {fold(prev, language), fold(nxt, language)}:
        return None  # "и и" would be a repetition
    return Miscue(INSERTION, start, start, "", found, detail)


def plant(reference: str, kinds: Sequence[Kind], rng: random.Random,
          language: str) -> list[Miscue]:
    """``miscues.plant`` in ``language``: one miscue of each (type, detail) of ``kinds``,
    another detail of the type when the passage has no room for the one asked for.
    Raises ``ValueError`` if the kinds cannot all be placed."""
    tokens = reference.split()
    for _attempt in range(200):
        miscues: list[Miscue] = []
        for kind, detail in kinds:
            placed = [(m.ref_start, m.ref_end) for m in miscues]
            miscue = None
            for choice in (detail, *(d for d in DETAILS[kind] if d != detail)):
                options = [s for s in _candidates(tokens, kind, choice, language)
                           if _fits(s, placed)]
                rng.shuffle(options)
                for span in options:
                    miscue = _make(tokens, kind, choice, span, rng, language)
                    if miscue is not None:
                        break
                if miscue is not None:
                    break
            if miscue is None:
                break
            miscues.append(miscue)
        else:
            return sorted(miscues, key=lambda m: (m.ref_start, m.ref_end))
    raise ValueError(f"cannot place {list(kinds)} in {reference!r}")


def plan_items(passages: Sequence[dict[str, object]], seed: int, language: str) -> list[ItemPlan]:
    """``build_set.plan_items`` for ``language``: kinds from the same deck, espeak-ng's
    voice of the language at a drawn rate, its fonts in turn, no hyphenation."""
    rng = random.Random(f"{language}-{seed}")
    n = len(passages)
    kinds = plan_miscues(n, rng)
    distorted = set(rng.sample(range(n), round(DISTORTED_FRACTION * n)))
    noisy = set(rng.sample(range(n), round(NOISY_FRACTION * n)))
    rate_changed = set(rng.sample(range(n), round(RATE_CHANGED_FRACTION * n)))
    fonts = FONTS[language]
    return [
        ItemPlan(
            position=k,
            passage=int(passage["id"]),
            reference=str(passage["text"]),
            kinds=tuple(kinds[k]),
            voice=Voice(ESPEAK, VOICES[language], rng.choice(ESPEAK_RATES_WPM)),
            font=fonts[k % len(fonts)],
            hyphenate=False,
            distorted=k in distorted,
            rate_factor=_rate_factor(rng) if k in rate_changed else 1.0,
            noise=draw_noise(rng) if k in noisy else None,
            language=language,
        )
        for k, passage in enumerate(passages)
    ]


def rtl_font(font_name: str, font_size: int) -> ImageFont.FreeTypeFont:
    """A font of ``pages.FONT_FAMILIES`` at ``font_size`` px, laid out by libraqm."""
    return ImageFont.truetype(
        str(font_paths()[font_name]), font_size, layout_engine=ImageFont.Layout.RAQM
    )


def render_rtl(reference: str, font_name: str, font_size: int, *, margin: int = 80,
               width: int = PAGE_WIDTH, language: str = "ar") -> Page:
    """Draw ``reference`` right-to-left: each word shaped by libraqm (``direction="rtl"``),
    words placed leftwards from the right margin, lines right-aligned and word-wrapped.
    Boxes are [left, top, right, bottom] px, in ``reference.split()`` order."""
    font = rtl_font(font_name, font_size)
    opts = {"direction": "rtl", "language": language}
    space = font.getlength(" ", **opts)
    line_height = round(font_size * 1.6)
    right = width - margin
    placed: list[tuple[str, float, int]] = []
    x, line = float(right), 0
    for token in reference.split():
        w = font.getlength(token, **opts)
        if x < right and x - w < margin:
            x, line = float(right), line + 1
        placed.append((token, x - w, line))
        x -= w + space
    image = Image.new("RGB", (width, 2 * margin + (line + 1) * line_height), WHITE)
    draw = ImageDraw.Draw(image)
    boxes = []
    for token, left, ln in placed:
        xy = (round(left), margin + ln * line_height)
        draw.text(xy, token, font=font, fill=BLACK, **opts)
        box = [int(v) for v in draw.textbbox(xy, token, font=font, **opts)]
        boxes.append(WordBox(token, box, [box]))
    return Page(image, font_name, font_size, margin, [], boxes)


def render(reference: str, font_name: str, font_size: int, margin: int, language: str,
           ligatures: bool = True) -> Page:
    """The page of ``reference`` in ``language`` (right-to-left for Arabic)."""
    if language in RIGHT_TO_LEFT:
        return render_rtl(reference, font_name, font_size, margin=margin, language=language)
    return render_page(reference, font_name, font_size, margin=margin, ligatures=ligatures)


@dataclass(frozen=True)
class Fixture:
    """An API-test case: a short page, its planted miscues and the voice reading it."""

    reference: str
    miscues: tuple[Miscue, ...]
    voice: Voice
    font: str = "DejaVuSans"
    font_size: int = 40


#: Texts written for the fixtures (a children's-reader style). Russian: "красным"
#: read as "синим", "быстро" skipped. Arabic: الحديقة (the garden) read as المدرسة
#: (the school), سعيدًا (happy) skipped; the page has tashkeel and the number ٣.
FIXTURES = {
    "ru": Fixture(
        "Маленький котёнок играл в саду с красным мячом. Вечером мама позвала его домой. "
        "Он выпил молоко и быстро уснул на мягкой подушке.",
        (Miscue(SUBSTITUTION, 6, 7, "красным", "синим"), Miscue(OMISSION, 17, 18, "быстро", "")),
        Voice(ESPEAK, "ru", 140),
    ),
    "ar": Fixture(
        "ذَهَبَ الوَلَدُ الصغير إلى الحديقة مع أمه. رأى هناك ٣ قطط تلعب تحت شجرة كبيرة. "
        "ثم عاد إلى البيت سعيدًا وشرب كوبًا من الحليب.",
        (Miscue(SUBSTITUTION, 4, 5, "الحديقة", "المدرسة"), Miscue(OMISSION, 19, 20, "سعيدًا", "")),
        Voice(ESPEAK, "ar", 140),
    ),
}


def fixture_page(language: str) -> Page:
    """The fixture's page: 40 px DejaVu Sans, 60 px margins, no optional ligatures."""
    spec = FIXTURES[language]
    return render(spec.reference, spec.font, spec.font_size, 60, language, ligatures=False)
