"""The reading check's opt-in proposal widenings (``VerifyOptions.skip_rank``,
``complete_prefixes``, ``decoder_min_similarity``) and per-language thresholds.

Off by default, so English behaves as before; Whisper base sets them for ru and ar.
"""

from __future__ import annotations

import pytest

from core.plugins.scoring import WordPrediction, scoring_words
from core.reading.candidates import OMISSION, SUBSTITUTION, proposals
from core.reading.lexicon import default_lexicon
from tests.core.reading.test_languages_assess import Hearing

PAGE = "Маленький котёнок играл в саду с красным мячом".split()


@pytest.fixture(scope="module")
def russian():
    return default_lexicon("ru")


def _proposed(russian, prediction, **options):
    scorer = Hearing(" ".join(PAGE), "ru")
    out = proposals(PAGE, 6, prediction, scorer, russian, -8.0, 8, 1, 50, "ru", **options)
    return {(c.type, c.words) for c in out if c.type in (SUBSTITUTION, OMISSION)}


def test_completions_are_lexicon_words_beginning_with_the_prefix(russian):
    found = russian.completions("син", 30)
    assert "синим" in found and "синий" in found
    assert all(w.startswith("син") for w in found)
    assert russian.completions("с", 5) == []  # one letter says nothing
    english = default_lexicon("en").completions("unbel", 5)
    assert english and all(w.startswith("unbel") for w in english)


def test_a_long_word_the_decoder_ranks_very_low_is_proposed_skipped_only_with_skip_rank(
    russian,
):
    unlikely = WordPrediction(-12.0, 12327, [("с", -2.0), ("син", -3.4)])
    assert (OMISSION, ()) not in _proposed(russian, unlikely)  # "красным": 7 letters
    assert (OMISSION, ()) in _proposed(russian, unlikely, skip_rank=1000)
    likely_enough = WordPrediction(-4.0, 12, [("с", -2.0)])
    assert (OMISSION, ()) not in _proposed(russian, likely_enough, skip_rank=1000)


def test_a_decoder_prefix_is_completed_and_kept_despite_spelling_only_when_asked(russian):
    prediction = WordPrediction(-12.0, 12327, [("син", -3.4)])
    assert (SUBSTITUTION, ("синим",)) not in _proposed(russian, prediction)
    widened = _proposed(
        russian, prediction, complete_prefixes=30, decoder_min_similarity=0
    )
    assert {w for kind, (w, *_) in ((k, ws or ("",)) for k, ws in widened)
            if kind == SUBSTITUTION} & {"синим", "синий", "синие", "синей"}


def test_page_words_lose_tashkeel_and_stress_marks_before_scoring_but_keep_their_count():
    assert scoring_words("ذَهَبَ الوَلَدُ كـتـاب", "ar") == ["ذهب", "الولد", "كتاب"]
    assert scoring_words("за́мок ёлка", "ru") == ["замок", "ёлка"]
    assert scoring_words("the cat", "en") == ["the", "cat"]
    assert scoring_words("ً كتاب", "ar") == ["ً", "كتاب"]  # a lone mark stays
