"""Reading order for OCR text boxes: skew estimation, recursive XY-cut, line clustering.

OCR engines such as EasyOCR return text boxes in detection order, which is not the
order a person reads them in. This module puts them in reading order in three stages.
Coordinates are pixels, origin top-left, x to the right, y down; angles are degrees,
positive when the text lines rise to the right as seen on the image (the page is
turned counter-clockwise).

**Stage 0, page skew** (:mod:`core.page.skew`: a projection profile over the
boxes' centres). Boxes are ordered in the frame of the page turned back by the
estimated angle; an unskewed page keeps each box's own axis-aligned bounds.

**Stage 1, columns: a recursive XY-cut** (G. Nagy and S. Seth, "Hierarchical
representation of optically scanned documents", Proc. 7th Int. Conf. on Pattern
Recognition, 1984, pp. 347-349). The boxes of a region are projected on the x axis;
a white gap in that projection is a vertical gutter that no box crosses.

1. The widest gutter wider than ``MIN_GUTTER_FRACTION`` times the page's median box
   height is accepted if it is also wider than ``WIDE_GUTTER_FRACTION`` times that
   height, or if both sides hold at least ``MIN_COLUMN_LINES`` lines. Gaps between
   words are white gaps too; these tests keep word gaps that happen to line up across
   a few lines from being taken for a gutter. If the widest gap fails, the next
   widest is tried. The left side is read before the right side, or after it on a
   page of mostly right-to-left text (Arabic, Hebrew; :func:`core.page.direction.is_rtl`
   over all the boxes' text).
2. Without a gutter, the region is cut at the horizontal white gaps of its
   y projection into bands. Consecutive bands are then merged again, greedily top to
   bottom, for as long as their union still has a gutter: without this, two columns
   whose lines sit at the same heights would be cut into bands of one line per column
   and read across. A heading spanning both columns has no gutter, so it stays a
   band of its own, read first.
3. Each part is cut again; a region with no cut is a leaf.

**Stage 2, lines inside each leaf** (the single-column heuristic):

1. Boxes are taken in order of their vertical centre.
2. A box joins an existing line when its vertical overlap with the line's current
   vertical extent is at least half of the smaller of the two heights (the box's and
   the line's). If several lines qualify, the one with the largest overlap wins.
   Otherwise the box starts a new line.
3. A line's vertical extent grows to cover every box that joins it.
4. Lines are sorted by the mean vertical centre of their boxes, and boxes inside a
   line by their left edge; a line whose text is mostly right-to-left script is then
   read right to left, runs of left-to-right boxes in it (a Latin name) staying
   left to right (:func:`core.page.direction.rtl_order`).

A page with no accepted gutter gives the same lines in the same order as stage 2
alone: a line never straddles a horizontal gap, so cutting there keeps its order.

Limitations: the skew is one angle for the whole page, within ``SKEW_LIMIT``
(6 degrees); a page bent or curled so that its lines have different slopes (a book's
gutter), text set at different angles, or a steeper turn is not corrected beyond the
best single angle. The estimate needs lines of several boxes: with one box per line
(EasyOCR reading whole lines) there are no links, the angle stays 0 and such boxes
are ordered by their bounds as before. Short lines carry little slope: narrow
columns of a few words may keep 0 up to about 3 degrees (their lines then drift by
less than a line height, which stage 2 tolerates), and a page of a handful of boxes
with uneven baselines can, rarely, get a spurious angle (``MIN_SKEW_LINKS`` and
``MIN_SKEW_GAIN`` keep this rare). A gutter
must be white from the top of the region to the bottom, so columns are found only
when nothing (a picture caption, a box straddling the gutter, a skewed word whose
bounds reach into it) crosses it. Word gaps wider than ``WIDE_GUTTER_FRACTION`` times
the median box height split a line into two lines (same order), and word gaps
aligned across several lines in a table-like layout wider than
``MIN_GUTTER_FRACTION`` times it are read as columns. Curved text and vertical
scripts are not handled; side notes are read after the column they sit beside.
Direction is judged per line and per page, not per paragraph, so on a mixed page an
English column beside Arabic ones is read in the Arabic page's column order.

The module depends only on :mod:`core.page.direction`, :mod:`core.page.skew` and
:mod:`core.plugins.types`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np

from core.page.direction import is_rtl, rtl_order
from core.page.skew import (
    MIN_BAND_FRACTION,
    Bounds,
    Geometry,
    box_geometry,
    estimate_skew,
    skew_angle,
    text_bands,
)
from core.plugins.types import ImageTextBox

__all__ = ["estimate_skew", "join_ordered", "order_boxes", "reading_order"]

#: A box joins a line when the vertical overlap is at least this fraction of the
#: smaller of the two heights.
MIN_OVERLAP_FRACTION = 0.5

#: A vertical gutter must be wider than this many median box heights.
MIN_GUTTER_FRACTION = 1.0

#: A gutter wider than this many median box heights is accepted even when one side
#: has a single line (word spacing is well below a box height).
WIDE_GUTTER_FRACTION = 1.5

#: Below ``WIDE_GUTTER_FRACTION``, each side of a gutter must hold this many lines.
MIN_COLUMN_LINES = 2

_Item = tuple[ImageTextBox, Bounds]


def _deskewed_bounds(geometry: Geometry, angle: float) -> list[Bounds]:
    """Each box's bounds in the frame of the page turned back by ``angle`` degrees.

    The frame is turned about the centre of all the boxes. Around its turned centre,
    a box gets the text band it encloses (:func:`core.page.skew.text_bands`), kept within the
    bounds of the turned box and at least ``MIN_BAND_FRACTION`` of the page's median
    band height; a box at a steep angle to the lines keeps its turned bounds.
    """
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    flat = geometry.corners.reshape(-1, 2)
    pivot = (flat.min(axis=0) + flat.max(axis=0)) / 2

    def turn(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = points[..., 0] - pivot[0], points[..., 1] - pivot[1]
        return pivot[0] + dx * cos - dy * sin, pivot[1] + dx * sin + dy * cos

    centre_x, centre_y = turn(geometry.centres)
    corner_x, corner_y = turn(geometry.corners)
    outer_w = corner_x.max(axis=1) - corner_x.min(axis=1)
    outer_h = corner_y.max(axis=1) - corner_y.min(axis=1)

    band_w, band_h, usable = text_bands(geometry, theta)
    typical = float(np.median(np.maximum(band_h[usable], 1.0))) if usable.any() else 1.0
    floor_h = np.minimum(MIN_BAND_FRACTION * typical, outer_h)
    band_w = np.where(usable, np.clip(band_w, np.minimum(1.0, outer_w), outer_w), outer_w)
    band_h = np.where(usable, np.clip(band_h, floor_h, outer_h), outer_h)
    # A box at a steep angle to the lines keeps its turned bounds, centred on them.
    centre_x = np.where(usable, centre_x, (corner_x.max(axis=1) + corner_x.min(axis=1)) / 2)
    centre_y = np.where(usable, centre_y, (corner_y.max(axis=1) + corner_y.min(axis=1)) / 2)
    return [
        (float(x - w / 2), float(y - h / 2), float(x + w / 2), float(y + h / 2))
        for x, y, w, h in zip(centre_x, centre_y, band_w, band_h, strict=True)
    ]


@dataclass
class _Line:
    """A line being built: its vertical extent (pixels) and member boxes."""

    top: float
    bottom: float
    members: list[_Item] = field(default_factory=list)

    def overlap(self, top: float, bottom: float) -> float:
        """Vertical overlap in pixels with ``[top, bottom]``; negative for a gap."""
        return min(self.bottom, bottom) - max(self.top, top)

    def add(self, box: ImageTextBox, bounds: Bounds) -> None:
        _, top, _, bottom = bounds
        self.top = min(self.top, top)
        self.bottom = max(self.bottom, bottom)
        self.members.append((box, bounds))

    def mean_centre_y(self) -> float:
        return sum((b[1] + b[3]) / 2 for _, b in self.members) / len(self.members)


def _in_line_order(members: list[_Item]) -> list[_Item]:
    """A line's boxes left to right, or in right-to-left reading order for RTL text."""
    ordered = sorted(members, key=lambda item: (item[1][0], item[1][1]))
    texts = [box.text for box, _ in ordered]
    if not is_rtl(" ".join(texts)):
        return ordered
    return [ordered[i] for i in rtl_order(texts)]


