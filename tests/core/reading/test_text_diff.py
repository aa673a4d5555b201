"""Unit tests for core.reading.text_diff (word alignment and fuzzy phrase search)."""

from core.reading.text_diff import (
    find_phrases,
    match_phrases,
    match_words,
    normalize_words,
    prepare_text,
)

# The original project's own find_phrases fixture.
STORY = [
    "The headache won't go away. She's taking medicine but even that didn't help.",
    "The monster's throbbing in her head continued.",
    "This happened to her only once before in her life and she realized that only one "
    "thing could be happening.",
]


# --- prepare_text -------------------------------------------------------------------


def test_prepare_text_spec_example():
    prepared, index_map = prepare_text("  Every path—is the RIGHT path.")
    assert prepared == "every path is the right path"
    assert index_map == list(range(2, 30))


def test_prepare_text_index_map_points_at_original_chars():
    text = "  Every path—is the RIGHT path."
    prepared, index_map = prepare_text(text)
    assert len(index_map) == len(prepared)
    for k, ch in enumerate(prepared):
        original = text[index_map[k]]
        assert original.lower() == ch if ch != " " else not original.isalnum()


def test_prepare_text_drops_apostrophes():
    assert prepare_text("path's")[0] == "paths"
    assert prepare_text("don\u2019t \u2018tis ma\u02bcam")[0] == "dont tis maam"


def test_prepare_text_separator_maps_to_first_separator_char():
    assert prepare_text("a, - b") == ("a b", [0, 1, 5])


def test_prepare_text_apostrophe_does_not_split_or_move_separator():
    assert prepare_text("Path's don't") == ("paths dont", [0, 1, 2, 3, 5, 6, 7, 8, 9, 11])


def test_prepare_text_hyphens_slashes_quotes_are_separators():
    assert prepare_text('well-known "and/or" 42!')[0] == "well known and or 42"


def test_prepare_text_empty_and_symbols_only():
    assert prepare_text("") == ("", [])
    assert prepare_text(" -- ... !") == ("", [])


def test_prepare_text_unicode_letters_kept():
    assert prepare_text("Café  NAÏVE")[0] == "café naïve"


def test_normalize_words():
    assert normalize_words("  Don't STOP—believing!") == ["dont", "stop", "believing"]
    assert normalize_words("...") == []


# --- match_words --------------------------------------------------------------------


def test_match_words_identical_texts():
    assert match_words("every path is right", "every path is right") == []


def test_match_words_both_empty():
    assert match_words("", "") == []


def test_match_words_single_replacement():
    assert match_words("every path is right", "every path is wrong") == [(14, "right", "wrong")]


def test_match_words_is_case_and_punctuation_sensitive():
    assert match_words("The cat.", "the cat") == [(0, "The cat.", "the cat")]


def test_match_words_insert_at_start():
    assert match_words("a b", "x a b") == [(0, "", "x")]


def test_match_words_append_at_end_uses_len_of_first_text():
    assert match_words("a b", "a b c d") == [(3, "", "c d")]


def test_match_words_insert_in_middle_points_at_following_word():
    assert match_words("a  b", "a x b") == [(3, "", "x")]


def test_match_words_separate_changes():
    assert match_words("a b c", "a x c d") == [(2, "b", "x"), (5, "", "d")]


def test_match_words_adjacent_ops_merge_and_keep_inner_whitespace():
    assert match_words("the big  cat sat", "the dog sat") == [(4, "big  cat", "dog")]


def test_match_words_deletions():
    assert match_words("the cat  sat down", "the sat") == [(4, "cat", ""), (13, "down", "")]


def test_match_words_from_empty_and_to_empty():
    assert match_words("", "hello world") == [(0, "", "hello world")]
    assert match_words("hello  world", "") == [(0, "hello  world", "")]


# --- match_phrases ------------------------------------------------------------------


def test_match_phrases_acceptance_case():
    assert match_phrases(["Every path is the right path."], "Every path is the wrong path.") == [
        [(18, "right", "wrong")]
    ]


def test_match_phrases_leading_space_like_whisper():
    assert match_phrases([" Every path is the right path."], "Every path is the wrong path.") == [
        [(19, "right", "wrong")]
    ]


def test_match_phrases_empty_phrase_list():
    assert match_phrases([], "Every path is the right path.") == []
    assert match_phrases([], "") == []


def test_match_phrases_all_empty_strings_attach_omission_to_last_phrase():
    assert match_phrases(["", ""], "Hello there") == [[], [(0, "", "Hello there")]]


def test_match_phrases_empty_phrase_between_others_gets_nothing():
    assert match_phrases(
        ["Every path", "", "is the right path"], "Every path is the right path"
    ) == [
        [],
        [],
        [],
    ]


def test_match_phrases_empty_text_every_read_word_is_extra():
    assert match_phrases(["Hello world", " again!"], "") == [
        [(0, "Hello world", "")],
        [(1, "again", "")],
    ]


def test_match_phrases_both_empty():
    assert match_phrases([""], "") == [[]]


def test_match_phrases_all_words_wrong():
    assert match_phrases(["cat dog fish"], "one two three") == [
        [(0, "cat dog fish", "one two three")]
    ]


def test_match_phrases_all_words_wrong_split_per_phrase():
    assert match_phrases(["cat dog", "fish bird"], "one two three four") == [
        [(0, "cat dog", "one two")],
        [(0, "fish bird", "three four")],
    ]


