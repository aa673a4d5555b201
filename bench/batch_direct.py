"""Time the bundled plugins' ways of taking several files against a loop of one-file
calls, in-process.

No Ray: each plugin is loaded once, warmed up on one file, then timed on the first
*n* files of a glob, one file at a time (``process_audio`` / ``process_image`` in a
loop) and all together: EasyOCR's ``process_image_batch``, and Whisper called from
``--threads`` threads with as many CTranslate2 workers (``num_workers``, what a model
host with ``concurrent_calls`` does; Whisper's batch method was removed, see
``docs/design.md``). Each figure is the fastest of ``--repeat`` runs (wall-clock
seconds). Whisper runs twice per size: without reference texts and with each
recording's reference text from the manifest as its prompt (as a comparison does).

Usage (from the repository root)::

    python -m bench.batch_direct                      # bench/data, 4 and 8 recordings, 4 images
    python -m bench.batch_direct --audio 'tests/data/*.mp3' --audio-sizes 2 \\
        --images 'tests/data/*.png' --image-sizes 1 --repeat 3
"""

from __future__ import annotations

import argparse
import glob
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from core.plugins import get_plugin, instantiate_plugin

REPO = Path(__file__).resolve().parents[1]


def best_time(run: Callable[[], Any], repeat: int) -> float:
    """Fastest wall-clock time of ``repeat`` calls of ``run``, seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def references_from(manifest: Path) -> dict[str, str]:
    """Reference text per recording path (resolved) in a benchmark manifest, if any."""
    if not manifest.is_file():
        return {}
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    return {
        str((manifest.parent / item["audio"]).resolve()): item["reference"] for item in doc["items"]
    }


def files(pattern: str, sizes: Sequence[int]) -> list[str]:
    """Sorted matches of a glob (relative to the repository root); enough for ``sizes``."""
    found = sorted(glob.glob(pattern, root_dir=REPO))
    if len(found) < max(sizes, default=0):
        raise SystemExit(f"{pattern!r} matches {len(found)} files, {max(sizes)} needed")
    return [str((REPO / name).resolve()) for name in found]


def bench_whisper(
    paths: list[str], sizes: Sequence[int], references: dict[str, str], repeat: int,
    threads: int = 2,
) -> list[tuple[str, int, float, float]]:
    plugin = instantiate_plugin(get_plugin("whisper"), {"num_workers": threads})
    plugin.process_audio(paths[0])  # warm-up

    def together(chosen: list[str], texts: list[str | None]) -> list[Any]:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(plugin.process_audio, chosen, texts))

    rows = []
    for label, use_references in (("whisper, no reference", False), ("whisper, reference", True)):
        for size in sizes:
            chosen = paths[:size]
            texts = [references.get(path) if use_references else None for path in chosen]
            if use_references and None in texts:
                continue  # not every recording has a reference: no such row
            loop = best_time(
                lambda chosen=chosen, texts=texts: [
                    plugin.process_audio(path, text)
                    for path, text in zip(chosen, texts, strict=True)
                ],
                repeat,
            )
            batch = best_time(lambda chosen=chosen, texts=texts: together(chosen, texts), repeat)
            rows.append((label, size, loop, batch))
    return rows


def bench_easyocr(
    paths: list[str], sizes: Sequence[int], repeat: int
) -> list[tuple[str, int, float, float]]:
    plugin = instantiate_plugin(get_plugin("en_easyocr"), {})
    plugin.process_image_batch(paths[:1])  # warm-up
    rows = []
    for size in sizes:
        chosen = paths[:size]
        loop = best_time(lambda chosen=chosen: [plugin.process_image(p) for p in chosen], repeat)
        batch = best_time(lambda chosen=chosen: plugin.process_image_batch(chosen), repeat)
        rows.append(("en_easyocr", size, loop, batch))
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", default="bench/data/audio/*.mp3", help="glob of recordings")
    parser.add_argument("--audio-sizes", type=int, nargs="*", default=[4, 8])
    parser.add_argument(
        "--manifest",
        type=Path,
        default=REPO / "bench" / "data" / "manifest.json",
        help="benchmark manifest giving each recording's reference text",
    )
    parser.add_argument("--images", default="bench/data/images/*.png", help="glob of images")
    parser.add_argument("--image-sizes", type=int, nargs="*", default=[4])
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure; the fastest counts")
    parser.add_argument("--threads", type=int, default=2, help="Whisper calls at once")
    args = parser.parse_args(argv)

    rows = []
    if args.audio_sizes:
        rows += bench_whisper(
            files(args.audio, args.audio_sizes),
            args.audio_sizes,
            references_from(args.manifest),
            args.repeat,
            args.threads,
        )
    if args.image_sizes:
        rows += bench_easyocr(files(args.images, args.image_sizes), args.image_sizes, args.repeat)

    print(f"{'model':24} {'files':>5} {'loop s':>8} {'together s':>10} {'speed-up':>8}")
    for label, size, loop, batch in rows:
        print(f"{label:24} {size:5d} {loop:8.2f} {batch:10.2f} {loop / batch:7.2f}x")


if __name__ == "__main__":
    main()