def _cluster_lines(items: list[_Item]) -> list[list[_Item]]:
    """Stage 2: group measured boxes into lines, top to bottom, each in reading order."""
    # By vertical centre; ties broken by left then top edge (sorted() is stable,
    # so identical boxes keep their input order).
    measured = sorted(
        items, key=lambda item: ((item[1][1] + item[1][3]) / 2, item[1][0], item[1][1])
    )

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
    return [_in_line_order(line.members) for line in lines]


def _gaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """White gaps ``(start, end)`` of a projection, given the ``(lo, hi)`` spans covering it."""
    ordered = sorted(spans)
    gaps = []
    reach = ordered[0][1]
    for lo, hi in ordered[1:]:
        if lo > reach:
            gaps.append((reach, lo))
        reach = max(reach, hi)
    return gaps


def _bands(items: list[_Item]) -> list[list[_Item]]:
    """Split at the white gaps of the y projection: bands top to bottom."""
    ordered = sorted(items, key=lambda item: (item[1][1], item[1][3]))
    bands = [[ordered[0]]]
    reach = ordered[0][1][3]
    for item in ordered[1:]:
        if item[1][1] > reach:
            bands.append([item])
        else:
            bands[-1].append(item)
        reach = max(reach, item[1][3])
    return bands


def _has_lines(items: list[_Item], count: int) -> bool:
    """Whether the boxes form at least ``count`` lines."""
    if len(items) < count:
        return False
    # No line straddles a band gap, so enough bands means enough lines; bands are cheaper.
    return len(_bands(items)) >= count or len(_cluster_lines(items)) >= count


