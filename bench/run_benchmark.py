"""Score a running Follow My Reading service on the read-aloud benchmark, over HTTP.

    python -m bench.run_benchmark --url http://127.0.0.1:8000 \\
        --manifest bench/data/manifest.json --audio-models whisper,whisper_greedy \\
        --image-model en_easyocr --split test --out bench/results/run.json

For every item of the manifest (``bench/build_set.py``) and every audio model, one
audio/text comparison (the item's reference as the text) and, with ``--image-model``,
one audio/image comparison (the item's page photo) are created through the public
API, polled to completion, and scored with ``bench/score.py``. A "v1 diff" baseline
row is computed from the same transcripts with the original word diff.

``--split dev|test|all`` runs only the items of one half of the fixed passage split
(``bench/split.py``): tune on dev, report on test.

Prints one table row per (mode, model, confidence threshold), with 95 % bootstrap
intervals (``bench/score.py``) and the fraction of items exactly right, and writes
every figure, each item's counts and raw result to ``--out`` (JSON).
``bench/report.py`` turns that into Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Login
from bench.score import (
    TYPES,
    Counts,
    ItemCounts,
    Located,
    baseline_v1,
    bootstrap,
    cer,
    figures,
    locate,
    match,
    ocr_token_map,
    remap,
    wer,
)
from bench.split import DEV, TEST, split_items
from core.reading.assess import HeardWord, assess, reference_words

THRESHOLDS = (0.0, 0.3, 0.5, 0.7)
POLL_S = 0.25
SPLITS = (DEV, TEST, "all")


async def _wait_for_models(
    client: httpx.AsyncClient, audio: list[str], image: str, deadline_s: float
) -> None:
    """Poll until the service answers and lists every model needed (with a deadline)."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            listed = {
                m["name"]
                for kind in ("audio", "image")
                for m in (await client.get(f"/v1/{kind}/models")).json()["models"]
            }
            if set(audio) | ({image} if image else set()) <= listed:
                return
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the service did not list {audio} and {image!r} in {deadline_s} s")
        await asyncio.sleep(1.0)


async def _upload(client, kind: str, path: Path) -> str:
    with path.open("rb") as handle:
        r = await client.post(f"/v1/{kind}/upload", files={"upload_file": (path.name, handle)})
    r.raise_for_status()
    return r.json()["file_id"]


async def _run_task(client, mode: str, body: dict) -> tuple[dict, float]:
    """Create a comparison task, wait for it, return (result, seconds to completion)."""
    started = time.perf_counter()
    r = await client.post(f"/v1/comparison/audio/{mode}/task", json=body)
    r.raise_for_status()
    task_id = r.json()["task_id"]
    while True:
        status = (await client.get("/v1/task/status", params={"task_id": task_id})).json()
        if status["ready"]:
            break
        await asyncio.sleep(POLL_S)
    elapsed = time.perf_counter() - started
    if status["status"] != "completed":
        raise RuntimeError(f"task {task_id} failed: {status.get('error')}")
    r = await client.get(f"/v1/comparison/audio/{mode}/result", params={"task_id": task_id})
    r.raise_for_status()
    return r.json(), elapsed


def oracle_errors(reference: str, spoken: str) -> list[dict]:
    """Errors ``core.reading.assess`` finds when the transcript is exactly what was spoken."""
    heard = [HeardWord(w, i * 0.4, i * 0.4 + 0.3, 1.0) for i, w in enumerate(spoken.split())]
    assessed = assess(reference, reference_words(reference), heard, len(heard) * 0.4)
    return [
        {"type": m.type, "ref_char": m.ref_char, "expected": m.expected, "confidence": 1.0}
        for m in assessed.miscues
    ]


def _truth(item: dict) -> list[Located]:
    return [Located(m["type"], m["ref_start"], m["ref_end"]) for m in item["miscues"]]


def score_item(item: dict, mode: str, result: dict) -> dict[str, Any]:
    """Per-item figures: located predictions (service and v1 baseline), WER, CER, WCPM."""
    reference = item["reference"]
    if mode == "text":
        text, token_map = reference, None
    else:
        text = result["image"]["text"]
        token_map = ocr_token_map(text, reference)
    predicted = [locate(e, text) for e in result["errors"]]
    baseline = baseline_v1([s["text"] for s in result["audio"]["segments"]], text)
    if token_map is not None:
        n = len(reference.split())
        predicted = [remap(p, token_map, n) for p in predicted]
        baseline = [remap(b, token_map, n) for b in baseline]
    # The same assessment on a perfect transcript: what the alignment alone achieves.
    oracle = [locate(e, text) for e in oracle_errors(text, item["spoken"])]
    if token_map is not None:
        oracle = [remap(o, token_map, len(reference.split())) for o in oracle]
    word_edits, word_total = wer(result["audio"]["text"], item["spoken"])
    out = {
        "id": item["id"],
        "passage": item["passage"],
        "clean": item["clean"],
        "predicted": [p.__dict__ for p in predicted],
        "baseline": [b.__dict__ for b in baseline],
        "oracle": [o.__dict__ for o in oracle],
        "wer": [word_edits, word_total],
        "wcpm": (result.get("summary") or {}).get("wcpm"),
        "true_wcpm": item["true_wcpm"],
    }
    if mode == "image":
        out["cer"] = list(cer(text, reference))
    return out


