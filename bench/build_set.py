"""Build the reading-assessment benchmark set, or the small API-test fixture.

For every passage in ``bench/passages.json`` one item is made: the reference text with
0–3 planted miscues, the *spoken* text read by a real TTS engine (espeak-ng and
festival in turn, several voices) into a mono 16 kHz mp3, and a page image of the
*reference* text (fonts in rotation, some words hyphenated at line ends, about half
of the pages photo-distorted). Ground truth goes to ``manifest.json``.

Usage (from the repository root)::

    python -m bench.build_set --out bench/data --seed 7 [--limit N] [--jobs 2]
    python -m bench.build_set --fixture tests/data/miscue

Units: durations and times are seconds, rates are words per minute, image sizes px.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.miscues import (
    MISCUE_TYPES,
    OMISSION,
    SUBSTITUTION,
    Miscue,
    apply,
    plan_kinds,
    plant,
    words_not_read,
)
from bench.pages import (
    FONT_FAMILIES,
    NO_DISTORTIONS,
    distort,
    render_hyphenated,
    render_page,
    save_png,
)
from bench.tts import ESPEAK, FESTIVAL, Voice, speech_bounds, synthesize_mp3

PASSAGES = Path(__file__).with_name("passages.json")

#: Voices in rotation, per engine. Items alternate engines (even: espeak-ng, odd:
#: festival) and each engine cycles through its own voices. "en-us+f2" replaced
#: "en-us+f3": Whisper tiny.en's WER on the same 24 espeak texts was 0.14 vs 0.20.
ESPEAK_VOICES = ("en-us", "en-gb", "en-us+f2")
ESPEAK_RATES_WPM = (140, 150, 160)
FESTIVAL_VOICES = ("kal_diphone", "cmu_us_slt_arctic_hts")
FONT_NAMES = tuple(FONT_FAMILIES)
FONT_SIZES_PX = (28, 36)
MARGIN_RANGE_PX = (60, 100)
#: Fractions of the set: pages with hyphenated line ends, photo-distorted pages.
HYPHENATED_FRACTION = 1 / 3
DISTORTED_FRACTION = 1 / 2
#: Silence added before and after the speech, seconds (uniform in this range).
PAD_RANGE_S = (0.3, 0.8)

FIXTURE_REFERENCE = (
    "The little brown dog ran across the green field to find his red ball under the big tree."
)
FIXTURE_MISCUES = (
    Miscue(SUBSTITUTION, 2, 3, "brown", "black"),
    Miscue(OMISSION, 7, 8, "green", ""),
)
FIXTURE_VOICE = Voice(ESPEAK, "en-us", 140)
FIXTURE_FONT, FIXTURE_FONT_SIZE = "DejaVuSans", 40
FIXTURE_PAD_S = 0.3


@dataclass(frozen=True)
class ItemPlan:
    """Everything decided up front for one item (set-level choices and the seed)."""

    position: int
    passage: int
    reference: str
    kinds: tuple[str, ...]
    voice: Voice
    font: str
    hyphenate: bool
    distorted: bool


def load_passages(path: Path = PASSAGES) -> tuple[str, list[dict[str, object]]]:
    """The source citation and the passages from ``passages.json``."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["source"], doc["passages"]


