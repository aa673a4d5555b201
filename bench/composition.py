"""What a built benchmark set holds: items and clean readings per split, miscues per type
and detail, voices, room tone, speaking rates, pages.

    python -m bench.composition bench/data/manifest.json

Units: durations seconds, SNR dB, mains frequency Hz; rate factors are relative to the
voice's own rate (> 1 faster).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.miscues import DETAILS, MISCUE_TYPES
from bench.split import DEV, TEST


def is_distorted(record: dict[str, Any]) -> bool:
    """Whether a manifest ``distortions`` record has any distortion applied."""
    return any(value not in (None, False) for value in record.values())


def _split_counts(items: Sequence[dict[str, Any]]) -> str:
    return ", ".join(
        f"{split} {sum(1 for i in items if i['split'] == split)}" for split in (DEV, TEST)
    )


def summarize(items: Sequence[dict[str, Any]], seconds: float | None) -> str:
    """A short human-readable summary of a built set: its composition and build time
    (``seconds``; None: not shown)."""
    types = Counter(m["type"] for item in items for m in item["miscues"])
    details = Counter((m["type"], m.get("detail", "")) for i in items for m in i["miscues"])
    voices = Counter(f"{i['tts']['engine']}/{i['tts']['voice']}" for i in items)
    clean = [i for i in items if i["clean"]]
    noisy = [i for i in items if i.get("noise")]
    changed = [i["rate_factor"] for i in items if i.get("rate_factor", 1.0) != 1.0]
    snrs = [i["noise"]["snr_db"] for i in noisy]
    hums = Counter(i["noise"]["hum_hz"] for i in noisy)
    audio_s = sum(item["duration_s"] for item in items)
    lines = [
        f"items: {len(items)} ({_split_counts(items)}); "
        f"clean: {len(clean)} ({_split_counts(clean)})",
        "miscues: "
        + ", ".join(f"{k} {types[k]}" for k in MISCUE_TYPES)
        + f" (total {sum(types.values())})",
    ]
    for kind in MISCUE_TYPES:
        lines.append(
            f"  {kind}: " + ", ".join(f"{d} {details[(kind, d)]}" for d in DETAILS[kind])
        )
    lines += [
        "voices: " + ", ".join(f"{v} x{n}" for v, n in sorted(voices.items())),
        f"noise: {len(noisy)} items"
        + (
            f", SNR {min(snrs):.1f}–{max(snrs):.1f} dB, hum "
            + ", ".join(f"{hz} Hz x{n}" for hz, n in sorted(hums.items()))
            if noisy
            else ""
        ),
        f"rate: {len(changed)} items changed"
        + (
            f", factor {min(changed):.2f}–{max(changed):.2f} "
            f"({sum(1 for f in changed if f < 1)} slower, {sum(1 for f in changed if f > 1)} "
            "faster)"
            if changed
            else ""
        ),
        f"pages: {sum(1 for i in items if i['hyphenated'])} hyphenated, "
        f"{sum(1 for i in items if is_distorted(i['distortions']))} distorted, "
        f"fonts {dict(sorted(Counter(i['font'] for i in items).items()))}",
        f"audio: {audio_s:.1f} s in total",
    ]
    if seconds is not None:
        lines.append(f"build time: {seconds:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: the composition of a built set."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, nargs="?", default=Path("bench/data/manifest.json"))
    manifest = json.loads(parser.parse_args(argv).manifest.read_text(encoding="utf-8"))
    print(summarize(manifest["items"], None))


if __name__ == "__main__":
    main()
