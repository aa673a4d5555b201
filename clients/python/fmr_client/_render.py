"""How the ``fmr`` command shows results: rich text, coloured word by word.

Colours are the Okabe-Ito ones of the service's annotated photo (substitution
vermillion, omission blue, insertion bluish green), readable with the common colour
vision deficiencies; correct words are plain, and a printed word not read (substituted
or skipped) is struck through. Every mark also has a textual form
(``brown→black``, ``+word``, and ``~word~`` for a skipped word when colour is off),
so nothing depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from fmr_client.models import (
    ImageComparison,
    Miscue,
    ModelInfo,
    PageText,
    ReadingSummary,
    TaskStatus,
    TextComparison,
    Transcript,
    from_json,
)
from fmr_client.reading import mark_reading

__all__ = ["STYLES", "comparison", "models_table", "reading", "summary", "task", "transcript"]

STYLES = {
    "correct": "",
    "substitution": "strike #D55E00",
    "omission": "strike #0072B2",
    "insertion": "bold #009E73",
    "heard": "bold #D55E00",
}
_LABELS = {"substitution": "substituted", "omission": "skipped", "insertion": "inserted"}


def reading(reference: str, errors: Iterable[Miscue], colour: bool = True) -> Text:
    """The reference text with each miscue marked at its place."""
    text = Text()
    for piece in mark_reading(reference, errors):
        if piece.kind in ("correct", "space"):
            text.append(piece.text, STYLES["correct"])
        elif piece.kind == "substitution":
            text.append(piece.text, STYLES["substitution"])
            text.append(f"→{piece.heard}", STYLES["heard"])
        elif piece.kind == "omission":
            text.append(piece.text if colour else f"~{piece.text}~", STYLES["omission"])
        else:
            text.append(f"+{piece.text}", STYLES["insertion"])
    return text


def legend(colour: bool = True) -> Text:
    """One line naming each mark."""
    return Text.assemble(
        ("correct", STYLES["correct"]), "  ",
        ("substituted", STYLES["substitution"]), ("→heard", STYLES["heard"]), "  ",
        ("skipped" if colour else "~skipped~", STYLES["omission"]), "  ",
        ("+inserted", STYLES["insertion"]), style="dim",
    )


def miscues_table(errors: list[Miscue]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in (("miscue", "left"), ("expected", "left"), ("heard", "left"),
                            ("at", "right"), ("confidence", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for error in errors:
        kind = error.type or "?"
        at = f"{error.start:.2f} s" if error.start is not None else ""
        confidence = f"{error.confidence:.3f}" if error.confidence is not None else ""
        label = Text(_LABELS.get(kind, kind), STYLES.get(kind, "").replace("strike", "bold"))
        table.add_row(label, error.expected,
                      error.found, at, confidence)
    return table


def summary(value: ReadingSummary | None) -> Text:
    """Accuracy and WCPM, then the counts."""
    if value is None:
        return Text("No summary (the service did not compute one).", style="dim")
    wcpm = f"{value.wcpm:g}" if value.wcpm is not None else "n/a"
    return Text.assemble(
        (f"Accuracy {value.accuracy:g} %", "bold"), "   ", (f"WCPM {wcpm}", "bold"), "\n",
        f"{value.words_correct} of {value.words_in_reference} words correct: "
        f"{value.substitutions} substituted, {value.omissions} skipped, "
        f"{value.insertions} inserted; {value.reading_duration:g} s of reading",
    )


def comparison(result: ImageComparison | TextComparison, reference: str | None,
               task_id: str, colour: bool = True) -> RenderableType:
    """A comparison: the text read (when the reference is known), the miscues, the
    summary."""
    parts: list[RenderableType] = [Text(f"task {task_id}", style="dim")]
    if reference is not None:
        parts += [reading(reference, result.errors, colour), legend(colour), Text()]
    parts.append(miscues_table(result.errors) if result.errors else Text("No miscues."))
    parts += [Text(), summary(result.summary)]
    return Group(*parts)


def transcript(value: Transcript, segments: bool = True) -> RenderableType:
    parts: list[RenderableType] = [Text(value.text)]
    if segments and value.segments:
        table = Table(box=None, pad_edge=False, show_header=False)
        table.add_column(style="dim", justify="right")
        table.add_column()
        for segment in value.segments:
            table.add_row(f"{segment.start:.2f}-{segment.end:.2f} s", segment.text.strip())
        parts += [Text(), table]
    if value.language:
        parts.append(Text(f"language: {value.language}", style="dim"))
    return Group(*parts)


def models_table(audio: list[ModelInfo], image: list[ModelInfo]) -> Table:
    table = Table(header_style="bold")
    for column in ("kind", "name", "languages", "description"):
        table.add_column(column)
    for kind, models in (("audio", audio), ("image", image)):
        for model in models:
            table.add_row(kind, Text(model.name, "bold"), _languages(model.languages),
                          model.description)
    return table


def _languages(codes: list[str], shown: int = 6) -> str:
    """The language codes, the first ``shown`` of a long list and how many there are."""
    if len(codes) <= shown + 2:
        return ", ".join(codes)
    return f"{', '.join(codes[:shown])}… ({len(codes)})"


def task(status: TaskStatus, result: Any, colour: bool = True) -> RenderableType:
    """A task's status, and its result when there is one (shown by its shape)."""
    style = {"completed": "green", "failed": "red"}.get(status.status, "yellow")
    head = Text.assemble(f"task {status.task_id}: ", (status.status, f"bold {style}"))
    if status.error:
        head.append(f"\n{status.error}", "red")
    if not isinstance(result, dict):
        return head
    body: RenderableType
    if "errors" in result and "image" in result:
        value = from_json(ImageComparison, result)
        body = comparison(value, value.reference_text, status.task_id, colour)
    elif "errors" in result:
        body = comparison(from_json(TextComparison, result), None, status.task_id, colour)
    elif "segments" in result:
        body = transcript(from_json(Transcript, result))
    elif "boxes" in result:
        body = Text(from_json(PageText, result).text)
    else:
        body = Text(str(result))
    return Group(head, body)


def print_error(console: Console, message: str, hint: str | None = None) -> None:
    console.print(Text.assemble(("error: ", "bold red"), message))
    if hint:
        console.print(Text(hint, style="dim"))
