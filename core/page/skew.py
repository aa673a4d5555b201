"""Page skew from OCR boxes: a projection profile, and box bounds in the deskewed frame.

Coordinates are pixels, origin top-left, x to the right, y down; angles are degrees,
positive when the text lines rise to the right as seen on the image (the page is
turned counter-clockwise). Used by :mod:`core.page.layout` (its stage 0).

**A projection profile** (H. S. Baird, "The skew angle of printed
documents", Proc. SPSE 40th Annual Conference, 1987, pp. 21-24; W. Postl, "Detection
of linear oblique structures and skew scan in digitized documents", Proc. 8th Int.
Conf. on Pattern Recognition, 1986, pp. 687-689). On a photographed page turned by
2.4 degrees a 1100-px line drifts by more than a line height, so the line clustering
below, which compares vertical extents, splits printed lines and mixes neighbouring
ones. :func:`estimate_skew` finds the angle from the boxes themselves:

1. Each box is reduced to its centre, weighted by its width. Centres are used, not
   box edges, because EasyOCR returns nearly axis-aligned rectangles even on a turned
   page: the skew shows only in where the boxes sit.
2. Boxes are linked into chains, each box to the nearest box starting within
   ``MAX_LINK_GAP_FRACTION`` median box heights after it ends whose centre lies
   within ``SKEW_LIMIT`` of the horizontal from its own (a word gap, not a gutter).
   A chain is a run of words or phrases along one line.
3. For each candidate angle from ``-SKEW_LIMIT`` to ``+SKEW_LIMIT`` in
   ``SKEW_COARSE_STEP`` steps, the centres are projected across the lines (the page
   turned back by the angle) and every chain's profile is scored by Baird's energy,
   the sum of squared bin counts, with bins of ``SKEW_BIN_FRACTION`` of the median
   text height. The energy is averaged over all bin offsets, so no bin edge favours
   an angle; that average is computed exactly as a sum over the pairs of boxes in a
   chain of ``w_i * w_j * max(0, 1 - d_ij / bin)``, ``d_ij`` their distance across
   the lines. The profile is scored per chain rather than for the whole page because
   on a page of several columns whose lines sit at different heights, a slope that
   lines up one column's line with another column's next line sharpens the whole-page
   profile as much as the true angle does (measured: about 40% of unskewed synthetic
   two-column pages were given a spurious 1-2 degrees).
4. The best angle is refined in ``SKEW_FINE_STEP`` steps. Then a second pass, within
   a degree of it, links the boxes along that angle (``REFINE_LINK_SPREAD``; on a
   steep page a long phrase's nearest neighbour in the wide cone may sit on the next
   line) and uses the text height at that angle for the bin. The first pass uses the
   text height at the largest skew searched, so long axis-aligned boxes, which a skew
   makes taller than their text, do not blur the profile at the right angle.
5. An angle is kept only if its score beats the score at 0 degrees by more than
   ``MIN_SKEW_GAIN`` (relative) in both passes; otherwise, and for a page with fewer
   than ``MIN_SKEW_LINKS`` links, the angle is 0 and the page is ordered exactly as
   if this stage did not exist.

The ordering then works in the deskewed frame: every box is turned by minus the angle
about the centre of all the boxes, and stages 1 and 2 use its bounds there; the
original boxes, coordinates unchanged, are returned in that order. A box's bounds in
the deskewed frame are built around its turned centre from the text band it
encloses: a box whose own edges are at an angle ``a`` to the text (an axis-aligned
EasyOCR box on a turned page has ``a`` equal to minus the page angle) encloses a
``W`` x ``H`` band with ``w = W cos a + H sin a`` and ``h = W sin a + H cos a``;
solving for ``W`` and ``H`` undoes the extra height a long axis-aligned phrase gets
from the skew, which would otherwise make it overlap the lines above and below (the
bounds of the turned corners are taller still: on synthetic pages of 250-450 px
phrase boxes at 5 degrees they ordered none of 20 pages right, the bands all 20).
The band's height is kept at
least ``MIN_BAND_FRACTION`` of the page's median band height and at most the turned
box's bounds; a box at more than 30 degrees to the page keeps its turned bounds.
With an angle of 0 every box keeps its own axis-aligned bounds
(``Rectangle.bounds()``).

The module depends only on :mod:`core.plugins.types` and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.plugins.types import ImageTextBox

__all__ = [
    "MIN_BAND_FRACTION",
    "Bounds",
    "Geometry",
    "box_geometry",
    "estimate_skew",
    "skew_angle",
    "text_bands",
]

#: Largest page skew searched for, in degrees either way.
SKEW_LIMIT = 6.0

#: Step of the coarse search over angles, in degrees (0 is always a candidate).
SKEW_COARSE_STEP = 0.25

#: Step of the refinement around the best coarse angle, in degrees.
SKEW_FINE_STEP = 0.05

#: Bin of the projection profile, as a fraction of the median text height (the box
#: height, less what a skew adds to an axis-aligned box; see ``_bin_height``).
SKEW_BIN_FRACTION = 0.5

#: The best angle must score this much (relative) above 0 degrees to be used.
MIN_SKEW_GAIN = 0.2

#: A page with fewer neighbour links (pairs of boxes next to each other on a line)
#: than this is never deskewed: two points always fit some slope.
MIN_SKEW_LINKS = 4

#: In the deskewed frame a box's text band is at least this fraction of the page's
#: median band height (guards the un-inflation against boxes that do not enclose
#: their text as assumed).
MIN_BAND_FRACTION = 0.5

#: Two boxes are neighbours on a line when the white gap between them is at most this
#: many median box heights (a word gap; a column gutter is wider, see
#: ``MIN_GUTTER_FRACTION``).
MAX_LINK_GAP_FRACTION = 1.0

#: In the second pass, boxes are linked only within this many degrees of the first
#: pass's angle (long boxes on a steep page could otherwise link to the next line).
REFINE_LINK_SPREAD = 1.0

#: Upper limit on the pairs of boxes scored, so a page of long chains stays cheap.
_MAX_PAIRS = 50_000

#: Beyond this angle between a box and the page, its turned bounds are used as they are.
_MAX_BAND_TILT = math.radians(30.0)

#: Candidate pairs compared at a time when linking neighbours (bounds memory).
_LINK_CELLS = 1 << 18

#: ``(left, top, right, bottom)`` in pixels.
Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class Geometry:
    """Box shapes as arrays: corners (n, 4, 2) in the order left-top, right-top,
    right-bottom, left-bottom; centres (n, 2); widths and heights (edge lengths, n);
    tilt (n, radians, positive when the top edge rises to the right)."""

    corners: np.ndarray
    centres: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    tilt: np.ndarray


def box_geometry(boxes: list[ImageTextBox]) -> Geometry:
    corners = np.array(
        [
            [(p.x, p.y) for p in (r.left_top, r.right_top, r.right_bottom, r.left_bottom)]
            for r in (box.coordinates for box in boxes)
        ],
        dtype=float,
    ).reshape(-1, 4, 2)
    top = corners[:, 1] - corners[:, 0]
    bottom = corners[:, 2] - corners[:, 3]
    left = corners[:, 3] - corners[:, 0]
    right = corners[:, 2] - corners[:, 1]
    along = top + bottom
    return Geometry(
        corners=corners,
        centres=corners.mean(axis=1),
        widths=(np.hypot(*top.T) + np.hypot(*bottom.T)) / 2,
        heights=(np.hypot(*left.T) + np.hypot(*right.T)) / 2,
        tilt=np.arctan2(-along[:, 1], along[:, 0]),
    )


def text_bands(
    geometry: Geometry, theta: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The text band each box encloses if the page is turned by ``theta`` (radians).

    A box whose edges are at an angle ``a`` to the text lines encloses a ``W`` x ``H``
    band with ``w = W cos a + H sin a`` and ``h = W sin a + H cos a``; this solves for
    ``W`` and ``H``. ``theta`` broadcasts against the boxes (an ``(angles, 1)`` array
    gives ``(angles, boxes)`` arrays). Returns ``(W, H, usable)``, unclamped; a box at
    more than ``_MAX_BAND_TILT`` to the lines is not usable (``W``, ``H`` are then its
    own edge lengths).
    """
    relative = geometry.tilt - theta
    relative = (relative + math.pi) % (2 * math.pi) - math.pi
    s, c = np.abs(np.sin(relative)), np.abs(np.cos(relative))
    usable = np.abs(relative) <= _MAX_BAND_TILT
    det = np.where(usable, c * c - s * s, 1.0)
    s = np.where(usable, s, 0.0)
    c = np.where(usable, c, 1.0)
    band_w = (c * geometry.widths - s * geometry.heights) / det
    band_h = (c * geometry.heights - s * geometry.widths) / det
    return band_w, band_h, usable


