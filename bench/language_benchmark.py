"""Score the Russian and Arabic sets in-process (no Ray): Whisper base and the reading check.

    python -m bench.language_benchmark --language ru ar --seeds 7,11 \\
        --data /tmp/bench_lang --out bench/results/issue15_languages.json

For each language the set is read from ``DATA/<lang>/manifest.json``, or built there
first (``bench.build_set --language``, UDHR passages, espeak-ng). The multilingual
Whisper base (``PluginRunner("whisper", {"weights": "base", "language": None,
"compute_type": "int8"})``, the plugin the service loads as ``whisper-base``) runs on
every item in text mode (the page's text is the reference), told the language, twice:

* **free**: no prompt (``process_audio(path, language=...)``), for the WER only;
* **primed**: the page as the prompt, then the reading check
  (``PluginRunner.check_reading``, as ``run_file`` does), timed apart.

Rows, scored with ``bench/score.py`` (P, R, F1 with 95 % bootstrap intervals over
items, F1 per type, false errors per clean reading, passages exactly right):

* ``perfect transcript``: the spoken words fed to ``assess`` (the alignment alone);
* ``free transcript alone`` / ``transcript alone``: ``assess`` on the free / primed
  transcript;
* ``+ reading check``: the primed transcript with the check's verdict applied
  (``core.reading.checked.checked_heard``, then ``assess``), as the task runner does.

WER: word edits / spoken words, on ``core.reading.normalize.spoken_form`` tokens of
the language, against the spoken text. Real-time factor (RTF): processing seconds /
audio seconds, summed over the items, wall-clock on this machine (one item at a time;
the first item is transcribed once before timing, so model warm-up is not counted).
All items are scored (nothing was tuned on these sets: no dev/test split is applied).
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.build_set import build_set
from bench.score import TYPES, ItemCounts, Located, bootstrap, figures, match
from core.plugins.host import PluginRunner
from core.reading.assess import HeardWord, assess, heard_words, reference_words
from core.reading.checked import checked_heard
from core.reading.normalize import spoken_form

ROWS = ("perfect transcript", "free transcript alone", "transcript alone", "+ reading check")
WHISPER_BASE = {"weights": "base", "language": None, "compute_type": "int8"}


def manifest_for(data: Path, language: str, seeds: Sequence[int]) -> Path:
    """``DATA/<lang>/manifest.json``, built first when missing."""
    manifest = data / language / "manifest.json"
    if not manifest.is_file():
        print(build_set(manifest.parent, list(seeds), None, 2, language=language), flush=True)
    return manifest


def transcribe(runner: PluginRunner, path: str, reference: str, language: str) -> dict[str, Any]:
    """Free and primed transcripts and the checked result of one recording, with times (s)."""
    started = time.perf_counter()
    free = runner._normalise(runner._impl.process_audio(path, language=language), path)
    free_s = time.perf_counter() - started
    started = time.perf_counter()
    raw = runner._impl.process_audio(path, reference_text=reference, language=language)
    primed = runner._normalise(raw, path)
    if primed.language is None:  # as PluginRunner.run_file
        primed = primed.model_copy(update={"language": language})
    asr_s = time.perf_counter() - started
    started = time.perf_counter()
    checked = runner.check_reading(path, reference, primed)
    check_s = time.perf_counter() - started
    return {"free": free, "primed": primed, "checked": checked,
            "free_s": free_s, "asr_s": asr_s, "check_s": check_s}


def located(miscues: Sequence[Any]) -> list[Located]:
    """Assessed miscues as reference-token spans."""
    return [Located(m.type, m.ref_start, m.ref_end) for m in miscues]


def predictions(item: dict[str, Any], run: dict[str, Any], language: str) -> dict[str, list]:
    """Each row's located miscues for one item."""
    ref, duration = item["reference"], item["duration_s"]
    words = reference_words(ref)

    def assessed(heard: Sequence[HeardWord], lengths: Sequence[int] = ()) -> list[Located]:
        return located(assess(ref, words, heard, duration, lengths, language=language).miscues)

    spoken = item["spoken"].split()
    perfect = [HeardWord(w, i * 0.4, i * 0.4 + 0.3, 1.0) for i, w in enumerate(spoken)]
    primed = run["primed"]
    heard = heard_words(primed.segments)
    lengths = [len(s.text) for s in primed.segments]
    verification = run["checked"].verification
    if verification is not None:
        checked = checked_heard(ref.split(), heard, verification, duration, language)
    else:
        checked = heard
    return {
        ROWS[0]: assessed(perfect),
        ROWS[1]: assessed(heard_words(run["free"].segments),
                          [len(s.text) for s in run["free"].segments]),
        ROWS[2]: assessed(heard, lengths),
        ROWS[3]: assessed(checked, lengths),
    }


def wer(hypothesis: str, reference: str, language: str) -> tuple[int, int]:
    """(word edits, reference words) on spoken tokens of ``language``."""
    from rapidfuzz.distance import Levenshtein

    def tokens(text: str) -> list[str]:
        return [t for w in text.split() for t in spoken_form(w, language)]

    ref = tokens(reference)
    return Levenshtein.distance(tokens(hypothesis), ref), len(ref)


