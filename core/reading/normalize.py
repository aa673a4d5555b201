"""Word normalisation for reading assessment: formatting must never count as a miscue.

A word as printed or as transcribed ("1984", "Don't", "path's", "well-known", "“Yes,")
is turned into *spoken forms*: lists of lower-case alphanumeric tokens a reader would
say for it. ``spoken_form`` gives the one used for alignment; ``spoken_variants`` gives
every accepted reading, used afterwards to excuse differences that are only a matter
of form ("1984" read as "one thousand nine hundred eighty-four", "path's" heard as
"path is", "everyone" heard as "every one").

Rules, in order:

1. Curly quotes and apostrophes are straightened; case is folded.
2. Hyphens, dashes and slashes separate parts ("well-known" -> "well known").
3. Numbers become words with ``num2words`` (cardinals, ordinals "3rd", decimals,
   "%" as "percent"). A four-digit integer from 1100 to 2099 without a thousands
   separator is read as a year ("nineteen eighty four") with the cardinal as a
   variant; "and" inside a number is optional ("two thousand and five").
4. Contractions: the unambiguous ones are expanded ("don't" -> "do not", "I'm" ->
   "i am", "it's" -> "it is"); "'s" after other words is a possessive or "is"/"has"
   ("path's" -> "paths", variants "path is", "path has"); "'d" is "would" or "had".
5. A few spoken abbreviations ("Mr" -> "mister"). Everything else that is not a
   letter or digit is dropped.

Those are the rules for English (``language="en"``, the default). Other languages
(ISO 639-1 codes) follow :mod:`core.reading.languages`: Unicode normalisation and
case folding, the language's letter folds (Russian ё as е, Arabic without tashkeel,
one alef), hyphens, dashes and slashes separating parts as above, numbers read in the
language with ``num2words`` (left as digits when it lacks the language), every other
character that is not a letter, digit or combining mark dropped. Contractions,
abbreviations, years and ordinal suffixes ("3rd") are English-only.

Pure Python apart from ``num2words``.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from num2words import num2words

from core.reading.languages import LanguageRules, is_word_char, rules_for

__all__ = ["joined_variants", "spoken_form", "spoken_variants"]

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
# Hyphen-minus, hyphen, non-breaking hyphen, figure/en/em dashes, minus, slash, soft hyphen.
_PART_SPLIT = re.compile(r"[-\u2010\u2011\u2012\u2013\u2014\u2212/\u00ad]+")
_NUMBER = re.compile(r"^(\d[\d,]*(?:\.\d+)?)(st|nd|rd|th|s|%)?$")
_KEEP = re.compile(r"[^a-z0-9']+")
# Punctuation around a word, but not "%" (part of a number) or "'" (a contraction).
_EDGE = re.compile(r"^[^a-z0-9%']+|[^a-z0-9%']+$")

#: Contractions whose expansion is not ambiguous (after straightening apostrophes).
_CONTRACTIONS: dict[str, tuple[str, ...]] = {
    "won't": ("will", "not"),
    "can't": ("can", "not"),
    "shan't": ("shall", "not"),
    "ain't": ("is", "not"),
    "let's": ("let", "us"),
    "y'all": ("you", "all"),
    "o'clock": ("oclock",),
}
_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("n't", ("not",)),
    ("'re", ("are",)),
    ("'ve", ("have",)),
    ("'ll", ("will",)),
    ("'m", ("am",)),
)
#: Words after which "'s" is "is" (or "has"), never a possessive.
_S_IS = frozenset(
    "it he she that there here what where who how when why this everyone everybody "
    "someone somebody nobody nothing something everything".split()
)
_ABBREVIATIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "mr": (("mister",),),
    "mrs": (("missus",), ("misses",)),
    "dr": (("doctor",), ("drive",)),
    "st": (("saint",), ("street",)),
    "vs": (("versus",),),
    "etc": (("et", "cetera"),),
    "cannot": (("can", "not"),),
    "ok": (("okay",),),
}

Form = tuple[str, ...]


def _number_forms(number: str, suffix: str | None) -> list[Form]:
    """Spoken forms of a numeric string, most likely first."""
    plain = number.replace(",", "")
    try:
        value: float | int = float(plain) if "." in plain else int(plain)
    except ValueError:  # e.g. "1,2.3"
        return [tuple(re.findall(r"\d", number))]
    forms: list[str] = []
    if suffix in ("st", "nd", "rd", "th") and isinstance(value, int):
        forms.append(num2words(value, to="ordinal"))
    elif suffix == "s" and isinstance(value, int) and 1100 <= value <= 2099:
        # "1990s": "nineteen nineties".
        forms.append(num2words(value, to="year")[:-1] + "ies")
    else:
        if isinstance(value, int) and "," not in number and 1100 <= value <= 2099:
            forms.append(num2words(value, to="year"))
        forms.append(num2words(value))
        if suffix == "%":
            forms = [f + " percent" for f in forms]
    out: list[Form] = []
    for text in forms:
        words = tuple(w for w in re.split(r"[\s,\-]+", text.lower()) if w)
        out.append(words)
        if "and" in words:
            out.append(tuple(w for w in words if w != "and"))
    return list(dict.fromkeys(out))


def _part_forms(part: str) -> list[Form]:
    """Spoken forms of one hyphen-free part of a word (already lower-case)."""
    part = part.strip("'")
    if not part:
        return [()]
    number = _NUMBER.match(part)
    if number:
        return _number_forms(number.group(1), number.group(2))
    if part in _CONTRACTIONS:
        return [_CONTRACTIONS[part]]
    for suffix, expansion in _SUFFIXES:
        if part.endswith(suffix) and len(part) > len(suffix):
            return [(part[: -len(suffix)], *expansion)]
    if part.endswith("'d") and len(part) > 2:
        stem = part[:-2]
        return [(stem, "would"), (stem, "had")]
    if part.endswith("'s") and len(part) > 2:
        stem = part[:-2]
        if stem in _S_IS:
            return [(stem, "is"), (stem, "has"), (stem + "s",)]
        return [(stem + "s",), (stem, "is"), (stem, "has")]
    word = part.replace("'", "")
    if not word:
        return [()]
    forms: list[Form] = [(word,)]
    forms.extend(_ABBREVIATIONS.get(word, ()))
    return forms


@lru_cache(maxsize=65536)
def _forms(word: str, language: str = "en") -> tuple[Form, ...]:
    rules = rules_for(language)
    if rules.code != "en":
        return _language_forms(word, rules)
    text = word.translate(_QUOTES).lower()
    per_part: list[list[Form]] = []
    for part in _PART_SPLIT.split(text):
        part = _EDGE.sub("", part)
        number = _NUMBER.match(part)
        if number:  # before cleaning: "2,000" and "3.5" keep their separators
            per_part.append(_number_forms(number.group(1), number.group(2)))
            continue
        for piece in _KEEP.sub(" ", part.replace("&", " and ")).split():
            per_part.append(_part_forms(piece))
    return _combine(per_part)


def _combine(per_part: list[list[Form]]) -> tuple[Form, ...]:
    """The word's forms: one form of each part, at most 16 combinations."""
    per_part = [forms for forms in per_part if forms != [()]]
    if not per_part:
        return ((),)
    combos = itertools.islice(itertools.product(*per_part), 16)
    return tuple(dict.fromkeys(tuple(w for form in combo for w in form) for combo in combos))


