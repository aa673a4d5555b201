"""Word-level miscue detection and the reading summary (``core.reading.assess``)."""

from __future__ import annotations

import pytest

from core.plugins.types import AudioChunk, Rectangle, Word
from core.reading.assess import (
    HeardWord,
    RefWord,
    assess,
    heard_words,
    reference_words,
    summarise,
)

WORD_S = 0.5  # each fake heard word takes 0.4 s, one every 0.5 s


def heard(text: str, probability: float = 0.9) -> list[HeardWord]:
    return [
        HeardWord(w, i * WORD_S, i * WORD_S + 0.4, probability, 0, 0)
        for i, w in enumerate(text.split())
    ]


def run(reference: str, read: str, duration: float = 30.0, probability: float = 0.9):
    return assess(reference, reference_words(reference), heard(read, probability), duration)


def kinds(result) -> list[tuple[str, str, str]]:
    return [(m.type, m.expected, m.found) for m in result.miscues]


def test_a_correct_reading_has_no_miscue():
    result = run("Every path is the right path.", "every path is the right path")
    assert result.miscues == []
    assert result.summary.words_correct == 6


def test_substitution_reports_the_word_its_offsets_and_times():
    reference = "Every path is the right path."
    result = run(reference, "Every path is the wrong path")
    [miscue] = result.miscues
    assert (miscue.type, miscue.expected, miscue.found) == ("substitution", "right", "wrong")
    assert reference[miscue.ref_char :].startswith("right")
    assert (miscue.start, miscue.end) == (4 * WORD_S, 4 * WORD_S + 0.4)
    assert miscue.confidence == pytest.approx(0.9)


def test_numbers_read_as_words_are_not_miscues():
    assert run("In 1984 he was 3.", "in nineteen eighty-four he was three").miscues == []
    assert run("In 1984 he was 3.", "in 1984 he was 3").miscues == []


def test_a_year_read_as_a_cardinal_is_not_a_miscue():
    reading = "in one thousand nine hundred and eighty four he left"
    assert run("In 1984 he left.", reading).miscues == []


def test_a_wrong_number_is_a_substitution():
    assert kinds(run("In 1984 he left.", "in 1985 he left")) == [
        ("substitution", "1984", "1985")
    ]


def test_hyphenation_and_compounds_are_not_miscues():
    assert run("a well-known exam-ple", "a well known example").miscues == []
    assert run("Everyone cannot go", "every one can not go").miscues == []


def test_contraction_path_s_read_as_path_is():
    assert run("The path's end", "the path is end").miscues == []
    assert run("The path is long", "the path's long").miscues == []


def test_contraction_next_to_a_real_miscue_is_still_excused():
    assert kinds(run("The path's end", "a path is end")) == [("substitution", "The", "a")]


def test_repeated_words_in_the_reference_align():
    assert run("the cat saw the cat", "the cat saw the cat").miscues == []
    assert kinds(run("the cat saw the cat", "the cat saw the dog")) == [
        ("substitution", "cat", "dog")
    ]


def test_insertion_of_a_repeated_word():
    result = run("the dog ran home", "the the dog ran home")
    assert kinds(result) == [("insertion", "", "the")]
    assert result.summary.insertions == 1
    assert result.summary.words_correct == 4


def test_omission_at_the_start():
    result = run("the dog ran home", "dog ran home")
    [miscue] = result.miscues
    assert (miscue.type, miscue.expected, miscue.ref_start) == ("omission", "the", 0)
    assert (miscue.start, miscue.end) == (0.0, 0.0)


def test_omission_at_the_end():
    result = run("the dog ran home today", "the dog ran home", duration=3.0)
    [miscue] = result.miscues
    assert (miscue.type, miscue.expected) == ("omission", "today")
    assert (miscue.start, miscue.end) == (3 * WORD_S + 0.4, 3.0)


def test_omission_in_the_middle_spans_the_silence_between_neighbours():
    [miscue] = run("the big dog ran", "the dog ran").miscues
    assert (miscue.type, miscue.expected) == ("omission", "big")
    assert (miscue.start, miscue.end) == (0.4, WORD_S)


def test_reader_stopping_early_does_not_crash_and_omits_the_rest():
    result = run("the dog ran home to his bed", "the dog", duration=2.0)
    assert kinds(result) == [("omission", "ran home to his bed", "")]
    assert result.summary.completeness == pytest.approx(100 * 2 / 7, abs=0.01)


def test_reader_starting_late_omits_the_beginning():
    result = run("the dog ran home to his bed", "to his bed")
    assert kinds(result) == [("omission", "the dog ran home", "")]
    assert result.miscues[0].ref_char == 0


def test_a_whole_line_skipped_is_one_omission():
    reference = "The sun rose over the hills.\nThe birds began to sing loudly.\nWe went out."
    result = run(reference, "the sun rose over the hills we went out")
    assert kinds(result) == [("omission", "The birds began to sing loudly.", "")]
    assert result.summary.omissions == 6


def test_substitution_and_omission_side_by_side():
    result = run("the big brown dog ran", "the bag dog ran")
    assert kinds(result) == [("substitution", "big", "bag"), ("omission", "brown", "")]


