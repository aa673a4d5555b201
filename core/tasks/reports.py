"""A miscue as an entry of a comparison result's ``errors``."""

from __future__ import annotations

import uuid

from core.plugins.types import Rectangle
from core.reading.assess import Miscue
from core.results import CutSegment, MiscueReport

__all__ = ["miscue_report"]


def miscue_report(miscue: Miscue, file: uuid.UUID) -> MiscueReport:
    """A miscue as an entry of the result's ``errors``, with its cut."""
    box = None
    if miscue.boxes:
        bounds = [b.bounds() for b in miscue.boxes]
        box = Rectangle.from_bounds(
            min(b[0] for b in bounds),
            min(b[1] for b in bounds),
            max(b[2] for b in bounds),
            max(b[3] for b in bounds),
        )
    return MiscueReport(
        audio_segment=CutSegment(
            start=miscue.start, end=miscue.end, text=miscue.found, file=file
        ),
        at_char=miscue.at_char,
        found=miscue.found,
        expected=miscue.expected,
        type=miscue.type,
        ref_char=miscue.ref_char,
        start=miscue.start,
        end=miscue.end,
        confidence=miscue.confidence,
        segment=miscue.segment,
        box=box,
        boxes=list(miscue.boxes),
        evidence=miscue.evidence,
    )
