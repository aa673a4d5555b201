"""Russian and Arabic normalisation, lexicon and text preparation (core.reading.languages,
normalize, lexicon, text_diff with ``language``)."""

from __future__ import annotations

import pytest

from core.reading.languages import SUPPORTED_LANGUAGES, language_code, rules_for, word_core
from core.reading.lexicon import default_lexicon, similarity, styled
from core.reading.normalize import joined_variants, spoken_form, spoken_variants
from core.reading.text_diff import find_phrases, match_phrases, normalize_words


def ru(word: str) -> list[str]:
    return spoken_form(word, language="ru")


def ar(word: str) -> list[str]:
    return spoken_form(word, language="ar")


def ar_text(text: str) -> list[str]:
    return [token for word in text.split() for token in ar(word)]


# --- Russian -------------------------------------------------------------------------


def test_russian_yo_is_ye():
    assert ru("ёлка") == ru("елка") == ["елка"]
    assert ru("Ёлка") == ["елка"]
    assert ru("пришёл") == ru("пришел")
    # "е" followed by a combining diaeresis (decomposed ё) is ё too.
    assert ru("е\u0308лка") == ["елка"]


def test_russian_stress_marks_and_soft_hyphens_are_not_letters():
    assert ru("за\u0301мок") == ru("замо\u0301к") == ru("замок") == ["замок"]
    assert ru("стару\u0300ха") == ["старуха"]
    assert ru("вели\u00adкий") == ["великий"]  # a soft hyphen does not split the word


def test_cyrillic_letters_are_kept_and_hyphenated_words_split():
    assert ru("Жили-были") == ["жили", "были"]
    assert ru("кто-то") == ru("кто—то") == ["кто", "то"]
    assert ru("й") == ["й"]  # not folded to и


def test_russian_punctuation_is_dropped():
    assert ru("«Привет»,") == ["привет"]
    assert ru("„Да“") == ["да"]
    assert ru("—") == ru("«") == ru("…") == []
    assert ru("моря;") == ["моря"]


def test_russian_numbers_are_read_in_russian():
    assert ru("5") == ["пять"]
    assert ru("21") == ["двадцать", "один"]
    assert ru("3,5") == ["три", "целых", "пять", "десятых"]  # a decimal comma
    # Other cases are accepted readings: "с 5 друзьями" is read "с пятью".
    assert ["пятью"] in spoken_variants("5", language="ru")
    assert ["двадцати", "одного"] in spoken_variants("21", language="ru")


def test_russian_years_read_with_or_without_one_and_as_ordinals():
    assert ru("1948") == ["тысяча", "девятьсот", "сорок", "восемь"]
    variants = spoken_variants("1948", language="ru")
    assert ["одна", "тысяча", "девятьсот", "сорок", "восемь"] in variants
    assert ["тысяча", "девятьсот", "сорок", "восьмом"] in variants  # "в 1948 году"


def test_russian_numbers_with_an_ending_take_the_form_it_spells():
    assert ru("3-й") == ["третий"]
    assert ru("5-го") == ["пятого"]
    assert ["двух"] in spoken_variants("2-х", language="ru")


def test_russian_percent():
    assert ["пять", "процентов"] in spoken_variants("5%", language="ru")


# --- Arabic --------------------------------------------------------------------------

#: The basmala, with full tashkeel (including the superscript alef of الرحمٰن) and bare.
BASMALA = "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ"
BASMALA_BARE = "بسم الله الرحمن الرحيم"


def test_arabic_tashkeel_is_dropped():
    assert ar_text(BASMALA) == ar_text(BASMALA_BARE) == BASMALA_BARE.split()
    sentence = "ذَهَبَ الْوَلَدُ إِلَى الْمَدْرَسَةِ مُبَكِّرًا"
    assert ar_text(sentence) == ar_text("ذهب الولد إلى المدرسة مبكرا")


def test_arabic_tatweel_is_dropped():
    assert ar("كـتـاب") == ar("كتاب") == ["كتاب"]
    assert ar("العـــــربية") == ar("العربية")


def test_arabic_alef_forms_are_one_letter():
    assert ar("أحمد") == ar("احمد") == ["احمد"]
    assert ar("إسلام") == ar("اسلام")
    assert ar("آمن") == ar("امن")
    assert ar("ٱلله") == ar("الله")


def test_arabic_yeh_teh_marbuta_and_hamza_seats():
    assert ar("مستشفى") == ar("مستشفي")  # ى / ي
    assert ar("مدرسة") == ar("مدرسه")  # ة / ه
    assert ar("سؤال") == ar("سوال")  # ؤ / و
    assert ar("الأئمة") == ar("الايمه")  # ئ / ي (pyarabic's "tasheel")
    assert ar("مائة") == ar("مئة")  # both spellings of a hundred


