"""core.reading.verify: suspected miscues are checked against what a scorer hears.

The scorer here is a stand-in for the ASR model: it "hears" a known list of spoken
words and scores a reading by how far it is from them, so each test knows which
reading the audio supports. The real Whisper scorer is tested in
tests/plugins/test_reading_scorer.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from rapidfuzz.distance import Levenshtein

from core.plugins.scoring import WordPrediction
from core.reading.assess import HeardWord, assess, reference_words
from core.reading.checked import apply_evidence, checked_heard
from core.reading.lexicon import Lexicon
from core.reading.verify import Calibration, VerifyOptions, verify_reading

PAGE = "The cat sat on the mat and looked at the big red ball."
LEXICON = Lexicon(["cat", "cot", "cut", "sat", "set", "mat", "map", "looked", "look",
                   "looks", "ball", "bell", "red", "rod", "big", "bag", "the", "a", "and"])


def _key(word: str) -> str:
    return word.lower().strip(".,")


class HearingScorer:
    """Hears ``spoken`` (words, 0.4 s each); -3 nats per word edit from what it heard."""

    def __init__(self, spoken: str) -> None:
        self.spoken = [_key(w) for w in spoken.split()]
        self.duration = 0.4 * len(self.spoken) + 0.5
        self.windows: list[tuple[float, float]] = []

    def window(self, start: float, end: float) -> HearingWindow:
        self.windows.append((start, end))
        return HearingWindow(self.spoken)


class HearingWindow:
    def __init__(self, spoken: list[str]) -> None:
        self.spoken = spoken
        self.page_words: list[str] = []

    def page(self, words: Sequence[str], top_k: int = 10) -> list[WordPrediction]:
        self.page_words = [_key(w) for w in words]
        out = []
        for i, word in enumerate(self.page_words):
            heard = self.spoken[i] if i < len(self.spoken) else ""
            right = heard == word
            out.append(WordPrediction(-0.1 if right else -4.0, 0 if right else 1,
                                      [(heard, -0.1)] if heard else []))
        return out

    def first_token_log_probs(self, index: int, words: Sequence[str]) -> list[float | None]:
        # What was heard at that position is likelier than anything else.
        heard = self.spoken[index] if index < len(self.spoken) else ""
        return [-0.5 if _key(w) == heard else -1.0 for w in words]

    def log_likelihoods(self, readings, from_word, final=None) -> list[float]:
        out = []
        for reading in readings:
            keys = [_key(w) for w in reading]
            # The best-matching stretch of what was heard from the start.
            out.append(-3.0 * min(
                Levenshtein.distance(keys, self.spoken[:j]) for j in range(len(self.spoken) + 1)
            ))
        return out


def timed(text: str) -> list[HeardWord]:
    return [HeardWord(w, 0.4 * i, 0.4 * i + 0.3, 0.9) for i, w in enumerate(text.split())]


#: Margins for these tests, independent of the tuned defaults: one word edit (3 nats)
#: passes, nothing less does; no penalties.
MARGINS = {"substitution": 2.0, "omission": 2.0, "insertion": 2.0}


def check(transcript: str, spoken: str, **options):
    scorer = HearingScorer(spoken)
    chosen = VerifyOptions(**{
        "margin_proposed": MARGINS, "margin_transcript": 0.0, "loose_penalty": 0.0,
        "name_penalty": 0.0, "function_penalty": 0.0, **options,
    })
    verification = verify_reading(PAGE.split(), timed(transcript), scorer, chosen, LEXICON)
    heard = checked_heard(PAGE.split(), timed(transcript), verification, scorer.duration)
    assessed = assess(PAGE, reference_words(PAGE), heard, scorer.duration)
    apply_evidence(assessed.miscues, verification)
    return verification, assessed.miscues


def test_a_transcript_miscue_the_audio_does_not_support_is_rejected():
    verification, miscues = check(PAGE.replace("cat", "cap"), PAGE)
    assert miscues == []
    assert [(e.type, e.ref_start, e.words) for e in verification.rejected] == [
        ("substitution", 1, ["cap"])
    ]
    assert verification.rejected[0].evidence.log_likelihood_margin < 0


def test_a_misreading_the_primed_transcript_hid_is_found():
    # The transcript wrote the page; the reader said "cot".
    verification, miscues = check(PAGE, PAGE.replace("cat", "cot"))
    assert [(m.type, m.ref_start, m.found) for m in miscues] == [("substitution", 1, "cot")]
    evidence = miscues[0].evidence
    assert evidence is not None and evidence.reading == "cot" and evidence.page_reading == "cat"
    assert evidence.source == "decoder" and evidence.log_likelihood_margin == pytest.approx(3.0)
    assert miscues[0].confidence == verification.edits[0].probability


def test_a_skipped_word_and_an_added_word_are_found():
    spoken = PAGE.replace(" big", "").replace("looked", "looked the")
    _, miscues = check(PAGE, spoken)
    assert sorted((m.type, m.ref_start) for m in miscues) == [
        ("insertion", 8), ("omission", 10)
    ]


def test_the_transcripts_true_miscue_is_kept_with_its_times():
    transcript = PAGE.replace("mat", "map")
    _, miscues = check(transcript, transcript)
    assert [(m.type, m.expected, m.found) for m in miscues] == [("substitution", "mat", "map")]
    assert (miscues[0].start, miscues[0].end) == pytest.approx((2.0, 2.3))


def test_a_proposal_needs_its_margin():
    # "cot" beats "cat" by 3 nats: not enough when 4 are asked for.
    _, miscues = check(PAGE, PAGE.replace("cat", "cot"),
                       margin_proposed={"substitution": 4.0, "omission": 4.0, "insertion": 4.0})
    assert miscues == []


def test_without_proposals_only_the_transcript_is_checked():
    _, miscues = check(PAGE, PAGE.replace("cat", "cot"), propose=False)
    assert miscues == []


def test_a_decoder_loop_is_never_checked_as_an_insertion():
    transcript = PAGE + " the big red ball" * 5
    verification, miscues = check(transcript, transcript)
    assert miscues == []
    assert verification.edits == []


def test_a_long_reading_is_checked_in_windows_of_at_most_30_s():
    page = " ".join([PAGE] * 8)  # 104 words, 0.4 s each: 42 s
    scorer = HearingScorer(page)
    verification = verify_reading(page.split(), timed(page), scorer, VerifyOptions(), LEXICON)
    assert verification.windows == 2 == len(scorer.windows)
    assert all(end - start <= 30.0 for start, end in scorer.windows)
    assert scorer.windows[0][0] == 0.0 and scorer.windows[-1][1] == pytest.approx(scorer.duration)


def test_calibration_is_a_probability_increasing_with_the_margin():
    calibration = Calibration(0.8, -2.0)
    values = [calibration.probability(m) for m in (-50.0, -1.0, 0.0, 2.5, 10.0, 500.0)]
    assert values == sorted(values)
    assert 0.0 <= values[0] < 0.01 and values[-1] > 0.99
    assert calibration.probability(2.5) == pytest.approx(0.5)
