"""OCR accuracy per photo distortion, with the pixel deskew (core.page.deskew) on and off.

Runs one OCR plugin in-process through :class:`core.plugins.host.PluginRunner`, once
with ``deskew=True`` and once with ``deskew=False``, on every page image of a built
benchmark set (``python -m bench.build_set``), puts each result in reading order as
the service does (:func:`core.page.words.read_page`) and prints the character error
rate (CER, :func:`bench.score.cer`: case-folded, whitespace collapsed; edits summed
over pages, divided by the summed reference length) per distortion kind of the
manifest: rotation, uneven light, blur, JPEG, none. A page with several distortions
counts under each of them. The set draws its rotations from +-1-3 degrees and has no
pixel noise; ``--synthetic`` adds, for each undistorted page, a copy turned by 3.5 or
6 degrees either way (issue 13's photo was at about 3.5) and a copy with Gaussian
pixel noise (:data:`NOISE_SIGMA` grey levels), counted under their own kinds.

Usage (from the repository root)::

    python -m bench.build_set --out /tmp/bset_deskew --seed 7
    nice python -m bench.ocr_distortions --set /tmp/bset_deskew --plugin eng_tesseract
    nice python -m bench.ocr_distortions --set /tmp/bset_deskew --plugin en_easyocr --limit 24

Units: CER is a fraction (0.01 = 1 %), times are seconds per page (both runs of a
page on the same CPU, one after the other).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.harness import log
from bench.score import cer
from core.page.words import read_page
from core.plugins.host import PluginRunner

#: Manifest ``distortions`` field -> kind printed, in table order.
KINDS = {"rotate_deg": "rotation", "light": "uneven light", "blur": "blur", "jpeg_quality": "JPEG"}
NONE = "none"
SYNTHETIC_ROTATION = "rotation 3.5-6 (synthetic)"
SYNTHETIC_NOISE = "noise (synthetic)"
#: Angles of the synthetic rotations, degrees counter-clockwise, used in turn.
SYNTHETIC_ANGLES = (3.5, -3.5, 6.0, -6.0)
#: Standard deviation of the synthetic Gaussian pixel noise, grey levels of 255: a
#: grainy low-light phone photo (chosen here, not measured).
NOISE_SIGMA = 25.0


@dataclass
class Page:
    """One page image to read: its file, reference text and distortion kinds."""

    item: str
    image: Path
    reference: str
    kinds: tuple[str, ...]


@dataclass
class Tally:
    """Summed CER counts and times of one kind, for one setting of deskew."""

    pages: int = 0
    edits: int = 0
    length: int = 0
    seconds: float = 0.0

    def add(self, edits: int, length: int, seconds: float) -> None:
        self.pages += 1
        self.edits += edits
        self.length += length
        self.seconds += seconds

    @property
    def cer(self) -> float:
        return self.edits / self.length if self.length else 0.0


def distortion_kinds(record: dict[str, Any]) -> tuple[str, ...]:
    """The kinds of a manifest ``distortions`` record (``("none",)`` when it has none)."""
    kinds = tuple(kind for field, kind in KINDS.items() if record.get(field) not in (None, False))
    return kinds or (NONE,)


def manifest_pages(folder: Path, limit: int | None) -> list[Page]:
    """The set's pages, in manifest order, at most ``limit`` of them."""
    items = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["items"]
    return [
        Page(
            item["id"],
            folder / item["image"],
            item["reference"],
            distortion_kinds(item["distortions"]),
        )
        for item in items[:limit]
    ]


def synthetic_pages(pages: list[Page], folder: Path, seed: int) -> Iterator[Page]:
    """A turned copy and a noisy copy of every undistorted page, written to ``folder``."""
    rng = np.random.default_rng(seed)
    clean = [page for page in pages if page.kinds == (NONE,)]
    for index, page in enumerate(clean):
        with Image.open(page.image) as image:
            grey = image.convert("L")
        angle = SYNTHETIC_ANGLES[index % len(SYNTHETIC_ANGLES)]
        turned = grey.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        path = folder / f"{page.item}_rot{angle:+g}.png"
        turned.save(path)
        yield Page(page.item, path, page.reference, (SYNTHETIC_ROTATION,))
        noisy = np.asarray(grey, dtype=float) + rng.normal(0.0, NOISE_SIGMA, grey.size[::-1])
        path = folder / f"{page.item}_noise.png"
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "L").save(path)
        yield Page(page.item, path, page.reference, (SYNTHETIC_NOISE,))


def read(runner: PluginRunner, page: Page) -> tuple[int, int, float]:
    """CER counts (edits, reference length) of the page text, and the seconds taken."""
    started = time.perf_counter()
    result = runner.run_file(str(page.image))
    seconds = time.perf_counter() - started
    edits, length = cer(read_page(result)[1].text, page.reference)
    return edits, length, seconds


def run(
    plugin: str, pages: list[Page], options: dict[str, Any]
) -> tuple[dict[str, dict[bool, Tally]], list[dict[str, Any]]]:
    """Read every page with deskew off and on; tallies per kind and per-page rows."""
    runners = {on: PluginRunner(plugin, options, deskew=on) for on in (False, True)}
    tallies: dict[str, dict[bool, Tally]] = defaultdict(lambda: {False: Tally(), True: Tally()})
    rows = []
    for number, page in enumerate(pages, 1):
        row: dict[str, Any] = {"item": page.item, "image": page.image.name, "kinds": page.kinds}
        for on, runner in runners.items():
            edits, length, seconds = read(runner, page)
            for kind in page.kinds:
                tallies[kind][on].add(edits, length, seconds)
            tallies["all"][on].add(edits, length, seconds)
            row["deskew" if on else "plain"] = round(edits / length, 4)
        rows.append(row)
        log(
            f"{number}/{len(pages)} {page.image.name} {'+'.join(page.kinds)}: "
            f"CER {row['plain']:.3f} -> {row['deskew']:.3f}"
        )
    return tallies, rows


def table(plugin: str, tallies: dict[str, dict[bool, Tally]]) -> str:
    """A markdown table of CER per kind, deskew off and on."""
    order = [*KINDS.values(), NONE, SYNTHETIC_ROTATION, SYNTHETIC_NOISE, "all"]
    lines = [
        f"| {plugin}: distortion | pages | CER, deskew off | CER, deskew on | s/page off | on |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind in (kind for kind in order if kind in tallies):
        off, on = tallies[kind][False], tallies[kind][True]
        lines.append(
            f"| {kind} | {off.pages} | {off.cer:.3f} | {on.cer:.3f} | "
            f"{off.seconds / off.pages:.2f} | {on.seconds / on.pages:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, required=True, help="folder with manifest.json")
    parser.add_argument("--plugin", default="eng_tesseract", help="OCR plugin name")
    parser.add_argument("--options", default="{}", help="plugin options, JSON")
    parser.add_argument("--limit", type=int, help="only the first N items of the manifest")
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="add turned (3.5-6 deg) and noisy copies of undistorted pages",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic noise")
    parser.add_argument("--rows", type=Path, help="write per-page CERs here (JSON)")
    args = parser.parse_args(argv)

    pages = manifest_pages(args.set, args.limit)
    with tempfile.TemporaryDirectory(prefix="ocr-distortions-") as scratch:
        if args.synthetic:
            pages += list(synthetic_pages(pages, Path(scratch), args.seed))
        log(f"{len(pages)} pages, plugin {args.plugin}")
        tallies, rows = run(args.plugin, pages, json.loads(args.options))
    if args.rows:
        args.rows.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    print(table(args.plugin, tallies))


if __name__ == "__main__":
    main()
