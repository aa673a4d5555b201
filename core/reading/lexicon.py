"""Words a reader may say instead of a printed word: the candidates of the reading check.

Readers' substitutions are mostly real words that look or sound like the printed one
("state" read "stale", "from" read "form"), or the same word with an ending added or
dropped ("walked" read "walk"); their insertions and omissions are mostly small
function words. This module proposes those candidates; the ASR model, teacher-forced
over the audio, decides (:mod:`core.reading.verify`).

The word list is ``wordfreq``'s English list (its most frequent
:data:`LEXICON_SIZE` words; wordfreq 3.x, data from Wikipedia, subtitles, news, books,
web text and more, https://github.com/rspeer/wordfreq). Distances are
``rapidfuzz``'s: optimal string alignment (an adjacent transposition, "form"/"from",
costs 1) and Levenshtein; sound-alikes are words with the same Metaphone key
(``jellyfish``) within a Levenshtein distance of 2 ("through"/"threw").

Other languages (``language``, ISO 639-1) take wordfreq's list of that language and
compare words by their normalised forms (:func:`core.reading.normalize.spoken_form`:
Russian ё as е, Arabic without tashkeel and with one alef), so spelling variants are
one word. Metaphone is English and is not used for them. Morphology slips swap
affixes from the language's table (:mod:`core.reading.languages`): Russian
inflectional endings (Snowball's Russian stemmer's lists: "книга" read "книгу"),
Arabic light-stemming prefixes and suffixes (Larkey et al. 2007: "كتاب" read
"الكتاب", "كتابه"). A language wordfreq does not have gets an empty word list: only
the decoder's own alternatives are proposed then.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence

from core.reading.languages import LanguageRules, rules_for, word_core
from core.reading.normalize import spoken_form

__all__ = [
    "FUNCTION_WORDS", "LEXICON_SIZE", "Lexicon", "default_lexicon", "frequency_gain",
    "function_words", "similarity", "styled",
]

#: Words taken from wordfreq's list, most frequent first: large enough for the
#: words of school texts, small enough to search in about 2 ms per word.
LEXICON_SIZE = 40_000
#: Small words readers add or skip (the most frequent English function words); other
#: languages' lists: :func:`function_words`.
FUNCTION_WORDS = rules_for("en").function_words
#: Endings added or dropped in morphology slips.
_ENDINGS = ("s", "es", "ed", "d", "ing", "ly", "er", "est")
_LETTERS = re.compile(r"^[a-z]+(?:'[a-z]+)?$")
_WORD_CORE = re.compile(r"^(\W*)(.*?)(\W*)$")
_STRIP = ".,;:!?\"'()[]"


class Lexicon:
    """Near-words of the words of one language.

    Args:
        words: The vocabulary, most frequent first (lower case). Default: wordfreq's
            :data:`LEXICON_SIZE` most frequent words of ``language`` (none when
            wordfreq lacks the language).
        language: ISO 639-1 code; English by default.
    """

    def __init__(self, words: Sequence[str] | None = None, language: str = "en") -> None:
        self.rules = rules_for(language)
        self.language = self.rules.code
        if words is None:
            from wordfreq import top_n_list

            try:
                words = top_n_list(self.language, LEXICON_SIZE)
            except LookupError:  # wordfreq has no list for the language
                words = []
        if self.language != "en":
            self._init_other(words)
            return
        self.words = [w for w in words if _LETTERS.match(w)]
        self.rank = {w: i for i, w in enumerate(self.words)}
        import jellyfish

        self._metaphone = jellyfish.metaphone
        self._by_sound: dict[str, list[str]] = {}
        for word in self.words:
            self._by_sound.setdefault(jellyfish.metaphone(word), []).append(word)

    def _init_other(self, words: Sequence[str]) -> None:
        """The vocabulary of a language other than English, by normalised form: the
        most frequent spelling of each form is kept (wordfreq has "أن" and "ان")."""
        self.spelling: dict[str, str] = {}
        for word in words:
            key = _key(word, self.language)
            if len(key) > 1 and key.isalpha():
                self.spelling.setdefault(key, word.lower())
        self.forms = list(self.spelling)
        self.words = list(self.spelling.values())
        self.rank = {form: i for i, form in enumerate(self.forms)}

    def completions(self, prefix: str, limit: int = 5) -> list[str]:
        """The most frequent words that begin with ``prefix`` (a decoder's first token,
        e.g. "син" -> "синий", "синим"), compared by normalised form; ``prefix``
        itself excluded. Empty for a prefix of fewer than two letters.
        """
        key = prefix.lower() if self.language == "en" else _key(prefix, self.language)
        if len(key) < 2 or not key.isalpha():
            return []
        forms = self.forms if self.language != "en" else self.words
        if not hasattr(self, "_sorted"):
            self._sorted = sorted(range(len(forms)), key=forms.__getitem__)
            self._sorted_forms = [forms[i] for i in self._sorted]
        start = bisect.bisect_left(self._sorted_forms, key)
        stop = bisect.bisect_left(self._sorted_forms, key + "\U0010ffff")
        ranks = sorted(self._sorted[start:stop])
        return [self.words[r] for r in ranks if forms[r] != key][:limit]

    def __contains__(self, word: str) -> bool:
        if self.language != "en":
            return _key(word, self.language) in self.rank
        return word.lower() in self.rank

    def near_words(self, word: str, limit: int = 12) -> list[str]:
        """Words a reader may say for ``word``: morphology slips, then look-alikes and
        sound-alikes, most frequent first; lower case, ``word`` itself excluded.

        Args:
            word: A printed word; punctuation around it is ignored.
            limit: At most this many words.

        Returns:
            Up to ``limit`` words; empty for a word with no letters or of one letter.
        """
        from rapidfuzz import process
        from rapidfuzz.distance import OSA, Levenshtein

        if self.language != "en":
            return self._near_other(word, limit)
        core = _WORD_CORE.match(word)
        base = (core.group(2) if core else word).lower()
        if len(base) < 2 or not _LETTERS.match(base):
            return []
        found: list[str] = [w for w in _morphology(base) if w in self.rank and w != base]
        cutoff = 1 if len(base) < 7 else 2
        for candidate, _distance, _ in process.extract(
            base, self.words, scorer=OSA.distance, score_cutoff=cutoff, limit=60
        ):
            if candidate != base and candidate not in found and len(candidate) > 1:
                found.append(candidate)
        for candidate in self._by_sound.get(self._metaphone(base), ()):
            if (
                candidate != base
                and candidate not in found
                and Levenshtein.distance(candidate, base) <= 2
            ):
                found.append(candidate)
        morph = [w for w in found if w in set(_morphology(base))]
        rest = sorted((w for w in found if w not in morph), key=lambda w: self.rank.get(w, 1 << 30))
        return (morph + rest)[:limit]

    def _near_other(self, word: str, limit: int) -> list[str]:
        """:meth:`near_words` of a language other than English: forms compared."""
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        base = _key(word, self.language)
        if len(base) < 2 or not base.isalpha() or any(ch.isdigit() for ch in word):
            return []
        morph = sorted(
            (f for f in _affixed(base, self.rules) if f in self.rank and f != base),
            key=self.rank.__getitem__,
        )
        cutoff = 1 if len(base) < 7 else 2
        near = [
            form
            for form, _distance, _ in process.extract(
                base, self.forms, scorer=OSA.distance, score_cutoff=cutoff, limit=60
            )
            if form != base and form not in morph
        ]
        near.sort(key=self.rank.__getitem__)
        return [self.spelling[f] for f in morph + near][:limit]


def _key(word: str, language: str) -> str:
    """A word's normalised form in a language other than English ("" for several
    tokens, such as "Жили-были")."""
    tokens = spoken_form(word, language)
    return tokens[0] if len(tokens) == 1 else ""


def _affixed(base: str, rules: LanguageRules) -> list[str]:
    """A normalised word with an affix of ``rules`` dropped, added or swapped
    ("книга" -> "книги", "книгу", "книг"; "كتاب" -> "الكتاب", "كتابه")."""
    prefixes = ("", *(p for p in rules.prefixes if base.startswith(p)))
    suffixes = ("", *(s for s in rules.suffixes if base.endswith(s)))
    stems = {
        base[len(p) : len(base) - len(s)]
        for p in prefixes
        for s in suffixes
        if len(base) - len(p) - len(s) >= rules.min_stem
    }
    return list(dict.fromkeys(
        p + stem + s for stem in sorted(stems) for p in ("", *rules.prefixes)
        for s in ("", *rules.suffixes)
    ))  # fmt: skip


def function_words(language: str = "en") -> tuple[str, ...]:
    """Small words readers add or skip in ``language``, most frequent first
    (:mod:`core.reading.languages`; empty for a language without a list)."""
    return rules_for(language).function_words


def _morphology(base: str) -> list[str]:
    """The word with an ending added or dropped ("walked" -> "walk", "state" -> "states")."""
    out = [base + e for e in _ENDINGS]
    if base.endswith("e"):
        out += [base[:-1] + "ing", base + "d"]
    if base.endswith("y"):
        out += [base[:-1] + "ies", base[:-1] + "ied"]
    for ending in _ENDINGS:
        if base.endswith(ending) and len(base) - len(ending) >= 3:
            stem = base[: -len(ending)]
            out += [stem, stem + "e"]
    return list(dict.fromkeys(out))


def similarity(candidate: str, printed: str, language: str = "en") -> int:
    """How much ``candidate`` looks like ``printed``, 0-100 (case and punctuation ignored;
    other languages than English compare normalised forms).

    ``rapidfuzz.fuzz.ratio`` (normalised Indel similarity), except that an anagram
    ("was"/"saw", a reversal) and a morphology slip ("walk"/"walked") count as 100.
    """
    from rapidfuzz import fuzz

    rules = rules_for(language)
    if rules.code != "en":
        a, b = "".join(spoken_form(candidate, language)), "".join(spoken_form(printed, language))
        if sorted(a) == sorted(b) or a in _affixed(b, rules) or b in _affixed(a, rules):
            return 100
        return int(round(fuzz.ratio(a, b)))
    a = candidate.strip(_STRIP).lower()
    b = printed.strip(_STRIP).lower()
    if sorted(a) == sorted(b) or a in _morphology(b) or b in _morphology(a):
        return 100
    return int(round(fuzz.ratio(a, b)))


@functools.lru_cache(maxsize=65536)
def _zipf(word: str, language: str = "en") -> float:
    from wordfreq import zipf_frequency

    if language == "en":
        return zipf_frequency(word, "en")
    try:  # the word as spelled and its normalised form ("ёлка", "елка"): the higher
        return max(zipf_frequency(w, language) for w in (word, _key(word, language)) if w)
    except (LookupError, ValueError):  # no wordlist for the language; no word
        return 0.0


def frequency_gain(candidate: str, printed: str, language: str = "en") -> float:
    """How much more frequent ``candidate`` is than ``printed``, in Zipf units
    (log10 of occurrences per billion words, wordfreq's scale); 0 when it is not.

    An ASR decoder's language model favours frequent words: a rare printed word
    ("pogrom") loses to a frequent look-alike ("program") even when read right, so
    a substitute needs more evidence the more frequent it is than the page's word.
    Frequencies are wordfreq's for ``language`` (0 when it has no list).
    """
    code = rules_for(language).code
    if code != "en":
        a, b = word_core(candidate)[1].lower(), word_core(printed)[1].lower()
        return max(0.0, _zipf(a, code) - _zipf(b, code))
    a = candidate.strip(_STRIP).lower()
    b = printed.strip(_STRIP).lower()
    return max(0.0, _zipf(a) - _zipf(b))


def styled(candidate: str, printed: str, language: str = "en") -> str:
    """``candidate`` written as ``printed`` is: its capitalisation and punctuation.

    ``styled("stale", "State,")`` is ``"Stale,"``; ``styled("книгу", "«Книга»")`` is
    ``"«Книгу»"``. Scripts without case (Arabic) keep the candidate's letters; other
    languages than English take a printed word's combining marks (tashkeel, stress)
    as part of the word, not as punctuation.
    """
    if rules_for(language).code != "en":
        lead, core, tail = word_core(printed)
    else:
        match = _WORD_CORE.match(printed)
        lead, core, tail = match.groups() if match else ("", printed, "")
    if core[:1].isupper() and not core.isupper():
        candidate = candidate[:1].upper() + candidate[1:]
    elif core.isupper() and len(core) > 1:
        candidate = candidate.upper()
    return f"{lead}{candidate}{tail}"


def default_lexicon(language: str = "en") -> Lexicon:
    """The shared default :class:`Lexicon` of a language (ISO 639-1), loaded once per
    process and language (about 0.2 s for English, 1 s for Russian or Arabic)."""
    return _default_lexicon(rules_for(language).code)


@functools.lru_cache(maxsize=8)
def _default_lexicon(code: str) -> Lexicon:
    return Lexicon(language=code)