def count_figures(per_item: Sequence[ItemCounts]) -> dict[str, Any]:
    """The counting figures of a row: P/R/F1 overall and per type, false errors per clean
    reading, fraction of items exactly right, totals, and 95 % bootstrap intervals."""
    point = figures(per_item)
    totals = Counts()
    for item in per_item:
        totals.add(item.counts)
    return {
        "precision": point["precision"],
        "recall": point["recall"],
        "f1": point["f1"],
        "false_errors_per_clean": point["false_errors_per_clean"],
        "exactly_right": point["exactly_right"],
        "per_type": {
            k: tuple(point[f"{k}.{name}"] for name in ("precision", "recall", "f1")) for k in TYPES
        },
        "tp": sum(totals.tp.values()),
        "fp": sum(totals.fp.values()),
        "fn": sum(totals.fn.values()),
        "items_exactly_right": sum(item.counts.exactly_right() for item in per_item),
        "clean_items": sum(item.clean for item in per_item),
        "ci": bootstrap(per_item),
    }


def aggregate(items: list[dict], manifest: dict[str, dict], threshold: float, key: str) -> dict:
    """Totals over items for predictions with confidence >= ``threshold``, with each
    item's counts under ``per_item`` (so a report can be cut by split later)."""
    per_item = []
    for scored in items:
        predicted = [
            Located(**p) for p in scored[key] if key != "predicted" or p["confidence"] >= threshold
        ]
        counts = match(predicted, _truth(manifest[scored["id"]]))
        per_item.append(ItemCounts(counts, scored["clean"]))
    row = count_figures(per_item)
    row["per_item"] = [
        {"id": s["id"], "passage": s.get("passage"), "clean": s["clean"], **c.counts.as_dict()}
        for s, c in zip(items, per_item, strict=True)
    ]
    return row


def common_figures(scored: Sequence[dict], mode: str) -> dict[str, Any]:
    """The figures of a row that do not depend on the threshold: WER, CER, WCPM mean
    absolute error (words per minute), latency (seconds)."""
    latencies = [s["latency_s"] for s in scored]
    edits = sum(s["wer"][0] for s in scored)
    words = sum(s["wer"][1] for s in scored)
    wcpm_errors = [abs(s["wcpm"] - s["true_wcpm"]) for s in scored if s["wcpm"] is not None]
    cer_total = sum(s["cer"][1] for s in scored) if mode == "image" else 0
    return {
        "items": len(scored),
        "wer": edits / words if words else 0.0,
        "cer": sum(s["cer"][0] for s in scored) / cer_total if cer_total else None,
        "wcpm_mae": statistics.mean(wcpm_errors) if wcpm_errors else None,
        "latency_p50_s": statistics.median(latencies) if latencies else 0.0,
        "latency_mean_s": statistics.mean(latencies) if latencies else 0.0,
    }


def select_items(items: list[dict], split: str, limit: int = 0) -> list[dict]:
    """The manifest items of ``split`` (``dev``, ``test`` or ``all``), the first ``limit``."""
    chosen = items if split == "all" else split_items(items, split)
    return chosen[:limit] if limit else chosen


