"""Per-language rules of the reading check: what counts as the same word, how numbers
are read, which small words readers add or skip and which endings they slip on.

:mod:`core.reading.normalize` applies these rules to turn a printed or transcribed word
into spoken tokens; :mod:`core.reading.lexicon` uses the morphology and function words.
English keeps its own rules in :mod:`core.reading.normalize` (years, ordinals,
contractions, abbreviations); every other language goes through the generic pipeline
with the table below. Languages are ISO 639-1 codes ("ru", "ar"); a region or script
tag is ignored ("ru-RU" is "ru").

Rules and their sources:

- **All languages but English**: Unicode NFC (Arabic: NFKC, which also splits the
  presentation-form ligatures such as U+FEFB lam-alef, as pyarabic's
  ``normalize_ligature`` does); ``str.casefold``; invisible characters dropped (soft
  hyphen U+00AD, zero-width space and joiners, bidi marks U+200E/U+200F/U+061C and
  embeddings, which Arabic text carries) and apostrophes dropped inside a word; any
  Unicode letter, digit or combining mark is part of a word. Numbers are read with
  ``num2words`` in the language when it has it, else left as digits.
- **Russian (ru)**: ё is е (Russian print writes ё optionally: Lopatin (ed.), *Правила
  русской орфографии и пунктуации*, 2006, on the letter ё), stress marks U+0301 and
  U+0300 are dropped (a reading aid in primers, not a letter); a decimal comma
  ("3,5"); numbers in every case (``num2words``' ``case``: "5" may be read "пять",
  "пяти", "пятью"), "одна тысяча" also as "тысяча", a year-like number (1000-2099)
  also as an ordinal ("в 1948 году": "сорок восьмом"); "3-й", "2-х", "5-го": the
  forms of the number that end in the printed ending (the ending written after the
  digits is the last letters of the word read, the same orthography rules).
- **Arabic (ar)**: tashkeel (U+064B..U+065F, superscript alef U+0670, Quranic marks
  U+0610..U+061A and U+06D6..U+06ED) and tatweel U+0640 dropped; أ إ آ ٱ -> ا
  (CAMeL Tools ``normalize_alef_ar``; Lucene ``ArabicNormalizer``, after Larkey et
  al. 2007); ى -> ي (``normalize_alef_maksura_ar``); ة -> ه
  (``normalize_teh_marbuta_ar``); ؤ -> و and ئ -> ي (pyarabic ``normalize_hamza``
  with ``method="tasheel"``: the hamza's seat letter); Persian keyboard variants
  ی -> ي and ک -> ك (Lucene ``PersianNormalizer``); Arabic-Indic digits
  U+0660..U+0669 and U+06F0..U+06F9 are digits, ٫ ٬ ٪ are the decimal point, the
  thousands separator and the percent sign. The conjunction و written onto a word
  is not split off: it is read as one word. مائة is مئة (the alef is not read;
  both spellings are correct). Numbers from ``num2words`` (its و joined to the next
  word, as written; the construct duals مئتا/ألفا it gives alone made مئتان/ألفان)
  also in the oblique case (-ين for -ون/-ان) and with the gender polarity of 3-10
  (ثلاث for ثلاثة); decimals as "ثلاثة فاصلة خمسة".
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from num2words import CONVERTER_CLASSES, num2words

__all__ = [
    "SUPPORTED_LANGUAGES", "LanguageRules", "is_word_char", "language_code", "rules_for",
    "word_core",
]

#: Invisible characters and apostrophes dropped from words in every language but English.
_DROPPED = "\u00ad\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"
_APOSTROPHES = "'\u2019\u2018\u02bc`\u00b4"
_BASE_FOLD: dict[int, str | None] = {ord(ch): None for ch in _DROPPED + _APOSTROPHES}


def _ranges(*spans: tuple[int, int]) -> list[int]:
    return [c for lo, hi in spans for c in range(lo, hi + 1)]


_RU_FOLD = {**_BASE_FOLD, ord("ё"): "е", 0x0301: None, 0x0300: None}
_AR_FOLD: dict[int, str | None] = {
    **_BASE_FOLD,
    **{c: None for c in _ranges((0x0610, 0x061A), (0x064B, 0x065F), (0x0670, 0x0670),
                                (0x06D6, 0x06ED), (0x0640, 0x0640))},
    **{ord(ch): "\u0627" for ch in "\u0623\u0625\u0622\u0671"},  # أ إ آ ٱ -> ا
    ord("\u0649"): "\u064a",  # ى -> ي
    ord("\u0629"): "\u0647",  # ة -> ه
    ord("\u0624"): "\u0648",  # ؤ -> و
    ord("\u0626"): "\u064a",  # ئ -> ي
    ord("\u06cc"): "\u064a",  # ی (Farsi yeh) -> ي
    ord("\u06a9"): "\u0643",  # ک (keheh) -> ك
    **{0x0660 + d: str(d) for d in range(10)},
    **{0x06F0 + d: str(d) for d in range(10)},
    ord("\u066b"): ".", ord("\u066c"): ",", ord("\u066a"): "%",
}  # fmt: skip

#: The most frequent English function words (all among wordfreq's 60 most frequent words).
_EN_FUNCTION = (
    "the", "a", "an", "and", "of", "to", "in", "is", "it", "that", "on", "for", "with",
    "as", "at", "by", "this", "was", "so", "but", "or", "are", "be", "has", "had",
)  # fmt: skip
#: Russian prepositions, conjunctions and particles among wordfreq's 100 most frequent words.
_RU_FUNCTION = (
    "и", "в", "не", "на", "с", "что", "а", "по", "к", "но", "из", "за", "о", "у", "от",
    "до", "же", "ли", "бы", "для", "как", "так", "то", "во", "со",
)  # fmt: skip
#: Arabic particles and prepositions among wordfreq's 150 most frequent words.
_AR_FUNCTION = (
    "في", "من", "على", "أن", "لا", "إلى", "ما", "عن", "مع", "أو", "قد", "لم", "ثم", "إن",
    "يا", "هل", "بل", "لن", "و",
)  # fmt: skip

#: Russian inflectional endings: the noun, adjective, verb and reflexive endings of the
#: Snowball Russian stemmer (https://snowballstem.org/algorithms/russian/stemmer.html).
_RU_ENDINGS = tuple(sorted(set(
    "а ев ов ие ье е иями ями ами еи ии и ией ей ой ий й иям ям ием ем ам ом о у ах иях "
    "ях ы ь ию ью ю ия ья я "  # noun
    "ее ые ое ими ыми ый его ого ему ому их ых ую юю ая яя ою ею им ым "  # adjective
    "ла на ете йте ли л н ло но ет ют ны ть ешь ила ыла ена ейте уйте ите или ыли "
    "уй ил ыл ен ило ыло ено ят ует уют ит ыт ены ить ыть ишь "  # verb
    "ся сь".split()  # reflexive
)))
#: Arabic light-stemming affixes (Larkey, Ballesteros & Connell 2007, "light10"),
#: written folded (ة as ه).
_AR_PREFIXES = ("ال", "وال", "بال", "كال", "فال", "لل", "و")
_AR_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


@dataclass(frozen=True, eq=False)
class LanguageRules:
    """How words of one language are normalised and inflected.

    Attributes:
        code: ISO 639-1 code.
        fold: ``str.translate`` table applied after Unicode normalisation and casefold.
        unicode_form: ``unicodedata.normalize`` form applied first.
        decimal_comma: "3,5" is three and a half (else "," separates thousands).
        numbers: A number's spoken phrases, most likely first; ``None``: the digits.
        percent: Words read for "%", most likely first.
        word_numbers: Spoken phrases of a whole word such as "3-й", or ``None``.
        canonical: One spelling for a folded token that has several.
        prefixes, suffixes: Affixes added or dropped in morphology slips.
        min_stem: Letters left after dropping affixes.
        function_words: Small words readers add or skip.
    """

    code: str
    fold: Mapping[int, str | None] = field(default_factory=lambda: dict(_BASE_FOLD))
    unicode_form: str = "NFC"
    decimal_comma: bool = False
    numbers: Callable[[int | float], list[str]] | None = None
    percent: tuple[str, ...] = ()
    word_numbers: Callable[[str], list[str] | None] | None = None
    canonical: Callable[[str], str] | None = None
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    min_stem: int = 3
    function_words: tuple[str, ...] = ()

    def prepare(self, text: str) -> str:
        """``text`` normalised, case-folded and folded by :attr:`fold`."""
        return unicodedata.normalize(self.unicode_form, text).casefold().translate(self.fold)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- Russian -----------------------------------------------------------------------

_RU_CASES = ("n", "g", "d", "a", "i", "p")
_RU_ONE = re.compile(r"^(?:одна|одной|одну|одною) (?=тысяч)")


def _ru_numbers(value: int | float) -> list[str]:
    """Russian readings of a number (see the module docstring)."""
    if isinstance(value, float):
        return [num2words(value, lang="ru")]
    cardinal = [num2words(value, lang="ru", case=c) for c in _RU_CASES]
    cardinal += [num2words(value, lang="ru", gender=g) for g in ("f", "n")]
    ordinal = [num2words(value, lang="ru", to="ordinal", case=c) for c in _RU_CASES]
    forms = cardinal[:1] + (ordinal if 1000 <= value <= 2099 else []) + cardinal[1:]
    out: list[str] = []
    for form in forms:
        out += [_RU_ONE.sub("", form), form]
    return _dedupe(out)


_RU_SUFFIXED = re.compile(r"^(\d+)-([а-я]{1,3})$")


@functools.lru_cache(maxsize=4096)
def _ru_suffixed(core: str) -> list[str] | None:
    """"3-й", "2-х", "5-го": the forms of the number that end in the printed ending."""
    match = _RU_SUFFIXED.match(core)
    if not match or len(match.group(1)) > 9:
        return None
    n, ending = int(match.group(1)), match.group(2)
    forms = [
        num2words(n, lang="ru", to="ordinal", case=c, gender=g, plural=p)
        for c in _RU_CASES for g, p in (("m", False), ("f", False), ("n", False), ("m", True))
    ] + [num2words(n, lang="ru", case=c, gender=g) for c in _RU_CASES for g in ("m", "f", "n")]
    found = [f for f in _dedupe(forms) if f.replace("ё", "е").endswith(ending)]
    return found or None


# --- Arabic ------------------------------------------------------------------------

_AR_CONSTRUCT = {"مئتا": "مئتان", "ألفا": "ألفان", "مليونا": "مليونان", "مليارا": "ملياران"}
_AR_POLARITY = {"ثلاثة", "أربعة", "خمسة", "ستة", "سبعة", "ثمانية", "تسعة", "عشرة"}
_AR_HUNDRED = re.compile(
    r"^((?:و|ف|ب|ل|ال|وال|بال|فال|لل)?(?:ثلاث|اربع|خمس|ست|سبع|ثمان|تسع)?)ما(يه|يت(?:ان|ين|ا|ي))$"
)


def _ar_canonical(token: str) -> str:
    """مائة (folded مايه) and مئة (folded ميه) as one spelling, and their duals."""
    return _AR_HUNDRED.sub(r"\1م\2", token)


def _ar_integer(value: int) -> str:
    words = num2words(value, lang="ar").split()
    if words and words[-1] in _AR_CONSTRUCT:
        words[-1] = _AR_CONSTRUCT[words[-1]]
    return re.sub(r"(^| )و ", r"\1و", " ".join(words))


def _ar_oblique(word: str) -> str:
    if word in ("اثنا", "اثنتا"):
        return word[:-1] + "ي"
    return word[:-2] + "ين" if word.endswith(("ون", "ان")) else word


def _ar_numbers(value: int | float) -> list[str]:
    """Arabic readings of a number (see the module docstring)."""
    if isinstance(value, float):  # "3.05": "ثلاثة فاصلة صفر خمسة"
        whole, _, fraction = f"{value:f}".rstrip("0").partition(".")
        digits = fraction.lstrip("0")
        tail = ["صفر"] * (len(fraction) - len(digits))
        tail += [_ar_integer(int(digits))] if digits else []
        return [" ".join([_ar_integer(int(whole)), "فاصلة", *(tail or ["صفر"])])]
    nominative = _ar_integer(value)
    oblique = " ".join(_ar_oblique(w) for w in nominative.split())
    out = [nominative, oblique]
    for form in (nominative, oblique):
        words = form.split()
        out.append(" ".join(
            w[:-1] if w.lstrip("و") in _AR_POLARITY else w for w in words
        ))
    return _dedupe(out)


# --- The table ---------------------------------------------------------------------

_ENGLISH = LanguageRules(code="en", fold={}, function_words=_EN_FUNCTION)

#: The languages with rules of their own (English: :mod:`core.reading.normalize`).
SUPPORTED_LANGUAGES: Mapping[str, LanguageRules] = MappingProxyType({
    "en": _ENGLISH,
    "ru": LanguageRules(
        code="ru", fold=_RU_FOLD, decimal_comma=True, numbers=_ru_numbers,
        percent=("процентов", "процента", "процент"), word_numbers=_ru_suffixed,
        suffixes=_RU_ENDINGS, min_stem=3, function_words=_RU_FUNCTION,
    ),
    "ar": LanguageRules(
        code="ar", fold=_AR_FOLD, unicode_form="NFKC", numbers=_ar_numbers,
        percent=("بالمئة", "في المئة"), canonical=_ar_canonical,
        prefixes=_AR_PREFIXES, suffixes=_AR_SUFFIXES, min_stem=2, function_words=_AR_FUNCTION,
    ),
})  # fmt: skip


def language_code(language: str | None) -> str:
    """The ISO 639-1 part of a language tag, lower case ("ru-RU" -> "ru"); "en" if empty."""
    code = re.split(r"[-_]", (language or "en").strip().lower(), maxsplit=1)[0]
    return code or "en"


@functools.lru_cache(maxsize=64)
def rules_for(language: str | None) -> LanguageRules:
    """The rules of a language.

    Args:
        language: An ISO 639-1 code, possibly with a region ("ru-RU"); empty: English.

    Returns:
        The language's entry of :data:`SUPPORTED_LANGUAGES`, else generic rules
        (case folding, Unicode letters and digits, numbers through ``num2words``
        when it has the language, else left as digits). Never raises.
    """
    code = language_code(language)
    if code in SUPPORTED_LANGUAGES:
        return SUPPORTED_LANGUAGES[code]
    numbers = None
    if code in CONVERTER_CLASSES:

        def numbers(value: int | float) -> list[str]:
            return [num2words(value, lang=code)]

    return LanguageRules(code=code, numbers=numbers)


def is_word_char(ch: str) -> bool:
    """Whether a character is part of a word: a Unicode letter, digit or combining mark."""
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def word_core(word: str) -> tuple[str, str, str]:
    """``(lead, core, tail)`` of a word: the punctuation before and after it and the
    word itself (letters, digits and combining marks such as Arabic tashkeel)."""
    start = 0
    while start < len(word) and not is_word_char(word[start]):
        start += 1
    end = len(word)
    while end > start and not is_word_char(word[end - 1]):
        end -= 1
    return word[:start], word[start:end], word[end:]