def test_arabic_punctuation_and_invisible_marks():
    assert ar("الكتاب،") == ar("؟الكتاب؛") == ["الكتاب"]
    assert ar("؟") == ar("،") == []
    assert ar("\u200fالكتاب") == ["الكتاب"]  # a right-to-left mark
    assert ar("\ufefb") == ["لا"]  # the lam-alef ligature


def test_the_conjunction_waw_stays_on_its_word():
    assert ar("وَالْكِتَابُ") == ["والكتاب"]
    # Written apart, it is the same reading.
    assert joined_variants(["و", "الكتاب"], language="ar") & joined_variants(
        ["وَالْكِتَابُ"], language="ar"
    )


def test_arabic_digits_are_read_as_arabic_numbers():
    three = ar("ثلاثة")
    assert ar("٣") == ar("3") == ar("۳") == three == ["ثلاثه"]
    # num2words writes "ألف و تسعمائة و ثمانية و أربعون": normalised and its و joined.
    expected = ar_text("ألف وتسعمائة وثمانية وأربعون")
    assert ar("١٩٤٨") == ar("1948") == expected
    # "عام ١٩٤٨" is read in the genitive: وأربعين.
    assert ar_text("ألف وتسعمائة وثمانية وأربعين") in spoken_variants("١٩٤٨", language="ar")
    assert ar("٣٫٥") == ar_text("ثلاثة فاصلة خمسة")
    assert ar("٢٠٠٠") == ar("ألفان")  # not num2words' construct "ألفا"


# --- Other languages and the table ------------------------------------------------


def test_language_codes_and_generic_rules():
    assert language_code("ru-RU") == "ru" and language_code("") == "en"
    assert rules_for("AR") is SUPPORTED_LANGUAGES["ar"]
    assert spoken_form("5", language="de") == ["fünf"]
    assert spoken_form("Straße", language="de") == ["strasse"]
    assert spoken_form("5", language="xx") == ["5"]  # num2words lacks it: the digits
    assert spoken_form("हिन्दी", language="hi") == ["हिन्दी"]  # marks stay in the word


def test_english_is_the_default():
    assert spoken_form("1984") == spoken_form("1984", language="en") == [
        "nineteen", "eighty", "four"
    ]
    assert spoken_form("don't", "en-GB") == ["do", "not"]


def test_word_core_keeps_marks_inside():
    assert word_core("«Кни́га»,") == ("«", "Кни́га", "»,")
    assert word_core("كِتَابٌ،") == ("", "كِتَابٌ", "،")


# --- Lexicon -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def russian():
    return default_lexicon("ru")


@pytest.fixture(scope="module")
def arabic():
    return default_lexicon("ar")


def test_russian_near_words(russian):
    near = russian.near_words("«Кни́га»,")
    assert {"книги", "книгу", "книгой"} <= set(near[:8])  # morphology slips first
    assert "книга" not in near
    assert {"читала", "читали"} <= set(russian.near_words("читал"))
    assert "книгу" in russian and "ЁЛКА" in russian
    assert russian.near_words("Жили-были") == [] and russian.near_words("5") == []
    assert default_lexicon("ru-RU") is russian


def test_arabic_near_words(arabic):
    near = arabic.near_words("الْكِتَابُ")
    assert "كتاب" in near and "الكتابة" in near
    assert all(spoken_form(w, "ar") != ["الكتاب"] for w in near)
    assert "القلم" in arabic.near_words("قلم")
    assert "أَلْكِتَابُ" in arabic


def test_similarity_and_style_in_russian_and_arabic():
    assert similarity("книгу", "Кни́га,", "ru") == 100  # a morphology slip
    assert similarity("кошка", "книга", "ru") < 50
    assert similarity("الكتاب", "كِتَابٌ", "ar") == 100
    assert styled("книгу", "«Кни́га»,", "ru") == "«Книгу»,"
    assert styled("книгу", "КНИГА", "ru") == "КНИГУ"
    assert styled("كتابه", "كِتَابٌ،", "ar") == "كتابه،"


# --- Text preparation (text_diff) ---------------------------------------------------


def test_text_diff_keeps_words_with_marks_whole():
    assert normalize_words("За́мок, ёлка — «Жили-были»", "ru") == [
        "замок", "елка", "жили", "были"
    ]
    assert normalize_words(BASMALA, "ar") == BASMALA_BARE.split()
    # Decomposed letters are composed first: е + diaeresis is ё (then е), и + breve is й.
    assert normalize_words("е\u0308лка и\u0306", "ru") == ["елка", "й"]
    # English keeps its old behaviour: a combining mark separates.
    assert normalize_words("за́мок") == ["за", "мок"]


def test_text_diff_matches_across_marks():
    assert match_phrases(["елка и замок"], "Ёлка и за́мок.", "ru") == [[]]
    assert match_phrases(["بسم الله"], "بِسْمِ اللَّهِ", "ar") == [[]]
    assert find_phrases(["жили были", "дед да баба"], "Дед да ба́ба", language="ru") == [1]