def plan_items(passages: Sequence[dict[str, object]], seed: int) -> list[ItemPlan]:
    """Decide miscue kinds, voice, font, hyphenation and distortion for every passage.

    Made for the whole set before any ``--limit``, so a limited build is a prefix of
    the full one with the same ground truth.
    """
    rng = random.Random(seed)
    n = len(passages)
    kinds = plan_kinds(n, rng)
    hyphenated = set(rng.sample(range(n), round(HYPHENATED_FRACTION * n)))
    distorted = set(rng.sample(range(n), round(DISTORTED_FRACTION * n)))
    plans = []
    for k, passage in enumerate(passages):
        if k % 2 == 0:
            name = ESPEAK_VOICES[(k // 2) % len(ESPEAK_VOICES)]
            voice = Voice(ESPEAK, name, rng.choice(ESPEAK_RATES_WPM))
        else:
            voice = Voice(FESTIVAL, FESTIVAL_VOICES[(k // 2) % len(FESTIVAL_VOICES)])
        plans.append(
            ItemPlan(
                position=k,
                passage=int(passage["id"]),
                reference=str(passage["text"]),
                kinds=tuple(kinds[k]),
                voice=voice,
                font=FONT_NAMES[k % len(FONT_NAMES)],
                hyphenate=k in hyphenated,
                distorted=k in distorted,
            )
        )
    return plans


def build_item(plan: ItemPlan, out: Path, seed: int) -> dict[str, Any]:
    """Make one item's audio and page and return its manifest record."""
    rng = random.Random(f"{seed}-{plan.passage}")
    item_id = f"p{plan.passage:02d}"
    miscues = plant(plan.reference, plan.kinds, rng)
    spoken = apply(plan.reference, miscues)

    audio_rel = f"audio/{item_id}.mp3"
    lead, tail = (round(rng.uniform(*PAD_RANGE_S), 2) for _ in range(2))
    synthesize_mp3(spoken, plan.voice, out / audio_rel, lead_s=lead, tail_s=tail)
    bounds = speech_bounds(out / audio_rel)
    words_read = len(plan.reference.split()) - words_not_read(miscues)
    speech_min = (bounds.speech_end - bounds.speech_start) / 60

    font_size, margin = rng.randint(*FONT_SIZES_PX), rng.randint(*MARGIN_RANGE_PX)
    if plan.hyphenate:
        page = render_hyphenated(plan.reference, plan.font, font_size, margin, rng.choice((1, 2)))
    else:
        page = render_page(plan.reference, plan.font, font_size, margin=margin)
    image = page.image
    record = dict(NO_DISTORTIONS)
    if plan.distorted:
        image, record = distort(image, rng)
    image_rel = f"images/{item_id}.png"
    save_png(image, out / image_rel)

    return {
        "id": item_id,
        "passage": plan.passage,
        "reference": plan.reference,
        "spoken": spoken,
        "miscues": [m.as_dict() for m in miscues],
        "clean": not miscues,
        "audio": audio_rel,
        "tts": plan.voice.as_dict(),
        "duration_s": bounds.duration_s,
        "speech_start": bounds.speech_start,
        "speech_end": bounds.speech_end,
        "true_wcpm": round(words_read / speech_min, 1),
        "image": image_rel,
        "image_size": list(image.size),
        "font": page.font,
        "font_size_px": page.font_size,
        "margin_px": page.margin,
        "hyphenated": page.hyphenated,
        "distortions": record,
    }


def is_distorted(record: dict[str, Any]) -> bool:
    """Whether a manifest ``distortions`` record has any distortion applied."""
    return any(value not in (None, False) for value in record.values())


def summarize(items: Sequence[dict[str, Any]], seconds: float) -> str:
    """A short human-readable summary of a built set."""
    kinds = Counter(m["type"] for item in items for m in item["miscues"])
    voices = Counter(f"{i['tts']['engine']}/{i['tts']['voice']}" for i in items)
    audio_s = sum(item["duration_s"] for item in items)
    return "\n".join(
        [
            f"items: {len(items)} ({sum(1 for i in items if i['clean'])} clean)",
            "miscues: "
            + ", ".join(f"{k} {kinds[k]}" for k in MISCUE_TYPES)
            + f" (total {sum(kinds.values())})",
            "voices: " + ", ".join(f"{v} x{n}" for v, n in sorted(voices.items())),
            f"pages: {sum(1 for i in items if i['hyphenated'])} hyphenated, "
            f"{sum(1 for i in items if is_distorted(i['distortions']))} distorted, "
            f"fonts {dict(sorted(Counter(i['font'] for i in items).items()))}",
            f"audio: {audio_s:.1f} s in total",
            f"build time: {seconds:.1f} s",
        ]
    )


def build_set(out: Path, seed: int, limit: int | None, jobs: int) -> str:
    """Build the set into ``out`` and return the summary text."""
    started = time.monotonic()
    source, passages = load_passages()
    plans = plan_items(passages, seed)[:limit]
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        items = list(pool.map(lambda p: build_item(p, out, seed), plans))
    manifest = {"seed": seed, "source": source, "items": items}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return summarize(items, time.monotonic() - started)


def build_fixture(stem: Path) -> str:
    """Write ``STEM.mp3``, ``STEM.png`` and ``STEM.json``: a one-sentence API test case.

    The recording is ``FIXTURE_REFERENCE`` read by espeak-ng with one substitution and
    one omission; the page is the reference, clean, in DejaVu Sans 40 px; the JSON has
    the ground truth and each reference token's pixel box on the page.
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    spoken = apply(FIXTURE_REFERENCE, FIXTURE_MISCUES)
    mp3, png, meta = (stem.with_suffix(s) for s in (".mp3", ".png", ".json"))
    synthesize_mp3(spoken, FIXTURE_VOICE, mp3, lead_s=FIXTURE_PAD_S, tail_s=FIXTURE_PAD_S)
    bounds = speech_bounds(mp3)
    page = render_page(
        FIXTURE_REFERENCE, FIXTURE_FONT, FIXTURE_FONT_SIZE, margin=60, ligatures=False
    )
    save_png(page.image, png)
    doc = {
        "description": "One sentence read by espeak-ng with one planted substitution and "
        "one omission; the page shows the reference text. Made by "
        "`python -m bench.build_set --fixture " + str(stem) + "`.",
        "reference": FIXTURE_REFERENCE,
        "spoken": spoken,
        "miscues": [m.as_dict() for m in FIXTURE_MISCUES],
        "audio": mp3.name,
        "tts": FIXTURE_VOICE.as_dict(),
        "duration_s": bounds.duration_s,
        "speech_start": bounds.speech_start,
        "speech_end": bounds.speech_end,
        "image": png.name,
        "image_size": list(page.image.size),
        "font": page.font,
        "font_size_px": page.font_size,
        "words": [{"word": b.word, "box": b.box} for b in page.boxes],
    }
    meta.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return (
        f"wrote {mp3} ({mp3.stat().st_size} B, {bounds.duration_s} s), "
        f"{png} ({png.stat().st_size} B, {page.image.size[0]}x{page.image.size[1]}), {meta}\n"
        f"spoken: {spoken}"
    )


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Build the reading-assessment benchmark.")
    parser.add_argument("--out", type=Path, default=Path("bench/data"), help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--limit", type=int, help="build only the first N items")
    parser.add_argument("--jobs", type=int, default=2, help="items built in parallel")
    parser.add_argument(
        "--fixture",
        type=Path,
        metavar="STEM",
        help="instead, write the API-test fixture STEM.mp3/.png/.json (e.g. tests/data/miscue)",
    )
    args = parser.parse_args(argv)
    if args.fixture is not None:
        print(build_fixture(args.fixture))
    else:
        print(build_set(args.out, args.seed, args.limit, args.jobs))


if __name__ == "__main__":
    main()