def _links(
    geometry: Geometry, angle: float = 0.0, spread: float = SKEW_LIMIT
) -> tuple[np.ndarray, np.ndarray]:
    """Neighbour links ``(i, j)``: box ``j`` is the nearest box right of box ``i`` that
    could be on the same line.

    ``j`` must start at most ``MAX_LINK_GAP_FRACTION`` median box heights after ``i``
    ends (overlapping it by at most half a height), and its centre must lie within
    ``spread`` degrees of the direction ``angle`` from ``i``'s centre, give or take
    half a median box height. Of several, the one with the smallest gap wins, the
    distance from that direction breaking near-ties only: weighted more, it would
    prefer a level neighbour on the next line to the real one on a steep page.
    """
    xs = geometry.corners[:, :, 0]
    left, right = xs.min(axis=1), xs.max(axis=1)
    unit = max(1.0, float(np.median(geometry.heights)))
    cx, cy = geometry.centres[:, 0], geometry.centres[:, 1]
    theta = math.radians(angle)
    slope = math.tan(math.radians(spread))
    # Candidates start within the allowed gap after a box ends: a run of the boxes
    # sorted by left edge, found by binary search, so a page is not compared n x n.
    by_left = np.argsort(left, kind="stable")
    lefts = left[by_left]
    low = np.searchsorted(lefts, right - 0.5 * unit, side="left")
    high = np.searchsorted(lefts, right + MAX_LINK_GAP_FRACTION * unit, side="right")
    width = int((high - low).max(initial=0))
    sources, targets = [], []
    rows_per_chunk = max(1, _LINK_CELLS // max(width, 1))
    for start in range(0, len(cx) if width else 0, rows_per_chunk):
        rows = np.arange(start, min(start + rows_per_chunk, len(cx)))
        slot = low[rows, None] + np.arange(width)
        valid = slot < high[rows, None]
        other = by_left[np.minimum(slot, len(cx) - 1)]
        dx = cx[other] - cx[rows, None]
        dy = cy[other] - cy[rows, None]
        off_line = np.abs(dx * math.sin(theta) + dy * math.cos(theta))
        ok = valid & (dx > 0) & (off_line <= dx * slope + 0.5 * unit)
        gap = left[other] - right[rows, None]
        cost = np.where(ok, np.maximum(gap, 0.0) + 0.1 * off_line, np.inf)
        nearest = cost.argmin(axis=1)
        found = np.isfinite(cost[np.arange(len(rows)), nearest])
        sources.append(rows[found])
        targets.append(other[np.arange(len(rows)), nearest][found])
    if not sources:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.concatenate(sources), np.concatenate(targets)


def _chains(count: int, links: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Label of each box's chain: the connected groups of the neighbour links."""
    labels = np.arange(count)
    sources, targets = links
    while True:
        lowest = np.minimum(labels[sources], labels[targets])
        updated = labels.copy()
        np.minimum.at(updated, sources, lowest)
        np.minimum.at(updated, targets, lowest)
        updated = updated[updated]  # pointer jumping: a label's own label is no larger
        if np.array_equal(updated, labels):
            return labels
        labels = updated


def _chain_pairs(geometry: Geometry, chains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)`` of boxes in the same chain (at most ``_MAX_PAIRS``)."""
    order = np.lexsort((geometry.centres[:, 0], chains))
    group = chains[order]
    firsts, seconds = [], []
    budget = _MAX_PAIRS
    # Sorted by chain, the pairs ``offset`` apart in ``order`` are the pairs of chains
    # longer than ``offset``: none at one offset means none further.
    for offset in range(1, len(order)):
        same = np.flatnonzero(group[offset:] == group[:-offset])[:budget]
        if len(same) == 0:
            break
        firsts.append(order[same])
        seconds.append(order[same + offset])
        budget -= len(same)
        if budget <= 0:
            break
    if not firsts:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    return np.concatenate(firsts), np.concatenate(seconds)


def _profile_scores(
    geometry: Geometry,
    pairs: tuple[np.ndarray, np.ndarray],
    angles: np.ndarray,
    bin_height: float,
) -> np.ndarray:
    """Baird's projection-profile energy of each chain of boxes, for each angle.

    For every angle (degrees) the box centres are projected across the lines of a
    page turned by it. Each chain's profile is the boxes' weights (widths) summed in
    bins of ``bin_height`` pixels, and its energy the sum of the squared bin sums.
    Averaged over all offsets of the bins, the energy of a profile is the sum over
    its boxes of the squared weights, plus twice the sum over pairs of boxes of the
    product of their weights times ``max(0, 1 - d / bin_height)``, with ``d`` their
    distance across the lines; that form is computed here, exactly, over the
    ``pairs`` in chains, so no bin edge or bin offset favours one angle.
    """
    first, second = pairs
    weights = np.maximum(geometry.widths, 1.0)
    weights = weights / weights.mean()
    chained = np.zeros(len(weights), dtype=bool)
    chained[first] = True
    chained[second] = True
    own = float((weights[chained] ** 2).sum())
    theta = np.radians(angles)[:, None]
    delta = geometry.centres[second] - geometry.centres[first]
    across = delta[:, 0] * np.sin(theta) + delta[:, 1] * np.cos(theta)  # (angles, pairs)
    kernel = np.maximum(0.0, 1.0 - np.abs(across) / bin_height)
    return own + 2.0 * kernel @ (weights[first] * weights[second])


def _bin_height(geometry: Geometry, theta: np.ndarray | float) -> float:
    """``SKEW_BIN_FRACTION`` of the median text-band height at ``theta`` (radians).

    With several angles (shape ``(angles, 1)``) a box's band is its tallest over them.
    Bands are kept between a quarter of the box's height and its height.
    """
    _, band_h, _ = text_bands(geometry, theta)
    band_h = np.max(np.atleast_2d(band_h), axis=0)
    band_h = np.clip(band_h, 0.25 * geometry.heights, geometry.heights)
    return max(1.0, SKEW_BIN_FRACTION * float(np.median(band_h)))


def _search_skew(
    geometry: Geometry,
    pairs: tuple[np.ndarray, np.ndarray],
    bin_height: float,
    around: float | None = None,
) -> float:
    """The angle with the sharpest profile, refined; 0.0 unless it beats 0 enough.

    The coarse grid covers ``[-SKEW_LIMIT, SKEW_LIMIT]``, or only the degree either
    side of ``around`` when given (0 is always scored, for the comparison).
    """
    steps = int(round(SKEW_LIMIT / SKEW_COARSE_STEP))
    coarse = np.arange(-steps, steps + 1) * SKEW_COARSE_STEP
    if around is not None:
        coarse = coarse[(np.abs(coarse - around) <= 1.0) | (coarse == 0.0)]
    scores = _profile_scores(geometry, pairs, coarse, bin_height)
    level = float(scores[np.flatnonzero(coarse == 0.0)[0]])
    best = coarse[int(np.argmax(scores))]
    fine_steps = int(round(SKEW_COARSE_STEP / SKEW_FINE_STEP))
    fine = best + np.arange(-fine_steps, fine_steps + 1) * SKEW_FINE_STEP
    fine = fine[np.abs(fine) <= SKEW_LIMIT + 1e-9]
    fine_scores = _profile_scores(geometry, pairs, fine, bin_height)
    index = int(np.argmax(fine_scores))
    if fine_scores[index] <= (1.0 + MIN_SKEW_GAIN) * level:
        return 0.0
    return float(fine[index])


def skew_angle(geometry: Geometry) -> float:
    count = len(geometry.centres)
    # Pass 1 over the whole range, with the text height the boxes would have at the
    # largest skew searched: long axis-aligned boxes on a turned page are taller than
    # their text, and a bin that wide would blur the lines together.
    links = _links(geometry)
    if len(links[0]) < MIN_SKEW_LINKS:
        return 0.0
    limit = math.radians(SKEW_LIMIT)
    pairs = _chain_pairs(geometry, _chains(count, links))
    first = _search_skew(geometry, pairs, _bin_height(geometry, np.array([[-limit], [limit]])))
    if first == 0.0:
        return 0.0
    # Pass 2 within a degree of that angle: boxes linked along it, and the text height
    # at it (half the median box height for boxes that fit their text).
    links = _links(geometry, angle=first, spread=REFINE_LINK_SPREAD)
    if len(links[0]) < MIN_SKEW_LINKS:
        return 0.0
    pairs = _chain_pairs(geometry, _chains(count, links))
    bin_height = _bin_height(geometry, math.radians(first))
    return round(_search_skew(geometry, pairs, bin_height, around=first), 2)


def estimate_skew(boxes: list[ImageTextBox]) -> float:
    """Estimate the page's skew from where its text boxes sit (projection profile).

    Boxes next to each other are linked into chains along the lines; for angles from
    -6 to +6 degrees the box centres, weighted by box width, are projected across the
    lines, and the angle whose chains' profiles are sharpest (Baird's energy, the sum
    of squared bin counts, with bins of half the median text height) wins, refined to
    0.05 degrees. Details and limits are in the module docstring. A few hundred boxes
    take a few milliseconds.

    Args:
        boxes: Text boxes in any order; coordinates in pixels, origin top-left.

    Returns:
        The angle in degrees, positive when the text lines rise to the right on the
        image (the page is turned counter-clockwise), rounded to 0.01. 0.0 for a page
        with fewer than ``MIN_SKEW_LINKS`` links between neighbouring boxes, or when
        no angle beats 0 by ``MIN_SKEW_GAIN``.
    """
    if not boxes:
        return 0.0
    return skew_angle(box_geometry(boxes))
