"""CPU time of the reading check against the recognition it checks, side by side.

    python -m bench.check_speed --manifest /tmp/bset/manifest.json --split test --items 12

For each recording, in one process, one after another: the primed transcription
(``process_audio``, what a comparison cost before the check), then the reading check
of that transcript with the default options and with ``propose=False``. CPU time is
the process's (``time.process_time``: every thread), so it counts CTranslate2's
threads; figures are per 30 s of audio.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from bench.split import split_items
from core.plugins.host import PluginRunner
from core.reading.assess import heard_words
from core.reading.verify import VerifyOptions, verify_reading


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--items", type=int, default=12)
    args = parser.parse_args(argv)
    items = split_items(json.loads(args.manifest.read_text())["items"], args.split)
    items = items[: args.items]
    runner = PluginRunner("whisper", {"compute_type": "int8"})
    whisper = runner._impl
    cpu = {"asr": 0.0, "check": 0.0, "check_no_proposals": 0.0}
    audio_s = 0.0
    for item in items:
        path = str(args.manifest.parent / item["audio"])
        started = time.process_time()
        result = runner._normalise(whisper.process_audio(path, item["reference"]), path)
        cpu["asr"] += time.process_time() - started
        heard = heard_words(result.segments)
        for name, options in (("check", VerifyOptions()),
                              ("check_no_proposals", VerifyOptions(propose=False))):
            started = time.process_time()
            verify_reading(item["reference"].split(), heard, whisper.reading_scorer(path),
                           options)
            cpu[name] += time.process_time() - started
        audio_s += item["duration_s"]
    per30 = {k: v * 30.0 / audio_s for k, v in cpu.items()}
    print(f"{len(items)} recordings, {audio_s:.0f} s of audio; CPU seconds per 30 s of audio "
          f"(encoder passes reused: {getattr(whisper.model.encode, 'hits', 0)}):")
    print(f"  transcription alone (before): {per30['asr']:.2f}")
    for name in ("check", "check_no_proposals"):
        total = per30["asr"] + per30[name]
        print(f"  + {name}: {per30[name]:.2f} -> total {total:.2f} "
              f"({total / per30['asr']:.2f}x before)")


if __name__ == "__main__":
    main()