def test_match_phrases_repeated_word_read_twice():
    assert match_phrases(["the the cat sat"], "The cat sat.") == [[(4, "the", "")]]


def test_match_phrases_repeated_words_in_text_read_correctly():
    assert match_phrases(["That that is, is."], "That that is is") == [[]]


def test_match_phrases_punctuation_and_case_only_differences():
    assert match_phrases(
        ["EVERY path, is—the", "  right... PATH!!"], "Every path is the right path."
    ) == [[], []]


def test_match_phrases_apostrophes_ignored():
    assert match_phrases(["The paths end"], "The path's end") == [[]]


def test_match_phrases_omission_at_start():
    assert match_phrases(["path is the right path"], "Every path is the right path.") == [
        [(0, "", "Every")]
    ]


def test_match_phrases_reader_starting_late():
    assert match_phrases(["is the", " right path"], "Every path is the right path.") == [
        [(0, "", "Every path")],
        [],
    ]


def test_match_phrases_omission_in_middle_points_at_next_read_word():
    assert match_phrases(["Every path is right path"], "Every path is the right path") == [
        [(14, "", "the")]
    ]


def test_match_phrases_omission_at_phrase_boundary_goes_to_next_phrase():
    assert match_phrases(["Every path is", " right path"], "Every path is the right path") == [
        [],
        [(1, "", "the")],
    ]


def test_match_phrases_omission_at_end_reader_stopped_early_no_index_error():
    # The original implementation raised IndexError here.
    assert match_phrases(["Every path is the"], "Every path is the right path.") == [
        [(17, "", "right path")]
    ]


def test_match_phrases_reader_stopped_early_attaches_to_last_phrase():
    assert match_phrases(["Every path", "is the "], "Every path is the right path.") == [
        [],
        [(7, "", "right path")],
    ]


def test_match_phrases_error_in_second_phrase_indexes_that_phrase():
    assert match_phrases(
        [" Every path is", " the right path."], "Every path is the wrong path."
    ) == [[], [(5, "right", "wrong")]]


def test_match_phrases_found_keeps_original_case_and_inner_punctuation():
    assert match_phrases(["I saw a Big, brown dog."], "I saw a small black dog") == [
        [(8, "Big, brown", "small black")]
    ]


def test_match_phrases_expected_keeps_original_text():
    assert match_phrases(["I saw a dog"], "I saw a Big, brown dog.") == [[(8, "", "Big, brown")]]


def test_match_phrases_trailing_punctuation_not_in_found():
    assert match_phrases(["It was red."], "It was blue") == [[(7, "red", "blue")]]


def test_match_phrases_contraction_vs_two_words_is_one_error():
    assert match_phrases(["I don't know"], "I do not know") == [[(2, "don't", "do not")]]


def test_match_phrases_run_crossing_phrase_boundary_is_split():
    assert match_phrases(
        ["Every path is big", "cat the right path"], "Every path is the right path"
    ) == [
        [(14, "big", "")],
        [(0, "cat", "")],
    ]


def test_match_phrases_omission_adjacent_to_replacement_merges_in_same_phrase():
    assert match_phrases(["I saw a", "dog"], "I saw the big dog") == [[(6, "a", "the big")], []]


def test_match_phrases_extra_word_and_omission_in_different_places():
    assert match_phrases(["Um every path is right path"], "Every path is the right path") == [
        [(0, "Um", ""), (17, "", "the")]
    ]


def test_match_phrases_returns_one_list_per_phrase():
    phrases = ["one", "two", "three", "four"]
    result = match_phrases(phrases, "one two three four")
    assert result == [[], [], [], []]


# --- find_phrases -------------------------------------------------------------------


def test_find_phrases_last_phrase():
    assert find_phrases(STORY, "she realized that only one thing could be happening") == [2]


def test_find_phrases_with_contraction():
    assert find_phrases(STORY, "she's taking medicine") == [0]


def test_find_phrases_spanning_two_phrases():
    assert find_phrases(STORY, "even that didn't help. The monster's throbbing") == [0, 1]


def test_find_phrases_empty_to_find():
    assert find_phrases(STORY, "") == []


def test_find_phrases_symbols_only_to_find():
    assert find_phrases(STORY, "?! --") == []


def test_find_phrases_no_phrases():
    assert find_phrases([], "anything") == []
    assert find_phrases(["", ""], "anything") == []


def test_find_phrases_unrelated_words_below_cutoff():
    assert find_phrases(STORY, "quantum zebra xylophone", score_cutoff=90) == []


def test_find_phrases_word_level():
    words = ["every", "path", "is", "the", "right", "path"]
    assert find_phrases(words, "the right") == [3, 4]


def test_find_phrases_word_level_skips_empty_phrase():
    assert find_phrases(["", "x"], "x") == [1]


def test_find_phrases_snaps_partially_covered_words():
    # "a gam": "beta" is covered by 1 of 4 chars (dropped), "gamma" by 4 of 5 (kept).
    assert find_phrases(["alpha beta", "gamma delta"], "a gam") == [1]


def test_find_phrases_half_covered_word_is_kept():
    # "ta gam" widened by one char covers half of "beta": kept.
    assert find_phrases(["alpha beta", "gamma delta"], "ta gam") == [0, 1]


def test_find_phrases_extends_to_whole_words():
    assert find_phrases(["alpha", "beta", "gamma"], "lpha beta gam") == [0, 1, 2]


def test_find_phrases_case_and_punctuation_insensitive():
    assert find_phrases(["Hello, World!", "Goodbye."], "WORLD goodbye") == [0, 1]
