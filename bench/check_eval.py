"""Score the reading check's stages in-process, on one split of the benchmark.

    python -m bench.check_eval --manifest /tmp/bset/manifest.json --split dev \\
        --cache /tmp/check_cache.pkl

Runs the bundled Whisper plugin through ``core.plugins.host.PluginRunner`` on every
item (audio ↔ text: the item's reference is the page), once, and scores the same
transcript four ways, with the code the task runner uses:

* ``transcript``: today's assessment of the primed transcript alone;
* ``verified``: the transcript's miscues checked against the audio, nothing proposed;
* ``checked``: plus the proposed candidates (the default reading check);
* ``checked, no loop guard``: the same without dropping decoder loops first.

The model's teacher-forced scores are cached (``--cache``) by item, window and
reading, so options can be re-tried without running the model again. This is for
tuning on the dev split; the figures of record come from the HTTP benchmark
(``bench/run_benchmark.py``), which runs the service itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.score import Counts, ItemCounts, Located, bootstrap, figures, match
from bench.split import split_items
from core.plugins.host import PluginRunner
from core.plugins.scoring import WordPrediction, scoring_words
from core.reading.assess import assess, heard_words, reference_words
from core.reading.candidates import TRANSCRIPT
from core.reading.checked import apply_evidence, checked_heard
from core.reading.verify import ScoredReading, VerifyOptions, decide, score_reading


class CachingScorer:
    """Wraps a plugin's ``ReadingScorer``; remembers every answer by key."""

    def __init__(self, make: Any, cache: dict, item: str) -> None:
        self._make, self._cache, self._item = make, cache, item
        self._real: Any = None
        self.duration = cache.get((item, "duration"))
        if self.duration is None:
            self.duration = self._scorer().duration
            cache[(item, "duration")] = self.duration

    def _scorer(self) -> Any:
        if self._real is None:
            self._real = self._make()
        return self._real

    def window(self, start: float, end: float) -> CachingWindow:
        return CachingWindow(self, (self._item, round(start, 3), round(end, 3)))


class CachingWindow:
    def __init__(self, owner: CachingScorer, key: tuple) -> None:
        self._owner, self._key = owner, key
        self._real: Any = None
        self._words: tuple[str, ...] = ()

    def _window(self) -> Any:
        if self._real is None:
            self._real = self._owner._scorer().window(self._key[1], self._key[2])
            self._real.page(list(self._words))
        return self._real

    def page(self, words: Sequence[str], top_k: int = 10) -> list[WordPrediction]:
        self._words = tuple(words)
        key = (*self._key, "page", self._words, top_k)
        cache = self._owner._cache
        if key not in cache:
            cache[key] = self._window().page(list(words), top_k)
        return cache[key]

    def first_token_log_probs(self, index: int, words: Sequence[str]) -> list[float | None]:
        cache = self._owner._cache
        missing = [w for w in words if (*self._key, "first", self._words, index, w) not in cache]
        if missing:
            for w, lp in zip(missing, self._window().first_token_log_probs(index, missing),
                             strict=True):
                cache[(*self._key, "first", self._words, index, w)] = lp
        return [cache[(*self._key, "first", self._words, index, w)] for w in words]

    def log_likelihoods(self, readings, from_word, final=None) -> list[float]:
        cache = self._owner._cache
        final = list(final) if final is not None else [False] * len(readings)
        keys = [(*self._key, "ll", tuple(r), f, e) for r, f, e in zip(readings, from_word, final,
                                                                     strict=True)]
        todo = [i for i, k in enumerate(keys) if k not in cache]
        if todo:
            got = self._window().log_likelihoods(
                [readings[i] for i in todo], [from_word[i] for i in todo], [final[i] for i in todo]
            )
            for i, value in zip(todo, got, strict=True):
                cache[keys[i]] = value
        return [cache[k] for k in keys]


def located(miscues) -> list[dict]:
    return [
        {"type": m.type, "start": m.ref_start, "end": m.ref_end, "confidence": m.confidence,
         "margin": m.evidence.log_likelihood_margin if m.evidence else None}
        for m in miscues
    ]


