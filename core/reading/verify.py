"""The reading check: every suspected miscue is verified against the audio itself.

A transcript decoded with the page as its prompt misses real misreadings (the
decoder writes the printed word over a misread one) and sometimes invents miscues.
So the transcript is only a first opinion. For each region of the page, the check

1. **proposes** candidate readings: the transcript's own miscue there, the words the
   decoder itself expects at a page word whose printed form it doubts (its
   teacher-forced top choices, completed to words with a lexicon), look-alike,
   sound-alike and morphology near-words of the printed word
   (:mod:`core.reading.lexicon`), the word skipped, and small words or a repeated
   word added;
2. **scores** every candidate against the page's reading with the ASR model run
   teacher-forced over the same audio window (:mod:`core.plugins.scoring`: one
   encoder pass per 30-s window), summing token log-likelihoods over the region
   and the next :attr:`VerifyOptions.context_words` words;
3. **decides**: a candidate becomes a miscue only when it beats the page's reading
   by a margin (``margin_transcript`` for what the transcript wrote,
   ``margin_proposed`` for a reading no transcript wrote). Its ``probability`` is
   the margin through a logistic calibration fitted on the benchmark's dev half
   (``bench/calibrate.py``; ``docs/accuracy.md``).

The method follows the measurements in issue 13 (``docs/accuracy.md``): forced choice
with the service's own Whisper model preferred what was really said for 47 of 56
planted miscues, and the spoken word was in the decoder's top 10 at the printed
word's position for 25 of 28 substitutions. Scoring competing hypotheses by forced
alignment is the standard way to check oral reading (Mostow et al., "A Prototype
Reading Coach that Listens", AAAI 1994; goodness of pronunciation, Witt & Young 2000).

Word indices are indices into the reference's words; times are seconds;
log-likelihoods are natural logs (nats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from core.plugins.scoring import ReadingScorer, WindowScorer
from core.plugins.types import MiscueEvidence, ReadingEdit, ReadingVerification
from core.reading.align import INSERTION, OMISSION, SUBSTITUTION, correct_words, miscue_ops
from core.reading.candidates import TRANSCRIPT, Candidate, proposals, reading, suspect
from core.reading.lexicon import Lexicon, default_lexicon
from core.reading.loops import drop_reading_loops
from core.reading.timing import HeardLike, Window, reading_windows, word_times

__all__ = [
    "Calibration",
    "ScoredReading",
    "VerifyOptions",
    "decide",
    "score_reading",
    "verify_reading",
]



@dataclass(frozen=True)
class Calibration:
    """``probability = 1 / (1 + exp(-(slope * margin + intercept)))`` for one miscue type.

    Fitted by logistic regression of "the candidate is a real miscue" on its margin,
    on the benchmark's dev half (``bench/calibrate.py``).
    """

    slope: float = 1.0
    intercept: float = 0.0

    def probability(self, margin: float) -> float:
        z = self.slope * margin + self.intercept
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


#: Fitted on the dev half of the benchmark (``bench/calibrate.py``: 117 miscues
#: reported on 92 dev readings, 101 of them real; docs/accuracy.md). One curve for
#: all types: too few reported miscues per type to fit three.
_SHARED = Calibration(0.289, 0.136)
DEFAULT_CALIBRATION = {SUBSTITUTION: _SHARED, OMISSION: _SHARED, INSERTION: _SHARED}


@dataclass(frozen=True)
class VerifyOptions:
    """Thresholds of the reading check; chosen on the benchmark's dev half only
    (``bench/calibrate.py``: a coordinate search maximising miscue F1 over 92 dev
    readings of three builds; the candidate limits are the smallest that kept the dev
    F1, 28.8 scorings per reading against 62.8 with 8 substitutes and 3 insertions).

    Attributes:
        top_k: Decoder alternatives looked at per page word.
        suspect_log_prob: A page word whose first token is not the decoder's top
            choice is suspect, and so is one whose teacher-forced log-probability is
            below this (off by default: the rank alone found every candidate the
            dev half needed, with a fifth fewer scorings).
        first_token_floor: A proposed word whose first token's log-probability in
            place of the printed word is below this is not scored.
        max_substitutes: Proposed substitutes scored per suspect word.
        max_insertions: Proposed insertions scored per suspect word.
        context_words: Words after a region that are scored with it.
        margin_transcript: Nats by which a miscue the transcript wrote must beat the
            page's reading.
        margin_proposed: Nats by which a reading no transcript wrote must beat it,
            per miscue type.
        calibration: Per miscue type, margin to probability.
        propose: Propose candidates of its own; when false only the transcript's
            miscues are checked (a stage of the benchmark).
        min_similarity: Least spelling similarity (0-100) of a proposed substitute
            to the printed word (:func:`core.reading.lexicon.similarity`).
        loose_penalty: Extra nats a proposed substitute of similarity below 70 needs.
        name_penalty: Extra nats a proposal at a name (a word capitalised inside a
            sentence) needs: voices and models both say and hear names poorly. On
            dev no margin made them pay, so by default nothing is proposed there.
        function_penalty: Extra nats a proposed substitution from or to a function
            word needs: speech reduces them ("of" sounds like "on").
        frequency_penalty: Extra nats a proposed substitute needs per Zipf unit it is
            more frequent than the printed word (the decoder's language-model prior).
        complete_prefixes: Lexicon words a decoder alternative that only begins a
            word is completed with (0: off, the English default).
        decoder_min_similarity: Least similarity of a decoder-proposed substitute
            (``None``: ``min_similarity``).
        skip_rank: A suspect word whose first token the decoder ranks at least this
            low is proposed as skipped whatever its length (``None``: only short and
            function words, the English default).

    The last three widen the proposals for models whose page-primed transcript
    hides miscues (Whisper base reading Russian writes the page back verbatim);
    ``configs/serve.yaml`` sets them for ``whisper-base`` (``reading_check``).
    """

    top_k: int = 10
    suspect_log_prob: float = -math.inf
    first_token_floor: float = -8.0
    max_substitutes: int = 2
    max_insertions: int = 1
    context_words: int = 4
    margin_transcript: float = -1.0
    margin_proposed: dict[str, float] = field(
        default_factory=lambda: {SUBSTITUTION: 2.0, OMISSION: 2.0, INSERTION: 6.0}
    )
    calibration: dict[str, Calibration] = field(
        default_factory=lambda: dict(DEFAULT_CALIBRATION)
    )
    propose: bool = True
    min_similarity: int = 50
    loose_penalty: float = 4.0
    name_penalty: float = math.inf
    function_penalty: float = 3.0
    frequency_penalty: float = 2.0
    complete_prefixes: int = 0
    decoder_min_similarity: int | None = None
    skip_rank: int | None = None


@dataclass
class ScoredReading:
    """Every candidate of a reading with its margin (nats), before any decision.

    Attributes:
        reference: The page's words.
        heard: The transcript's words, decoder loops dropped.
        times: ``(start, end)`` seconds of each page word.
        scored: ``(margin, candidate)`` pairs, window by window (indices global).
        windows: Audio windows encoded.
        scorings: Teacher-forced scorings run.
    """

    reference: list[str]
    heard: list[HeardLike]
    times: list[tuple[float, float]]
    scored: list[list[tuple[float, Candidate]]]
    windows: int
    scorings: int


def verify_reading(
    reference: Sequence[str],
    heard: Sequence[HeardLike],
    scorer: ReadingScorer,
    options: VerifyOptions | None = None,
    lexicon: Lexicon | None = None,
    language: str = "en",
) -> ReadingVerification:
    """Check the miscues of a reading against the audio.

    Args:
        reference: The page's words in reading order, as printed.
        heard: The transcript's words with times (seconds), as
            :func:`core.reading.assess.heard_words` gives them.
        scorer: The ASR model's scorer of this recording.
        options: Thresholds (default: the dev-tuned ones).
        lexicon: Near-words (default: :func:`core.reading.lexicon.default_lexicon`
            of ``language``).
        language: ISO 639-1 code of the page: how words are compared, and the
            lexicon, function words and word frequencies used for proposals.

    Returns:
        The miscues the audio supports (``edits``, in reference order) and the
        transcript's miscues it does not (``rejected``).
    """
    options = options or VerifyOptions()
    scored = score_reading(reference, heard, scorer, options, lexicon, language)
    return decide(scored, options)


def score_reading(
    reference: Sequence[str],
    heard: Sequence[HeardLike],
    scorer: ReadingScorer,
    options: VerifyOptions | None = None,
    lexicon: Lexicon | None = None,
    language: str = "en",
) -> ScoredReading:
    """Propose the candidates of a reading and score each against the page's reading
    (the model work of :func:`verify_reading`; arguments as there)."""
    options = options or VerifyOptions()
    lexicon = lexicon or default_lexicon(language)
    reference = list(reference)
    heard = drop_reading_loops(heard, reference, language)
    heard_texts = [w.text for w in heard]
    ops = miscue_ops(reference, heard_texts, language)
    times = word_times(len(reference), heard, correct_words(reference, heard_texts, language),
                       ops, scorer.duration)
    transcript = [
        Candidate(kind, rs, re_, tuple(heard_texts[hs:he]), TRANSCRIPT, (hs, he))
        for kind, rs, re_, hs, he in ops
    ]
    windows = reading_windows(times, [(c.start, c.end) for c in transcript], scorer.duration)
    scored: list[list[tuple[float, Candidate]]] = []
    scorings = 0
    for number, window in enumerate(windows):
        last = number == len(windows) - 1
        mine = [c for c in transcript if _in_window(c, window, last)]
        pairs, count = _score_window(
            reference, window, last, mine, scorer.window(window.start, window.end),
            options, lexicon, language,
        )
        scored.append(pairs)
        scorings += count
    return ScoredReading(reference, heard, times, scored, len(windows), scorings)


def decide(scored: ScoredReading, options: VerifyOptions) -> ReadingVerification:
    """Accept the candidates that beat the page's reading by their margin.

    Within a window, candidates are taken by decreasing margin, skipping any that
    overlaps one already taken. A transcript miscue not taken is ``rejected``.
    """
    accepted: list[ReadingEdit] = []
    rejected: list[ReadingEdit] = []
    for pairs in scored.scored:
        taken: list[tuple[int, int]] = []
        for margin, c in sorted(pairs, key=lambda mc: -mc[0]):
            needed = _needed(c, options)
            edit = _edit(c, margin, scored, options)
            if margin > needed and not any(_overlaps(c, span) for span in taken):
                taken.append((c.start, c.end))
                accepted.append(edit)
            elif c.source == TRANSCRIPT and (c.start, c.end) not in taken:
                rejected.append(edit)
    accepted.sort(key=lambda e: (e.ref_start, e.type != INSERTION))
    return ReadingVerification(
        edits=accepted,
        rejected=rejected,
        windows=scored.windows,
        candidates_scored=scored.scorings,
    )


def _needed(c: Candidate, options: VerifyOptions) -> float:
    """The margin (nats) a candidate must beat the page's reading by."""
    if c.source == TRANSCRIPT:
        return options.margin_transcript
    needed = options.margin_proposed.get(c.type, math.inf)
    if c.similarity < 70:
        needed += options.loose_penalty
    if c.name:
        needed += options.name_penalty
    if c.function:
        needed += options.function_penalty
    needed += options.frequency_penalty * c.gain
    return needed


def _in_window(candidate: Candidate, window: Window, last: bool) -> bool:
    if window.first <= candidate.start < window.stop:
        return True
    return last and candidate.start >= window.stop


def _score_window(
    reference: Sequence[str],
    window: Window,
    last: bool,
    transcript: list[Candidate],
    scorer: WindowScorer,
    options: VerifyOptions,
    lexicon: Lexicon,
    language: str = "en",
) -> tuple[list[tuple[float, Candidate]], int]:
    """Propose and score within one window: ``(margin, candidate)`` pairs (global
    indices) and the number of scorings run."""
    first = window.first
    words = list(reference[first : window.stop])
    # The page pass only serves proposals.
    predictions = scorer.page(words, options.top_k) if words and options.propose else []
    candidates = [replace(c, start=c.start - first, end=c.end - first) for c in transcript]
    for i, prediction in enumerate(predictions):
        if options.propose and suspect(words[i], prediction, options.suspect_log_prob, language):
            candidates += [
                c for c in proposals(
                    words, i, prediction, scorer, lexicon, options.first_token_floor,
                    options.max_substitutes, options.max_insertions, options.min_similarity,
                    language, options.complete_prefixes, options.decoder_min_similarity,
                    options.skip_rank,
                )
                if not (c.name and math.isinf(options.name_penalty))  # could never pass
            ]
    candidates = list(dict.fromkeys(candidates))
    readings, froms, finals, keys = [], [], [], []
    for c in candidates:
        words_read, start, stop, final = reading(words, c, options.context_words, last)
        readings.append(words_read)
        froms.append(start)
        finals.append(final)
        keys.append((start, stop, final))
    page_keys = list(dict.fromkeys(keys))
    page_scores = scorer.log_likelihoods(
        [words[:stop] for _, stop, _ in page_keys],
        [start for start, _, _ in page_keys],
        [final for _, _, final in page_keys],
    )
    page = dict(zip(page_keys, page_scores, strict=True))
    scores = scorer.log_likelihoods(readings, froms, finals)
    pairs = [
        (s - page[k], replace(c, start=c.start + first, end=c.end + first))
        for s, k, c in zip(scores, keys, candidates, strict=True)
    ]
    return pairs, len(candidates) + len(page_keys)


def _overlaps(c: Candidate, span: tuple[int, int]) -> bool:
    start, end = span
    if c.start == c.end or start == end:  # an insertion conflicts at its own position
        return c.start == start and c.end == end or (start < c.start < end) or (
            c.start < start < c.end
        )
    return c.start < end and start < c.end


def _edit(
    c: Candidate, margin: float, scored: ScoredReading, options: VerifyOptions
) -> ReadingEdit:
    start, end = c.start, c.end
    times, heard = scored.times, scored.heard
    if c.heard is not None and c.heard[1] > c.heard[0]:
        t0, t1 = heard[c.heard[0]].start, heard[c.heard[1] - 1].end
    elif end > start:
        t0, t1 = times[start][0], times[end - 1][1]
    else:
        at = times[start][0] if start < len(times) else (times[-1][1] if times else 0.0)
        t0, t1 = max(at - 0.3, 0.0), at
    calibration = options.calibration.get(c.type, Calibration())
    return ReadingEdit(
        type=c.type,
        ref_start=start,
        ref_end=end,
        words=list(c.words),
        start=round(t0, 3),
        end=round(t1, 3),
        probability=round(calibration.probability(margin), 3),
        evidence=MiscueEvidence(
            reading=" ".join(c.words),
            page_reading=" ".join(scored.reference[start:end]),
            log_likelihood_margin=round(margin, 3),
            source=c.source,
        ),
    )