def test_empty_reading_omits_everything():
    result = run("the dog ran", "")
    assert kinds(result) == [("omission", "the dog ran", "")]
    assert result.summary.wcpm is None
    assert result.summary.reading_duration == 0


def test_empty_reference_makes_every_word_an_insertion():
    result = run("", "hello there")
    assert kinds(result) == [("insertion", "", "hello there")]
    assert result.summary.accuracy == 0.0


def test_punctuation_only_reference_words_are_not_counted():
    result = run("Wait \u2014 stop!", "wait stop")
    assert result.miscues == []
    assert result.summary.words_in_reference == 2


def test_all_words_wrong():
    result = run("red green blue", "one two three")
    assert kinds(result) == [("substitution", "red green blue", "one two three")]
    assert result.summary.words_correct == 0


def test_low_asr_probability_gives_low_confidence():
    [miscue] = run("the big dog", "the bag dog", probability=0.2).miscues
    assert miscue.confidence == pytest.approx(0.2)


def test_low_ocr_confidence_lowers_the_confidence():
    words = [
        RefWord("the", 0, 3),
        RefWord("big", 4, 7, ocr_confidence=0.3, low_confidence=True),
        RefWord("dog", 8, 11),
    ]
    [miscue] = assess("the big dog", words, heard("the bag dog"), 5.0).miscues
    assert miscue.confidence == pytest.approx(0.9 * 0.3)


def test_long_gap_makes_an_omission_less_certain():
    words = [HeardWord("the", 0.0, 0.4, 0.9), HeardWord("dog", 2.0, 2.4, 0.9)]
    [miscue] = assess("the big dog", reference_words("the big dog"), words, 5.0).miscues
    assert miscue.confidence == pytest.approx(0.45)


def test_boxes_of_the_expected_words_are_reported():
    box = Rectangle.from_bounds(10, 20, 50, 40)
    words = [RefWord("the", 0, 3), RefWord("big", 4, 7, boxes=(box,)), RefWord("dog", 8, 11)]
    [miscue] = assess("the big dog", words, heard("the dog"), 5.0).miscues
    assert miscue.boxes == (box,)


def test_at_char_points_into_the_segment_text():
    segments = [
        AudioChunk(start=0, end=1, text="Every path", words=None),
        AudioChunk(
            start=1,
            end=3,
            text="is the wrong path.",
            words=[
                Word(word="is", start=1.0, end=1.2, probability=0.9),
                Word(word="the", start=1.2, end=1.4, probability=0.9),
                Word(word="wrong", start=1.4, end=1.9, probability=0.8),
                Word(word="path.", start=1.9, end=2.5, probability=0.9),
            ],
        ),
    ]
    words = heard_words(segments)
    reference = "Every path is the right path."
    [miscue] = assess(reference, reference_words(reference), words, 3.0).miscues
    assert miscue.segment == 1
    assert segments[1].text[miscue.at_char :].startswith("wrong")
    assert (miscue.start, miscue.end, miscue.confidence) == (1.4, 1.9, 0.8)


def test_segments_without_word_times_share_out_their_span():
    words = heard_words([AudioChunk(start=2.0, end=4.0, text="ab abc")])
    assert [(w.text, w.char) for w in words] == [("ab", 0), ("abc", 3)]
    assert words[0].start == 2.0 and words[-1].end == pytest.approx(4.0)
    assert words[0].end == pytest.approx(2.0 + 2.0 * 2 / 5)


def test_summary_arithmetic_wcpm_and_accuracy():
    result = run(
        "one two three four five six seven eight nine ten",
        "one two tree four five six eight nine ten",
    )
    s = result.summary
    assert (s.words_in_reference, s.substitutions, s.omissions, s.words_correct) == (10, 1, 1, 8)
    assert s.accuracy == 80.0
    assert s.completeness == 90.0
    # Nine heard words: first starts at 0, last ends at 8 * 0.5 + 0.4 s.
    assert s.reading_duration == pytest.approx(4.4)
    assert s.wcpm == pytest.approx(8 / (4.4 / 60), abs=0.05)


def test_summary_counts_words_not_miscues():
    reference = reference_words("a b c d")
    words = heard("a d")
    result = assess("a b c d", reference, words, 5.0)
    assert len(result.miscues) == 1
    assert summarise(reference, words, result.miscues).omissions == 2


def test_number_split_into_word_pieces_by_the_asr_is_joined():
    pieces = [("In", 0.0, 0.2), ("1", 0.2, 0.5), (",664.", 0.5, 1.0)]
    segment = AudioChunk(
        start=0.0,
        end=1.0,
        text="In 1,664.",
        words=[Word(word=w, start=s, end=e, probability=0.9) for w, s, e in pieces],
    )
    words = heard_words([segment])
    assert [(w.text, w.start, w.end) for w in words] == [("In", 0.0, 0.2), ("1,664.", 0.2, 1.0)]
    assert assess("In 1664.", reference_words("In 1664."), words, 1.0).miscues == []