async def run(args: argparse.Namespace) -> dict[str, Any]:
    manifest_path = Path(args.manifest)
    manifest = json.loads(manifest_path.read_text())
    items = select_items(manifest["items"], args.split, args.limit)
    root = manifest_path.parent
    by_id = {item["id"]: item for item in items}
    modes = ["text"] + (["image"] if args.image_model else [])
    limiter = asyncio.Semaphore(args.concurrency)
    login = Login(args.url.rstrip("/"))
    async with httpx.AsyncClient(base_url=args.url, timeout=120, auth=login) as client:
        if args.wait:
            await _wait_for_models(
                client, args.audio_models.split(","), args.image_model, args.wait
            )
        uploads: dict[str, dict[str, str]] = {}
        for item in items:
            uploads[item["id"]] = {
                "audio": await _upload(client, "audio", root / item["audio"]),
                "image": await _upload(client, "image", root / item["image"]),
            }

        async def one(model: str, mode: str, item: dict) -> dict:
            ids = uploads[item["id"]]
            body: dict[str, Any] = {"audio_file": ids["audio"], "audio_model": model}
            if mode == "text":
                body["text"] = [item["reference"]]
            else:
                body |= {"image_file": ids["image"], "image_model": args.image_model}
            async with limiter:
                result, seconds = await _run_task(client, mode, body)
            scored = score_item(item, mode, result)
            scored["latency_s"] = seconds
            return scored

        report: dict[str, Any] = {"rows": [], "items": {}}
        image_audio = set((args.image_audio_models or args.audio_models).split(","))
        for model in args.audio_models.split(","):
            for mode in modes:
                if mode == "image" and model not in image_audio:
                    continue
                started = time.perf_counter()
                scored = await asyncio.gather(*(one(model, mode, item) for item in items))
                wall = time.perf_counter() - started
                items_key = f"{mode}:{model}"
                report["items"][items_key] = scored
                common = {
                    "mode": mode,
                    "model": model,
                    "items_key": items_key,
                    **common_figures(scored, mode),
                    "wall_s": wall,
                }
                for threshold in THRESHOLDS:
                    row = {
                        **common,
                        "kind": "service",
                        "threshold": threshold,
                        **aggregate(scored, by_id, threshold, "predicted"),
                    }
                    report["rows"].append(row)
                    print(_format(row), flush=True)
                baseline = {
                    **common,
                    "kind": "baseline",
                    "model": f"{model} (v1 diff)",
                    "threshold": None,
                    **aggregate(scored, by_id, 0.0, "baseline"),
                }
                baseline["wcpm_mae"] = None
                report["rows"].append(baseline)
                print(_format(baseline), flush=True)
                oracle = {
                    **common,
                    "kind": "oracle",
                    "model": "perfect transcript",
                    "threshold": None,
                    "wer": 0.0,
                    "wcpm_mae": None,
                    **aggregate(scored, by_id, 0.0, "oracle"),
                }
                if model == args.audio_models.split(",")[0]:
                    report["rows"].append(oracle)
                    print(_format(oracle), flush=True)
    return report


def _ci(row: dict, name: str) -> str:
    """`` [low–high]`` of a figure's bootstrap interval in a row, or "" if it has none."""
    interval = (row.get("ci") or {}).get(name)
    return "" if interval is None else f" [{interval[0]:.2f}–{interval[1]:.2f}]"


def _format(row: dict) -> str:
    """A row as two lines: the figures, then the 95 % intervals of P, R and per type."""
    threshold = "-" if row["threshold"] is None else f"{row['threshold']:.1f}"
    cer_text = "" if row["cer"] is None else f" CER {row['cer']:.3f}"
    wcpm = "" if row["wcpm_mae"] is None else f" WCPM-MAE {row['wcpm_mae']:.1f}"
    per_type = " ".join(f"{k[:3]} {v[2]:.2f}" for k, v in row["per_type"].items())
    exact = row.get("exactly_right")
    exact_text = "" if exact is None else f" exact {exact:.2f}{_ci(row, 'exactly_right')}"
    line = (
        f"{row['mode']:5} {row['model']:28} t>={threshold:3} P {row['precision']:.3f} "
        f"R {row['recall']:.3f} F1 {row['f1']:.3f}{_ci(row, 'f1')} [{per_type}] "
        f"clean-FP {row['false_errors_per_clean']:.2f}{_ci(row, 'false_errors_per_clean')}"
        f"{exact_text} WER {row['wer']:.3f}{cer_text}{wcpm} "
        f"p50 {row['latency_p50_s']:.2f}s"
    )
    if not row.get("ci"):
        return line
    kinds = "; ".join(
        f"{k[:3]} P{_ci(row, f'{k}.precision')} R{_ci(row, f'{k}.recall')} "
        f"F1{_ci(row, f'{k}.f1')}"
        for k in row["per_type"]
    )
    return f"{line}\n      95 % CI: P{_ci(row, 'precision')} R{_ci(row, 'recall')}; {kinds}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--manifest", default="bench/data/manifest.json")
    parser.add_argument("--audio-models", default="whisper")
    parser.add_argument("--image-model", default="en_easyocr", help="'' to skip image mode")
    parser.add_argument(
        "--image-audio-models", default="", help="audio models also run in image mode (all)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="tasks in flight")
    parser.add_argument("--limit", type=int, default=0, help="only the first N items")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default="all",
        help="only the items of the dev or test passages (bench/split.py)",
    )
    parser.add_argument("--out", default="bench/results/latest.json")
    parser.add_argument(
        "--wait", type=float, default=0, help="seconds to wait for the models to be up"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    report = asyncio.run(run(args))
    report["args"] = vars(args)
    report["seconds"] = time.perf_counter() - started
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