# --- Languages other than English (rules: core.reading.languages) -------------------

_ANY_NUMBER = re.compile(r"^(\d(?:[\d,.]*\d)?)(%)?$")
_PHRASE_SPLIT = re.compile(r"[\s,\-]+")


def _trim(text: str) -> str:
    """``text`` without the punctuation around it ("%" after a number is kept)."""
    start, end = 0, len(text)
    while start < end and not is_word_char(text[start]):
        start += 1
    while end > start and not (is_word_char(text[end - 1]) or text[end - 1] == "%"):
        end -= 1
    return text[start:end]


def _tokens(text: str, rules: LanguageRules) -> Form:
    """Tokens of an already prepared text: runs of letters, digits and marks."""
    pieces = "".join(ch if is_word_char(ch) else " " for ch in text).split()
    canonical = rules.canonical
    return tuple(canonical(p) for p in pieces) if canonical else tuple(pieces)


def _parse_number(number: str, decimal_comma: bool) -> int | float | None:
    """The value of a numeral; "," is a decimal comma or a thousands separator."""
    if decimal_comma and "," in number:
        number = number.replace(",", ".") if number.count(",") == 1 and "." not in number else ""
    plain = number.replace(",", "")
    try:
        return float(plain) if "." in plain else int(plain)
    except ValueError:  # "1.2.3", "1,2,3" with a decimal comma
        return None