def _vertical_cut(items: list[_Item], unit: float) -> tuple[list[_Item], list[_Item]] | None:
    """The boxes left and right of the widest acceptable gutter, or None (see stage 1)."""
    gaps = _gaps([(bounds[0], bounds[2]) for _, bounds in items])
    for lo, hi in sorted(gaps, key=lambda gap: gap[1] - gap[0], reverse=True):
        width = hi - lo
        if width <= MIN_GUTTER_FRACTION * unit:
            break
        left = [item for item in items if item[1][2] <= lo]
        right = [item for item in items if item[1][0] >= hi]
        if width > WIDE_GUTTER_FRACTION * unit or (
            _has_lines(left, MIN_COLUMN_LINES) and _has_lines(right, MIN_COLUMN_LINES)
        ):
            return left, right
    return None


def _merge_bands(bands: list[list[_Item]], unit: float) -> list[list[_Item]]:
    """Greedily re-join consecutive bands while their union still has a gutter."""
    runs: list[list[_Item]] = []
    current = bands[0]
    for band in bands[1:]:
        joined = current + band
        if _vertical_cut(joined, unit) is not None:
            current = joined
        else:
            runs.append(current)
            current = band
    runs.append(current)
    return runs


def _xy_cut(items: list[_Item], unit: float, rtl: bool = False) -> list[list[_Item]]:
    """Stage 1: the leaf regions of the recursive XY-cut, in reading order.

    ``rtl``: the page reads right to left, so the right side of a gutter comes first.
    """
    if len(items) < 2:
        return [items]
    cut = _vertical_cut(items, unit)
    if cut is not None:
        first, second = cut[::-1] if rtl else cut
        return _xy_cut(first, unit, rtl) + _xy_cut(second, unit, rtl)
    bands = _bands(items)
    if len(bands) == 1:
        return [items]
    # Every run is smaller than ``items`` (their union has no gutter), so this ends.
    return [leaf for run in _merge_bands(bands, unit) for leaf in _xy_cut(run, unit, rtl)]


def order_boxes(boxes: list[ImageTextBox]) -> list[list[ImageTextBox]]:
    """Group text boxes into lines and put them in reading order.

    The page's skew is estimated first (:func:`estimate_skew`, a projection profile)
    and the boxes are ordered in the frame of the page turned back by it. Columns are
    found by a recursive XY-cut (Nagy and Seth, 1984) and read left to right (right
    to left on a page of mostly right-to-left text); inside each column, boxes whose
    vertical extents overlap by at least half of the smaller height form a line,
    lines are ordered top to bottom by mean vertical centre and boxes within a line
    left to right by their left edge, or right to left in a line of mostly
    right-to-left text (:mod:`core.page.direction`; details and limitations in the
    module docstring). An unskewed page (angle 0) is ordered on the boxes' own
    axis-aligned bounds.

    Args:
        boxes: Text boxes in any order; coordinates in pixels, origin top-left.

    Returns:
        The lines in reading order (a column's lines top to bottom before the next
        column's), each a non-empty list of boxes in reading order: the input boxes
        themselves, coordinates unchanged. An empty input gives an empty list. The
        input list is not modified.
    """
    if not boxes:
        return []
    geometry = box_geometry(boxes)
    angle = skew_angle(geometry)
    if angle == 0.0:
        extents: list[Bounds] = [box.coordinates.bounds() for box in boxes]
    else:
        extents = _deskewed_bounds(geometry, angle)
    measured = list(zip(boxes, extents, strict=True))
    # One scale for the whole page, so a narrow column is judged like a wide one;
    # at least 1 pixel so degenerate zero-height boxes still need a real gap.
    unit = max(1.0, statistics.median(bounds[3] - bounds[1] for _, bounds in measured))
    rtl = is_rtl(" ".join(box.text for box in boxes))
    return [
        [box for box, _ in line]
        for leaf in _xy_cut(measured, unit, rtl)
        for line in _cluster_lines(leaf)
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
