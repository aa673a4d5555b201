"""Reading order for OCR text boxes: a simple line-clustering heuristic.

OCR engines such as EasyOCR return text boxes in detection order, which is not the
order a person reads them in. This module groups boxes into text lines and orders
them: lines top to bottom, boxes left to right inside a line.

The heuristic works on each box's axis-aligned bounds (``Rectangle.bounds()``, pixels,
origin top-left, y down), so slightly rotated or skewed words are handled through
their enclosing rectangle:

1. Boxes are taken in order of their vertical centre.
2. A box joins an existing line when its vertical overlap with the line's current
   vertical extent is at least half of the smaller of the two heights (the box's and
   the line's). If several lines qualify, the one with the largest overlap wins.
   Otherwise the box starts a new line.
3. A line's vertical extent grows to cover every box that joins it.
4. Lines are sorted by the mean vertical centre of their boxes, and boxes inside a
   line by their left edge.

Limitations: this is a single-column heuristic. It does not handle multi-column
pages (two columns side by side are merged into the same lines; this is a later
issue), strongly rotated or curved text, or right-to-left scripts.

The module is pure: it depends only on :mod:`core.plugins.types`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.plugins.types import ImageTextBox

__all__ = ["join_ordered", "join_text", "order_boxes", "reading_order"]

#: A box joins a line when the vertical overlap is at least this fraction of the
#: smaller of the two heights.
MIN_OVERLAP_FRACTION = 0.5


@dataclass
class _Line:
    """A line being built: its vertical extent (pixels) and member boxes."""

    top: float
    bottom: float
    members: list[tuple[ImageTextBox, tuple[int, int, int, int]]] = field(default_factory=list)

    def overlap(self, top: float, bottom: float) -> float:
        """Vertical overlap in pixels with ``[top, bottom]``; negative for a gap."""
        return min(self.bottom, bottom) - max(self.top, top)

    def add(self, box: ImageTextBox, bounds: tuple[int, int, int, int]) -> None:
        _, top, _, bottom = bounds
        self.top = min(self.top, top)
        self.bottom = max(self.bottom, bottom)
        self.members.append((box, bounds))

    def mean_centre_y(self) -> float:
        return sum((b[1] + b[3]) / 2 for _, b in self.members) / len(self.members)


def order_boxes(boxes: list[ImageTextBox]) -> list[list[ImageTextBox]]:
    """Group text boxes into lines and put them in reading order.

    A simple line-clustering heuristic (see the module docstring): boxes whose
    axis-aligned vertical extents overlap by at least half of the smaller height
    form a line; lines are ordered top to bottom by mean vertical centre, boxes
    within a line left to right by their left edge. Multi-column pages are not
    handled (columns side by side end up in the same lines).

    Args:
        boxes: Text boxes in any order; coordinates in pixels, origin top-left.

    Returns:
        The lines, top to bottom, each a non-empty list of boxes left to right.
        An empty input gives an empty list. The input list is not modified.
    """
    measured = [(box, box.coordinates.bounds()) for box in boxes]
    # By vertical centre; ties broken by left then top edge (sorted() is stable,
    # so identical boxes keep their input order).
    measured.sort(key=lambda item: ((item[1][1] + item[1][3]) / 2, item[1][0], item[1][1]))

    lines: list[_Line] = []
    for box, bounds in measured:
        _, top, _, bottom = bounds
        height = bottom - top
        best: _Line | None = None
        best_overlap = 0.0
        for line in lines:
            overlap = line.overlap(top, bottom)
            needed = MIN_OVERLAP_FRACTION * min(height, line.bottom - line.top)
            if overlap >= needed and (best is None or overlap > best_overlap):
                best, best_overlap = line, overlap
        if best is None:
            best = _Line(top=top, bottom=bottom)
            lines.append(best)
        best.add(box, bounds)

    lines.sort(key=_Line.mean_centre_y)
    return [
        [box for box, _ in sorted(line.members, key=lambda item: (item[1][0], item[1][1]))]
        for line in lines
    ]


def reading_order(boxes: list[ImageTextBox]) -> list[ImageTextBox]:
    """Return the boxes flattened in reading order (see :func:`order_boxes`)."""
    return [box for line in order_boxes(boxes) for box in line]


def join_ordered(boxes: list[ImageTextBox]) -> str:
    """Join the boxes' texts in the order given, with single spaces.

    Whitespace inside a box's text is collapsed and boxes with no text are skipped.
    Use it on boxes already put in order by :func:`reading_order`.
    """
    words = (" ".join(box.text.split()) for box in boxes)
    return " ".join(word for word in words if word)


def join_text(boxes: list[ImageTextBox]) -> str:
    """Return the boxes' texts in reading order, joined with single spaces.

    The boxes are ordered with :func:`reading_order` first (a simple line-clustering
    heuristic; multi-column pages are not handled), then joined by :func:`join_ordered`.
    """
    return join_ordered(reading_order(boxes))
