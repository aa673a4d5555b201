"""core.report.render: the report's HTML (escaping, direction, figures, times)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from core.report.photo import annotated_photo, fit_for_print, miscue_label, miscue_marks
from core.report.render import ReadingReport, clock, render_html, time_span
from core.results import AudioImageComparison, AudioTextComparison, MiscueReport

DATA = Path(__file__).parent / "data"
PAGES = Path(__file__).resolve().parents[2] / "data"
WHEN = datetime(2026, 12, 3, 14, 5, tzinfo=timezone.utc)
SEGMENT = {"start": 0.0, "end": 1.0, "text": "", "file": "00000000-0000-0000-0000-000000000000"}
#: The elements the template writes; anything else in the output came from the data.
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "table", "tr",
    "th", "td", "thead", "tbody", "section", "div", "p", "span", "b", "figure", "img",
    "figcaption", "sup",
}


class Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def image_report(name: str = "miscue_image.json", page: str = "miscue.png",
                 **changes: Any) -> ReadingReport:
    result = AudioImageComparison.model_validate(load(name)["result"])
    fields: dict[str, Any] = dict(
        task_id="3f2c9d4e-7b1a-4c55-9e0f-2d8a61b7c0aa", mode="audio/image",
        reference_text=result.image.text, errors=result.errors, summary=result.summary,
        created=WHEN, language=result.language,
        photo_png=annotated_photo(PAGES / page, result.errors),
        models={"Speech": "whisper", "Text recognition": "en_easyocr"},
    )
    return ReadingReport(**{**fields, **changes})


def test_clock_and_time_spans():
    assert [clock(s) for s in (0, 0.9, 2.44, 59.96, 75.04, 6000)] == [
        "00:00.0", "00:00.9", "00:02.4", "01:00.0", "01:15.0", "100:00.0"
    ]
    assert time_span(0.9, 1.28) == "00:00.9–00:01.3"
    assert time_span(2.44, 2.44) == "00:02.4"  # an omission's point in time
    assert time_span(None, None) == "—"
    assert time_span(None, 3.0) == "00:03.0"


def test_the_report_shows_the_summary_the_date_and_the_marked_miscues():
    html = render_html(image_report(), printed=WHEN)
    assert "3 December 2026, 14:05 UTC" in html
    assert "English" in html and 'dir="ltr"' in html and 'lang="en"' in html
    for figure in ("88.9 %", "169.6", "94.4 %", "16 of 18 words", "00:05.7"):
        assert figure in html
    assert '<span class="note">black</span><span class="word">brown</span>' in html
    assert '<span class="note">skipped</span><span class="word">green</span>' in html
    assert "Substitutions: <b>1</b>" in html and "Insertions: <b>0</b>" in html


def test_the_document_loads_nothing_and_runs_nothing():
    tags = elements(render_html(image_report()))
    assert {tag for tag, _ in tags} <= TEMPLATE_TAGS
    urls = [v for _, attrs in tags for k, v in attrs.items() if k in ("src", "href")]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)


def test_arabic_text_is_right_to_left():
    html = render_html(image_report("ar_miscue_image.json", "ar_miscue.png"))
    assert '<p class="reading" dir="rtl" lang="ar">' in html
    assert "Arabic" in html
    assert '<td dir="rtl">الحديقة</td>' in html and '<td dir="rtl">المدرسة</td>' in html


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_every_untrusted_text_is_escaped():
    text = f"{HOSTILE} the cat"
    errors = [
        MiscueReport(audio_segment=SEGMENT, at_char=0, found=HOSTILE, expected="cat",
                     type="substitution", ref_char=len(HOSTILE) + 5, start=0.1, end=0.2),
        MiscueReport(audio_segment=SEGMENT, at_char=0, found=f'"{HOSTILE}', expected="",
                     type="insertion", ref_char=len(HOSTILE) + 1),
    ]
    report = ReadingReport(
        task_id=HOSTILE, mode="audio/text", reference_text=text, errors=errors, summary=None,
        created=WHEN, language=f'"{HOSTILE}', models={HOSTILE: HOSTILE},
    )
    html = render_html(report)
    assert "<script" not in html and "<img" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6
    tags = elements(html)
    assert {tag for tag, _ in tags} <= TEMPLATE_TAGS
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)
    # The quote in the language and in what was heard does not close an attribute.
    assert {a["lang"] for t, a in tags if t == "p" and "lang" in a} == {f'"{HOSTILE}'}


def test_a_result_without_summary_or_miscues():
    result = AudioTextComparison.model_validate(
        {"audio": {"text": "", "segments": []}, "errors": []}
    )
    html = render_html(ReadingReport(
        task_id="t", mode="audio/text", reference_text="Every path", errors=result.errors,
        summary=None, created=WHEN, min_confidence=0.8,
    ))
    assert "has no summary" in html and "No miscues at this confidence" in html
    assert "Miscues below 80 % confidence are not shown" in html
    assert "not stated" in html and "<img" not in html


def test_insertions_are_marked_with_a_caret():
    errors = [MiscueReport(audio_segment=SEGMENT, at_char=0, found="very", expected="",
                           type="insertion", ref_char=4, start=0.5, end=0.7, confidence=0.9)]
    html = render_html(ReadingReport(
        task_id="t", mode="audio/text", reference_text="the big tree", errors=errors,
        summary=None, created=WHEN,
    ))
    assert 'the <span class="m insertion" title="added &quot;very&quot;">' in html
    assert '<span class="note">+very</span><span class="word">‸</span>' in html


def test_marks_and_labels_on_the_photo():
    result = AudioImageComparison.model_validate(load("miscue_image.json")["result"])
    assert [(m.type, m.label) for m in miscue_marks(result.errors)] == [
        ("substitution", 'read "black"'), ("omission", "skipped")
    ]
    insertion = result.errors[0].model_copy(update={"type": "insertion", "found": "very"})
    assert miscue_label(insertion) == 'added "very"'
    untyped = result.errors[0].model_copy(update={"type": None})
    assert miscue_marks([untyped]) == []


@pytest.mark.parametrize("width", [1200, 3000])
def test_photos_wider_than_print_are_scaled_down(width: int):
    buffer = io.BytesIO()
    Image.new("RGB", (width, width // 4), "white").save(buffer, format="PNG")
    fitted = Image.open(io.BytesIO(fit_for_print(buffer.getvalue())))
    assert fitted.size == ((width, width // 4) if width <= 1800 else (1800, 450))
