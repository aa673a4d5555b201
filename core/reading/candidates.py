"""Candidate readings of a page region, proposed for the reading check.

See :mod:`core.reading.verify` for how they are scored and decided. Word indices in a
window are indices into that window's words; log-probabilities are natural logs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.plugins.scoring import WindowScorer, WordPrediction
from core.reading.align import INSERTION, OMISSION, SUBSTITUTION
from core.reading.languages import rules_for, word_core
from core.reading.lexicon import Lexicon, frequency_gain, function_words, similarity, styled
from core.reading.normalize import spoken_form

__all__ = ["DECODER", "LEXICON", "TRANSCRIPT", "Candidate", "proposals", "reading", "suspect"]

TRANSCRIPT, DECODER, LEXICON = "transcript", "decoder", "lexicon"
_PUNCTUATION = ".,;:!?\"'()[]"
#: The decoder's likeliest words at a suspect position tried as inserted there.
INSERTED_ALTERNATIVES = 3
#: Longest word (letters) proposed as skipped, unless it is a function word.
MAX_SKIPPED_LETTERS = 4


@dataclass(frozen=True)
class Candidate:
    """A reading of a region: ``words`` in place of reference ``[start, end)``
    (an insertion: ``start == end``, read before word ``start``)."""

    type: str
    start: int
    end: int
    words: tuple[str, ...]
    source: str
    heard: tuple[int, int] | None = None  # transcript words [first, last) it came from
    #: How much a proposed substitute looks like the printed word (0-100,
    #: :func:`core.reading.lexicon.similarity`); 100 for other candidates.
    similarity: int = 100
    #: The printed word is a name (capitalised inside a sentence).
    name: bool = False
    #: A function word is replaced or put in (voices reduce them: "of" sounds "on").
    function: bool = False
    #: Zipf units by which a substitute is more frequent than the printed word
    #: (:func:`core.reading.lexicon.frequency_gain`).
    gain: float = 0.0


def suspect(
    word: str, prediction: WordPrediction, suspect_log_prob: float, language: str = "en"
) -> bool:
    """Whether the decoder doubts a printed word: its first token is not the top
    choice, or the word's log-probability is below ``suspect_log_prob``. Words with
    digits or no spoken form in ``language`` are never suspect (numbers have many
    spoken forms)."""
    if (
        prediction.log_prob is None
        or not spoken_form(word, language)
        or any(ch.isdigit() for ch in word)
    ):
        return False
    return bool(prediction.rank) or prediction.log_prob < suspect_log_prob


def proposals(
    words: list[str],
    i: int,
    prediction: WordPrediction,
    scorer: WindowScorer,
    lexicon: Lexicon,
    first_token_floor: float,
    max_substitutes: int,
    max_insertions: int,
    min_similarity: int,
    language: str = "en",
    complete_prefixes: int = 0,
    decoder_min_similarity: int | None = None,
    skip_rank: int | None = None,
) -> list[Candidate]:
    """Substitutions, an omission and insertions at suspect word ``i`` (window indices).

    Substitutes are the decoder's alternatives and the lexicon's near-words that look
    like the printed word (``similarity`` at least ``min_similarity``): readers'
    substitutions mostly share much of the printed word's spelling (Goodman's miscue
    analysis), while the decoder's other guesses are mostly the voice's or the
    model's own errors. The likeliest ``max_substitutes`` by first-token
    log-probability are kept. Only short words (:data:`MAX_SKIPPED_LETTERS`) and
    function words are proposed as skipped: longer skips show in the transcript.
    ``language`` (ISO 639-1) says how words are compared and which function words
    and frequencies apply; in other languages than English, words are compared by
    normalised form (Arabic with or without tashkeel is one word).

    Three widenings, off by default (``core.reading.verify.VerifyOptions``; set for
    models whose page-primed transcript hides miscues, as Whisper base does in
    Russian): ``complete_prefixes`` completes a decoder alternative that only begins a
    word ("син") with that many lexicon words; ``decoder_min_similarity`` lets the
    decoder's substitutes look less like the printed word than ``min_similarity``
    (a word said instead, not misread); ``skip_rank`` proposes any word as skipped
    when the decoder ranks its first token at least that low there.

    Returns:
        The candidates, substitutions first.
    """
    printed = words[i]
    english = rules_for(language).code == "en"
    fold = str.lower if english else _folder(language)
    small = function_words(language)
    small_forms = set(small) if english else {fold(w) for w in small}
    base = fold(printed.strip(_PUNCTUATION)) if english else fold(printed)
    proposed: dict[str, str] = {}
    for alt, _ in prediction.alternatives:
        if fold(alt) != base and alt.lower() in lexicon:
            proposed.setdefault(alt.lower(), DECODER)
        if complete_prefixes:  # a first token may be a word and a word's beginning
            for word in lexicon.completions(alt, complete_prefixes):
                if fold(word) != base:
                    proposed.setdefault(word, DECODER)
    for near in lexicon.near_words(printed):
        if english or fold(near) != base:
            proposed.setdefault(near, LEXICON)
    least = {
        LEXICON: min_similarity,
        DECODER: min_similarity if decoder_min_similarity is None else decoder_min_similarity,
    }
    plausible = {
        w: src for w, src in proposed.items()
        if similarity(w, base, language) >= least[src]
    }  # fmt: skip
    styled_words = [styled(w, printed, language) for w in plausible]
    firsts = scorer.first_token_log_probs(i, styled_words)
    ranked = sorted(
        (
            (lp, word, source)
            for lp, word, source in zip(firsts, styled_words, plausible.values(), strict=True)
            if lp is not None and lp >= first_token_floor
        ),
        key=lambda t: -t[0],
    )[:max_substitutes]
    name = printed[:1].isupper() and i > 0 and not words[i - 1].endswith((".", "!", "?"))
    out = [
        Candidate(SUBSTITUTION, i, i + 1, (w,), source, None, similarity(w, base, language),
                  name, base in small_forms or fold(w) in small_forms,
                  frequency_gain(w, base, language))
        for _, w, source in ranked
    ]
    unlikely = skip_rank is not None and (prediction.rank or 0) >= skip_rank
    if len(base) <= MAX_SKIPPED_LETTERS or base in small_forms or unlikely:
        out.append(Candidate(OMISSION, i, i + 1, (), LEXICON, None, 100, name))
    # Insertions: a repeated word, the decoder's own words there, small words.
    inserted: dict[str, str] = {}
    if i > 0:
        previous = words[i - 1]
        inserted[previous.strip(_PUNCTUATION) if english else word_core(previous)[1]] = LEXICON
    for alt, _ in prediction.alternatives[:INSERTED_ALTERNATIVES]:
        if alt.lower() in lexicon:
            inserted.setdefault(alt if alt[:1].isupper() and i == 0 else alt.lower(), DECODER)
    for word in small:
        inserted.setdefault(word, LEXICON)
    choices = [w for w in inserted if w and fold(w) != base]
    lps = scorer.first_token_log_probs(i, choices)
    best = sorted(
        ((lp, w) for lp, w in zip(lps, choices, strict=True)
         if lp is not None and lp >= first_token_floor),
        key=lambda t: -t[0],
    )[:max_insertions]
    out += [
        Candidate(INSERTION, i, i, (w,), inserted[w], function=fold(w) in small_forms)
        for _, w in best
    ]
    return out


def _folder(language: str) -> Callable[[str], str]:
    """A word's normalised form in ``language``, its tokens joined ("" for none)."""

    def fold(word: str) -> str:
        return "".join(spoken_form(word, language))

    return fold


def reading(
    words: list[str], c: Candidate, context: int, last: bool
) -> tuple[list[str], int, int, bool]:
    """The candidate's reading, the first counted word, the page words it covers,
    and whether end-of-text is scored after it."""
    stop = min(len(words), c.end + context)
    reading = words[: c.start] + list(c.words) + words[c.end : stop]
    final = last and c.end >= len(words)
    return reading, c.start, stop, final
