"""Reading assessment of Russian and Arabic pages (core.reading.assess, verify and
candidates with ``language``): formatting is never a miscue, real miscues are found."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from core.plugins.scoring import WordPrediction
from core.reading.assess import HeardWord, assess, reference_words
from core.reading.candidates import SUBSTITUTION, proposals
from core.reading.checked import checked_heard
from core.reading.lexicon import default_lexicon
from core.reading.normalize import spoken_form
from core.reading.verify import VerifyOptions, verify_reading

#: Pushkin, "Сказка о рыбаке и рыбке" (1833), as a primer prints it: stress marks, ё,
#: the numbers in digits.
RU_PAGE = (
    "Жил стари́к со свое́ю стару́хой у са́мого си́него мо́ря; они́ жи́ли в ве́тхой "
    "земля́нке ро́вно 30 лет и 3 го́да. Раз он в мо́ре заки́нул не́вод, — пришёл не́вод "
    "с одно́ю ти́ной."
)
#: As a transcript writes a clean reading: no stress marks, е for ё, numbers as words.
RU_CLEAN = (
    "жил старик со своею старухой у самого синего моря они жили в ветхой землянке "
    "ровно тридцать лет и три года раз он в море закинул невод пришел невод с одною тиной"
)

#: A primer's sentence with full tashkeel and numbers in Arabic-Indic digits.
AR_PAGE = (
    "ذَهَبَ أَحْمَدُ إِلَى الْمَكْتَبَةِ فِي عَامِ ١٩٤٨، وَاشْتَرَى ٣ كُتُبٍ جَدِيدَةٍ. "
    "قَرَأَ الْكِتَابَ الْأَوَّلَ فِي لَيْلَةٍ وَاحِدَةٍ."
)
#: A clean reading as a transcript writes it: no tashkeel, the year read in the
#: genitive after عام, the ٣ read as a word.
AR_CLEAN = (
    "ذهب أحمد إلى المكتبة في عام ألف وتسعمائة وثمانية وأربعين واشترى ثلاثة كتب جديدة "
    "قرأ الكتاب الأول في ليلة واحدة"
)


def heard(text: str) -> list[HeardWord]:
    return [HeardWord(w, 0.5 * i, 0.5 * i + 0.4, 0.9, 0, 0) for i, w in enumerate(text.split())]


def run(page: str, read: str, language: str):
    return assess(page, reference_words(page), heard(read), 60.0, language=language)


def found(result) -> list[tuple[str, int, int, str]]:
    return [(m.type, m.ref_start, m.ref_end, m.found) for m in result.miscues]


def test_a_clean_russian_reading_has_no_miscue():
    result = run(RU_PAGE, RU_CLEAN, "ru")
    assert result.miscues == []
    # 32 printed words, the dash is not one.
    assert result.summary.words_in_reference == 31 == result.summary.words_correct


def test_russian_miscues_are_found_at_their_words():
    words = [w.text for w in reference_words(RU_PAGE)]
    assert (words[6], words[13], words[25]) == ("са́мого", "земля́нке", "не́вод,")
    read = (
        RU_CLEAN.replace("у самого синего", "у синего")  # omission: самого
        .replace("землянке", "землянки")  # substitution
        .replace("закинул невод", "закинул свой невод")  # insertion before невод
    )
    result = run(RU_PAGE, read, "ru")
    assert found(result) == [
        ("omission", 6, 7, ""),
        ("substitution", 13, 14, "землянки"),
        ("insertion", 25, 25, "свой"),
    ]
    assert [m.expected for m in result.miscues] == ["са́мого", "земля́нке", ""]
    summary = result.summary
    assert (summary.substitutions, summary.omissions, summary.insertions) == (1, 1, 1)
    assert summary.words_correct == 29


def test_english_rules_would_not_see_the_russian_words():
    # Under English rules Cyrillic is dropped as punctuation: only "30" and "3" count.
    assert run(RU_PAGE, RU_CLEAN, "en").summary.words_in_reference == 2


def test_a_clean_arabic_reading_has_no_miscue():
    result = run(AR_PAGE, AR_CLEAN, "ar")
    assert result.miscues == []
    assert result.summary.words_in_reference == 17 == result.summary.words_correct


def test_the_arabic_conjunction_written_apart_is_no_miscue():
    assert run(AR_PAGE, AR_CLEAN.replace("واشترى", "و اشترى"), "ar").miscues == []


def test_arabic_miscues_are_found_at_their_words():
    words = [w.text for w in reference_words(AR_PAGE)]
    assert (words[3], words[10], words[14]) == ("الْمَكْتَبَةِ", "جَدِيدَةٍ.", "فِي")
    read = (
        AR_CLEAN.replace("المكتبة", "المدرسة")  # substitution
        .replace("كتب جديدة", "كتب")  # omission: جديدة
        .replace("الأول في", "الأول كاملا في")  # insertion before في
    )
    result = run(AR_PAGE, read, "ar")
    assert found(result) == [
        ("substitution", 3, 4, "المدرسة"),
        ("omission", 10, 11, ""),
        ("insertion", 14, 14, "كاملا"),
    ]
    assert result.miscues[0].expected == "الْمَكْتَبَةِ"


def test_an_arabic_number_misread_is_a_substitution():
    read = AR_CLEAN.replace("ثلاثة", "أربعة")
    assert found(run(AR_PAGE, read, "ar")) == [("substitution", 8, 9, "أربعة")]


# --- The reading check (verify) -------------------------------------------------------


class Hearing:
    """A stand-in ASR scorer that hears ``spoken`` (see tests/core/reading/test_verify.py),
    comparing words by their normalised form in ``language``."""

    def __init__(self, spoken: str, language: str) -> None:
        self.language = language
        self.spoken = [self.key(w) for w in spoken.split()]
        self.duration = 0.4 * len(self.spoken) + 0.5

    def key(self, word: str) -> str:
        return "".join(spoken_form(word, self.language))

    def window(self, start: float, end: float) -> Hearing:
        return self

    def page(self, words: Sequence[str], top_k: int = 10) -> list[WordPrediction]:
        out = []
        for i, word in enumerate(words):
            heard_here = self.spoken[i] if i < len(self.spoken) else ""
            right = heard_here == self.key(word)
            out.append(WordPrediction(-0.1 if right else -4.0, 0 if right else 1, []))
        return out

    def first_token_log_probs(self, index: int, words: Sequence[str]) -> list[float | None]:
        heard_here = self.spoken[index] if index < len(self.spoken) else ""
        return [-0.5 if self.key(w) == heard_here else -1.0 for w in words]

    def log_likelihoods(self, readings, from_word, final=None) -> list[float]:
        return [
            -3.0 * min(
                Levenshtein.distance([self.key(w) for w in reading], self.spoken[:j])
                for j in range(len(self.spoken) + 1)
            )
            for reading in readings
        ]


OPTIONS = VerifyOptions(
    margin_proposed={"substitution": 2.0, "omission": 2.0, "insertion": 2.0},
    margin_transcript=0.0, loose_penalty=0.0, name_penalty=0.0, function_penalty=0.0,
)


def test_the_check_finds_a_russian_ending_slip_the_transcript_hid():
    page = "Дед взял кни́гу и сел у окна."
    scorer = Hearing("дед взял книги и сел у окна", "ru")
    # The transcript, primed with the page, wrote the page's word.
    transcript = heard("Дед взял книгу и сел у окна")
    verification = verify_reading(page.split(), transcript, scorer, OPTIONS, language="ru")
    assert [(e.type, e.ref_start, e.words) for e in verification.edits] == [
        ("substitution", 2, ["книги"])
    ]
    checked = checked_heard(page.split(), transcript, verification, scorer.duration, "ru")
    result = assess(page, reference_words(page), checked, scorer.duration, language="ru")
    assert found(result) == [("substitution", 2, 3, "книги")]


def test_the_check_accepts_a_clean_arabic_reading():
    scorer = Hearing(AR_CLEAN, "ar")
    verification = verify_reading(
        AR_PAGE.split(), heard(AR_CLEAN), scorer, OPTIONS, language="ar"
    )
    assert verification.edits == [] and verification.rejected == []


def test_a_printed_word_is_never_proposed_in_place_of_itself():
    # The decoder's alternative is the page's word without tashkeel.
    words = AR_PAGE.split()
    prediction = WordPrediction(-4.0, 1, [("الكتاب", -0.1), ("كتاب", -0.5)])
    scorer = Hearing(AR_CLEAN, "ar")
    out = proposals(words, 12, prediction, scorer, default_lexicon("ar"), -8.0, 8, 1, 0, "ar")
    substitutes = [c.words[0] for c in out if c.type == SUBSTITUTION]
    assert substitutes and "الكتاب" not in substitutes
    assert all(spoken_form(w, "ar") != ["الكتاب"] for w in substitutes)