def transcript_only(scored: ScoredReading) -> ScoredReading:
    """The same scores with only the transcript's candidates (nothing proposed)."""
    return dataclasses.replace(scored, scored=[
        [(m, c) for m, c in pairs if c.source == TRANSCRIPT] for pairs in scored.scored
    ])


def evaluate(items: list[dict], root: Path, runner: PluginRunner, cache: dict,
             options: dict[str, VerifyOptions], memo: dict | None = None,
             scoring: VerifyOptions | None = None, language: str = "en") -> dict[str, Any]:
    """Per stage: overall counts, per-item results. ``memo`` keeps each item's scored
    candidates between calls (options that change only the decision reuse them).
    ``language`` (ISO 639-1) is passed to the model and the assessment, as the task
    runner and the model host do for a comparison in that language."""
    told = {} if language == "en" else {"language": language}
    memo = {} if memo is None else memo
    scoring = scoring or next(iter(options.values()))
    rows: dict[str, Any] = {name: {"counts": Counts(), "items": []} for name in
                            ["transcript", *options]}
    for item in items:
        ref = item["reference"]
        words = reference_words(ref)
        key = (item["id"], "transcript")
        if key not in cache:
            started = time.perf_counter()
            raw = runner._impl.process_audio(
                str(root / item["audio"]), reference_text=ref, **told
            )
            asr_s = time.perf_counter() - started
            result = runner._normalise(raw, str(root / item["audio"]))
            started = time.perf_counter()
            result = result.model_copy(update={"language": language})
            runner.check_reading(str(root / item["audio"]), ref, result)
            cache[key] = result
            cache[(item["id"], "seconds")] = (asr_s, time.perf_counter() - started)
        result = cache[key]
        heard = heard_words(result.segments)
        duration = cache.get((item["id"], "duration")) or item["duration_s"]
        truth = [Located(m["type"], m["ref_start"], m["ref_end"]) for m in item["miscues"]]
        base = assess(ref, words, heard, duration, language=language).miscues
        _add(rows["transcript"], item, located(base), truth, None)
        if item["id"] not in memo:
            scorer = CachingScorer(
                lambda item=item: runner._impl.reading_scorer(str(root / item["audio"]), **told),
                cache, item["id"],
            )
            memo[item["id"]] = score_reading(
                scoring_words(ref, language), heard, scorer, scoring, language=language
            )
        for name, opts in options.items():
            scored = memo[item["id"]]
            checked = decide(scored if opts.propose else transcript_only(scored), opts)
            heard2 = checked_heard(ref.split(), heard, checked, duration, language=language)
            miscues = assess(ref, words, heard2, duration, language=language).miscues
            apply_evidence(miscues, checked)
            _add(rows[name], item, located(miscues), truth, checked)
    return rows


def _add(row, item, predicted, truth, checked) -> None:
    counts = match([Located(p["type"], p["start"], p["end"]) for p in predicted], truth)
    row["counts"].add(counts)
    row["items"].append({
        "id": item["id"], "clean": item["clean"],
        "predicted": predicted,
        "truth": [t.__dict__ for t in truth],
        "edits": [e.model_dump() for e in checked.edits] if checked else None,
        "rejected": [e.model_dump() for e in checked.rejected] if checked else None,
    })


def item_counts(row) -> list[ItemCounts]:
    return [
        ItemCounts(match([Located(p["type"], p["start"], p["end"]) for p in i["predicted"]],
                         [Located(**t) for t in i["truth"]]), i["clean"])
        for i in row["items"]
    ]


def summary(row) -> str:
    """One line: the figures with 95 % bootstrap intervals (items resampled)."""
    items = item_counts(row)
    point, interval = figures(items), bootstrap(items)

    def fig(name: str, digits: int = 3) -> str:
        low_high = interval.get(name)
        span = f" [{low_high[0]:.{digits}f}, {low_high[1]:.{digits}f}]" if low_high else ""
        return f"{point[name]:.{digits}f}{span}"

    per = " / ".join(f"{point[f'{k}.f1']:.2f}" for k in ("substitution", "omission", "insertion"))
    return (f"P {fig('precision')} R {fig('recall')} F1 {fig('f1')} | sub/omi/ins F1 {per} | "
            f"false/clean {fig('false_errors_per_clean', 2)} | exact {fig('exactly_right', 2)}")