def row_text(name: str, items: list[ItemCounts]) -> str:
    """One Markdown table row: P, R, F1 [95 % CI], F1 per type, false errors per clean
    reading [CI], passages exactly right [CI]."""
    point, interval = figures(items), bootstrap(items)

    def ci(key: str, digits: int, scale: float = 1.0) -> str:
        low_high = interval.get(key)
        return f" [{low_high[0] * scale:.{digits}f}, {low_high[1] * scale:.{digits}f}]" \
            if low_high else ""

    per = " / ".join(f"{point[f'{k}.f1']:.2f}" for k in TYPES)
    return (
        f"| {name} | {point['precision']:.3f} | {point['recall']:.3f} | "
        f"**{point['f1']:.3f}**{ci('f1', 3)} | {per} | "
        f"{point['false_errors_per_clean']:.2f}{ci('false_errors_per_clean', 2)} | "
        f"{point['exactly_right'] * 100:.0f} %{ci('exactly_right', 0, 100)} |"
    )


def score_language(runner: PluginRunner, manifest: Path, language: str, cache: dict,
                   limit: int | None) -> dict[str, Any]:
    """Run and score one language's set; print its table; return the report."""
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    items = doc["items"][:limit]
    root = manifest.parent
    first = str(root / items[0]["audio"])
    runner._impl.process_audio(first, reference_text=items[0]["reference"], language=language)
    counts: dict[str, list[ItemCounts]] = {name: [] for name in ROWS}
    per_item, totals = [], dict.fromkeys(("audio_s", "free_s", "asr_s", "check_s"), 0.0)
    edits = {"free": [0, 0], "primed": [0, 0]}
    for item in items:
        key = (language, str(root / item["audio"]))
        if key not in cache:
            cache[key] = transcribe(runner, key[1], item["reference"], language)
        run = cache[key]
        truth = [Located(m["type"], m["ref_start"], m["ref_end"]) for m in item["miscues"]]
        predicted = predictions(item, run, language)
        for name in ROWS:
            counts[name].append(ItemCounts(match(predicted[name], truth), item["clean"]))
        for which in edits:
            e, n = wer(run[which].text, item["spoken"], language)
            edits[which][0] += e
            edits[which][1] += n
        totals["audio_s"] += item["duration_s"]
        for k in ("free_s", "asr_s", "check_s"):
            totals[k] += run[k]
        per_item.append({
            "id": item["id"], "clean": item["clean"], "truth": [t.__dict__ for t in truth],
            "free": run["free"].text, "primed": run["primed"].text,
            "checked": run["checked"].verification is not None,
            "predicted": {n: [p.__dict__ for p in predicted[n]] for n in ROWS},
            "seconds": {k: round(run[k], 3) for k in ("free_s", "asr_s", "check_s")},
        })
    audio = totals["audio_s"]
    summary = {
        "language": language, "items": len(items),
        "miscues": sum(len(i["miscues"]) for i in items),
        "clean": sum(1 for i in items if i["clean"]),
        "checked_items": sum(1 for i in per_item if i["checked"]),
        "wer_free": edits["free"][0] / edits["free"][1],
        "wer_primed": edits["primed"][0] / edits["primed"][1],
        "audio_s": round(audio, 1),
        "rtf_free": totals["free_s"] / audio,
        "rtf_transcription": totals["asr_s"] / audio,
        "rtf_transcription_and_check": (totals["asr_s"] + totals["check_s"]) / audio,
    }
    print(f"\n### {language}: {summary['items']} readings, {summary['miscues']} planted "
          f"miscues, {summary['clean']} clean (reading check ran on "
          f"{summary['checked_items']})\n")
    print("| stage | P | R | F1 [95 % CI] | F1 sub / omi / ins | false errors per clean "
          "reading | passages exactly right |\n|---|---|---|---|---|---|---|")
    rows = {}
    for name in ROWS:
        print(row_text(name, counts[name]))
        rows[name] = {"figures": figures(counts[name]), "ci": bootstrap(counts[name])}
    print(f"\nWER free {summary['wer_free']:.3f}, primed {summary['wer_primed']:.3f}; "
          f"RTF (s per audio s, {audio:.0f} s of audio): free transcription "
          f"{summary['rtf_free']:.3f}, primed transcription {summary['rtf_transcription']:.3f}, "
          f"transcription + check {summary['rtf_transcription_and_check']:.3f}", flush=True)
    return {"summary": summary, "rows": rows, "per_item": per_item}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", nargs="+", default=["ru", "ar"], choices=["ru", "ar"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench_lang"),
                        help="sets are read from (or built into) DATA/<lang>/")
    parser.add_argument("--seeds", default="7,11", help="seeds of a set built here")
    parser.add_argument("--limit", type=int, help="score only the first N items")
    parser.add_argument("--cache", type=Path, help="pickle of transcripts, reused if present")
    parser.add_argument("--out", type=Path, help="write the report (JSON) here")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    manifests = {lang: manifest_for(args.data, lang, seeds) for lang in args.language}
    cache = pickle.loads(args.cache.read_bytes()) if args.cache and args.cache.exists() else {}
    started = time.perf_counter()
    runner = PluginRunner("whisper", dict(WHISPER_BASE), name="whisper-base")
    print(f"whisper-base loaded in {time.perf_counter() - started:.1f} s", flush=True)
    report = {"model": "whisper-base", "options": WHISPER_BASE, "languages": {}}
    for language, manifest in manifests.items():
        report["languages"][language] = score_language(
            runner, manifest, language, cache, args.limit
        )
        if args.cache:
            args.cache.write_bytes(pickle.dumps(cache))
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