def _phrase_forms(phrases: list[str], rules: LanguageRules) -> list[Form]:
    out = [_tokens(rules.prepare(" ".join(_PHRASE_SPLIT.split(p))), rules) for p in phrases]
    return list(dict.fromkeys(form for form in out if form))


def _language_number(number: str, percent: bool, rules: LanguageRules) -> list[Form]:
    """Spoken forms of a numeral in the rules' language, most likely first; the digits
    themselves when the language has no number words (or the numeral no value)."""
    value = _parse_number(number, rules.decimal_comma)
    phrases: list[str] = []
    if value is not None and rules.numbers is not None:
        try:
            phrases = rules.numbers(value)
        except (ArithmeticError, NotImplementedError, ValueError, TypeError, IndexError):
            phrases = []  # num2words' limits (very large numbers)
    if not phrases:
        digits = re.findall(r"\d+", number)
        return [("".join(digits),) if isinstance(value, int) else tuple(digits)]
    if percent and rules.percent:
        phrases = [f"{p} {word}" for p in phrases for word in rules.percent]
    return _phrase_forms(phrases, rules) or [tuple(re.findall(r"\d+", number))]


def _language_forms(word: str, rules: LanguageRules) -> tuple[Form, ...]:
    text = rules.prepare(word)
    if rules.word_numbers is not None:
        phrases = rules.word_numbers(_trim(text))
        if phrases:
            return _combine([_phrase_forms(phrases, rules)])
    per_part: list[list[Form]] = []
    for part in _PART_SPLIT.split(text):
        part = _trim(part)
        number = _ANY_NUMBER.match(part)
        if number:
            per_part.append(_language_number(number.group(1), bool(number.group(2)), rules))
            continue
        per_part.extend([(token,)] for token in _tokens(part, rules))
    return _combine(per_part)


def spoken_form(word: str, language: str = "en") -> list[str]:
    """The most likely spoken tokens of a word, used for alignment.

    Args:
        word: One whitespace-free word as printed or transcribed, punctuation and all.
        language: ISO 639-1 code of the text (:func:`core.reading.languages.rules_for`).

    Returns:
        Lower-case alphanumeric tokens, possibly several ("1984" ->
        ``["nineteen", "eighty", "four"]``, "don't" -> ``["do", "not"]``; in Russian
        "Жили-были" -> ``["жили", "были"]``), or ``[]`` for a word with no letters or
        digits ("—", "...", "«"). Never raises.
    """
    return list(_forms(word, language)[0])


def spoken_variants(word: str, language: str = "en") -> list[list[str]]:
    """Every accepted spoken form of a word, the ``spoken_form`` first (at most 16).

    ``language`` as for :func:`spoken_form`; never raises."""
    return [list(form) for form in _forms(word, language)]


def joined_variants(words: list[str], limit: int = 64, language: str = "en") -> set[str]:
    """The spoken variants of a word sequence, each joined without spaces.

    Joining without spaces makes word-boundary differences equal ("everyone" /
    "every one", "cannot" / "can not") and lets a run of words be compared with a
    run of a different length ("1984" / "nineteen eighty four").

    Args:
        words: Words as printed or transcribed.
        limit: At most this many combinations are generated (variants multiply).
        language: ISO 639-1 code of the words (:func:`spoken_form`).

    Returns:
        A set of strings; ``{""}`` for an empty or punctuation-only sequence.
    """
    per_word = [_forms(w, language) for w in words]
    combos = itertools.islice(itertools.product(*per_word), limit)
    return {"".join(w for form in combo for w in form) for combo in combos}