def reliability(row, bins: int = 5) -> tuple[list[tuple[float, float, float, int]], float]:
    """Reliability of the reported ``confidence``: per bin of confidence, (low, mean
    confidence, fraction real, count), and the expected calibration error (ECE)."""
    pairs = []
    for item in row["items"]:
        truth = [Located(**t) for t in item["truth"]]
        for p in item["predicted"]:
            real = match([Located(p["type"], p["start"], p["end"])], truth).fp[p["type"]] == 0
            pairs.append((float(p["confidence"]), int(real)))
    table, ece = [], 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = [(c, y) for c, y in pairs if low <= c < high or (b == bins - 1 and c == 1.0)]
        if not inside:
            continue
        mean_c = sum(c for c, _ in inside) / len(inside)
        real = sum(y for _, y in inside) / len(inside)
        table.append((low, mean_c, real, len(inside)))
        ece += len(inside) / len(pairs) * abs(mean_c - real)
    return table, ece


def _exact(item) -> bool:
    counts = match([Located(p["type"], p["start"], p["end"]) for p in item["predicted"]],
                   [Located(**t) for t in item["truth"]])
    return sum(counts.fp.values()) == 0 and sum(counts.fn.values()) == 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, nargs="+", required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/check_cache.pkl"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--options", default="{}", help="JSON VerifyOptions overrides")
    parser.add_argument("--language", default="en", help="ISO 639-1 code of the set")
    parser.add_argument("--plugin-options", default='{"compute_type": "int8"}',
                        help='JSON whisper plugin options, e.g. {"weights": "base", ...}')
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    cache = pickle.loads(args.cache.read_bytes()) if args.cache.exists() else {}
    runner = PluginRunner("whisper", json.loads(args.plugin_options))
    overrides = json.loads(args.options)
    base = dataclasses.replace(VerifyOptions(), **overrides)
    options = {
        "verified": dataclasses.replace(base, propose=False),
        "checked": base,
    }
    started = time.perf_counter()
    all_rows = {}
    for manifest in args.manifest:
        doc = json.loads(manifest.read_text())
        items = split_items(doc["items"], args.split.split(","))
        if args.limit:
            items = items[: args.limit]
        for item in items:
            item["id"] = f"{manifest.parent.name}/{item['id']}"
        rows = evaluate(items, manifest.parent, runner, cache, options, scoring=base,
                        language=args.language)
        for name, row in rows.items():
            merged = all_rows.setdefault(name, {"counts": Counts(), "items": []})
            merged["counts"].add(row["counts"])
            merged["items"] += row["items"]
        args.cache.write_bytes(pickle.dumps(cache))
    for name, row in all_rows.items():
        print(f"{name:12s} n={len(row['items'])} {summary(row)}")
        table, ece = reliability(row)
        print("    confidence bins (low, mean conf., fraction real, n): "
              + "; ".join(f"{lo:.1f}: {c:.2f} {r:.2f} {n}" for lo, c, r, n in table)
              + f" | ECE {ece:.3f}")
    seconds = [cache[k] for k in cache if len(k) == 2 and k[1] == "seconds"]
    if seconds:
        asr = sum(s[0] for s in seconds)
        check = sum(s[1] for s in seconds)
        print(f"model time over {len(seconds)} cached items: ASR {asr:.1f} s, "
              f"reading check {check:.1f} s ({check / asr:.2f}x the ASR)")
    print(f"{time.perf_counter() - started:.1f} s")
    if args.out:
        args.out.write_text(json.dumps(
            {k: v["items"] for k, v in all_rows.items()}, indent=1, default=str))


if __name__ == "__main__":
    main()
