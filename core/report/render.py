"""The report of one reading as a self-contained HTML document (Jinja2, autoescaped).

The document holds the date, the language, the summary figures, the annotated photo
(audio/image) as a ``data:`` URI, the reference text with each miscue marked
(:mod:`core.report.marked_text`) and the table of miscues with their times. It loads
nothing: no script, no stylesheet, font or image from a URL, so it can be saved,
mailed or printed as it is, and :mod:`core.report.pdf` prints it without any fetch.
Its print CSS lays it out on A4.

Every text in it (the reference text, OCR output, what the model heard, the task's
model names) is untrusted: the template environment autoescapes everything, and
nothing is marked safe except the ``data:`` URI built here from the PNG's bytes.

The module is pure: it depends only on Jinja2 and :mod:`core`.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup

from core.page.annotate import MISCUE_COLOURS
from core.page.direction import is_rtl
from core.report.marked_text import kind_of, marked_text
from core.results import MiscueReport, ReadingSummary

__all__ = ["LANGUAGE_NAMES", "ReadingReport", "clock", "render_html", "time_span"]

_TEMPLATES = Path(__file__).parent / "templates"

#: Names of the languages the bundled models read; other codes are shown as they are.
LANGUAGE_NAMES = {"en": "English", "ru": "Russian", "ar": "Arabic", "de": "German"}

_TYPE_NAMES = {"substitution": "Substitution", "omission": "Omission", "insertion": "Insertion"}


@dataclass(frozen=True)
class ReadingReport:
    """What a report shows about one comparison task.

    Attributes:
        task_id: The comparison task.
        mode: ``"audio/image"`` (a photo of the page) or ``"audio/text"`` (a text).
        reference_text: The text read: ``image.text``, or the ``text`` items joined
            with single spaces (the text the errors' ``ref_char`` point into).
        errors: The miscues listed (already filtered by confidence, if wanted).
        summary: The reading's figures (they count every miscue); ``None`` for
            results from before summaries existed.
        created: When the task was created (the reading was submitted); timezone-aware.
        language: ISO 639-1 code the reading was checked in, if known.
        photo_png: The annotated photo (PNG bytes), for audio/image.
        models: The models that served the task, e.g. ``{"Speech": "whisper"}``.
        min_confidence: The confidence (0-1) below which miscues were left out.
    """

    task_id: str
    mode: Literal["audio/image", "audio/text"]
    reference_text: str
    errors: Sequence[MiscueReport]
    summary: ReadingSummary | None
    created: datetime
    language: str | None = None
    photo_png: bytes | None = None
    models: Mapping[str, str] = field(default_factory=dict)
    min_confidence: float = 0.0


def clock(seconds: float) -> str:
    """``mm:ss.s`` for a time in seconds (``75.04`` -> ``01:15.0``); minutes grow past 99."""
    tenths = round(max(0.0, seconds) * 10)
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes:02d}:{tenths // 10:02d}.{tenths % 10}"


def time_span(start: float | None, end: float | None) -> str:
    """``mm:ss.s–mm:ss.s`` (seconds from the start of the recording), one time when
    both round alike (an omission's point), ``—`` when the result has no times."""
    if start is None and end is None:
        return "—"
    first = clock(start if start is not None else end)  # type: ignore[arg-type]
    last = clock(end if end is not None else start)  # type: ignore[arg-type]
    return first if first == last else f"{first}–{last}"


def _date(moment: datetime) -> str:
    """``3 December 2026, 14:05 UTC`` (UTC: the service does not know the reader's zone)."""
    utc = moment.astimezone(timezone.utc)
    return f"{utc.day} {utc:%B %Y}, {utc:%H:%M} UTC"


def _tenths(value: float) -> str:
    """``value`` to one decimal, halves up as printed (82.35 -> 82.4, not float's 82.3)."""
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{_tenths(value)} %"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # Autoescape every template whatever its name: all the text in a report is untrusted.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _rows(errors: Sequence[MiscueReport]) -> list[dict[str, Any]]:
    rows = []
    for number, error in enumerate(errors, start=1):
        kind = kind_of(error)
        rows.append({
            "number": number,
            "kind": kind,
            "type": _TYPE_NAMES[kind],
            "expected": error.expected or "",
            "heard": error.found or "",
            "time": time_span(error.start, error.end),
            "confidence": _percent(
                None if error.confidence is None else round(error.confidence * 100, 6)
            ),
            "rtl": is_rtl(error.expected or error.found or ""),
        })
    return rows


def _figures(summary: ReadingSummary | None) -> list[tuple[str, str, str]]:
    """``(label, value, note)`` of each summary figure."""
    if summary is None:
        return []
    wcpm = "—" if summary.wcpm is None else _tenths(summary.wcpm)
    return [
        ("Accuracy", _percent(summary.accuracy),
         f"{summary.words_correct} of {summary.words_in_reference} words read correctly"),
        ("WCPM", wcpm, "words correct per minute of reading"),
        ("Completeness", _percent(summary.completeness), "of the words not skipped"),
        ("Reading time", clock(summary.reading_duration), "first word heard to last (mm:ss.s)"),
    ]


def render_html(report: ReadingReport, printed: datetime | None = None) -> str:
    """The report as one HTML document (UTF-8 text), loading nothing from anywhere.

    Args:
        report: What to show.
        printed: When the report is made (timezone-aware); now by default.

    Returns:
        The document; the reference text is ``dir="rtl"`` when it is mostly
        right-to-left script (Arabic), and so are the miscues' words in the table.

    Raises:
        jinja2.TemplateError: The template is missing or broken (a packaging error).
    """
    photo = None
    if report.photo_png is not None:
        encoded = base64.b64encode(report.photo_png).decode("ascii")
        # Safe to mark: base64's alphabet holds no character HTML gives a meaning to.
        photo = Markup(f"data:image/png;base64,{encoded}")
    summary = report.summary
    counts = None if summary is None else [
        ("substitution", _TYPE_NAMES["substitution"], summary.substitutions),
        ("omission", _TYPE_NAMES["omission"], summary.omissions),
        ("insertion", _TYPE_NAMES["insertion"], summary.insertions),
    ]
    language = report.language or ""
    # Two facts a row; the task id (long) gets a row of its own in the template.
    facts = [
        ("Read on", _date(report.created)),
        ("Report made", _date(printed or datetime.now(timezone.utc))),
        ("Language", LANGUAGE_NAMES.get(language, language or "not stated")),
        ("Read from", "a photo of the page" if report.mode == "audio/image" else "a given text"),
        *report.models.items(),
    ]
    return _environment().get_template("report.html").render(
        task_id=report.task_id,
        date=_date(report.created),
        facts=facts,
        language=language,
        direction="rtl" if is_rtl(report.reference_text) else "ltr",
        min_confidence=report.min_confidence,
        min_percent=f"{round(report.min_confidence * 100, 2):g}",
        figures=_figures(summary),
        counts=counts,
        photo=photo,
        words=marked_text(report.reference_text, report.errors),
        rows=_rows(report.errors),
        colours={kind: "#{:02x}{:02x}{:02x}".format(*rgb) for kind, rgb in MISCUE_COLOURS.items()},
    )
