"""Hot words, prompt and temperature per request in the Whisper plugin.

Real tiny.en weights, real speech: ``tests/data/hot_words.mp3`` is Piper's voice reading
"Yesterday Przybylski visited the library with her brother." (``python -m
bench.make_hot_word_clip``, described by ``hot_words.json``). With the plugin's defaults
(beam 5, temperature 0, int8) tiny.en writes the name as "PRs, I built ski" and, given
it as a hot word, spells it right.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

import pytest

from core.plugins import get_plugin, instantiate_plugin
from plugins.whisper_options import (
    HOT_WORD_PROMPT_TOKENS,
    HOT_WORD_TOKENS,
    PROMPT_TOKENS,
    decode_options,
    suppressed_tokens,
)
from plugins.whisper_plugin import WhisperPlugin
from tests.conftest import DATA, REPO

CLIP = str(DATA / "hot_words.mp3")
INFO = json.loads((DATA / "hot_words.json").read_text())
NAME = INFO["name"]  # "Przybylski"


@pytest.fixture(scope="module")
def whisper() -> WhisperPlugin:
    return instantiate_plugin(get_plugin("whisper"), {"compute_type": "int8"})


def words(text: str) -> list[str]:
    """Lower-case ASCII words of a transcript (accents and punctuation dropped)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.findall(r"[a-z]+", ascii_text.lower())


def spy_on_transcribe(whisper: WhisperPlugin, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Record the keyword arguments of each ``transcribe`` call (which still runs)."""
    calls: list[dict[str, Any]] = []
    transcribe = whisper.model.transcribe

    def spy(audio: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return transcribe(audio, **kwargs)

    monkeypatch.setattr(whisper.model, "transcribe", spy)
    return calls


# --- real speech -------------------------------------------------------------------


def test_a_rare_name_is_recognised_with_its_hot_word_and_missed_without(whisper):
    without = whisper.process_audio(CLIP)
    assert NAME.lower() not in words(without.text), without.text
    assert {"visited", "library", "brother"} <= set(words(without.text))

    hot = whisper.process_audio(CLIP, hot_words={NAME: 5.0})
    assert NAME.lower() in words(hot.text), hot.text
    assert words(hot.text) == words(INFO["text"])  # and nothing else changed
    assert [w.word.strip(",.") for w in hot.segments[0].words][1] == NAME


def test_the_hot_word_still_works_beside_a_long_page_prompt(whisper):
    # A long page as prompt drowns the hot word; it is cut to its last 112 tokens.
    passages = json.loads((REPO / "bench" / "passages.json").read_text())["passages"]
    page = " ".join(passage["text"] for passage in passages[3:9])
    assert len(whisper._encode(" " + page)) > PROMPT_TOKENS
    result = whisper.process_audio(CLIP, reference_text=page, hot_words={NAME: 1.0})
    assert words(result.text) == words(INFO["text"]), result.text


def test_a_suppressed_word_disappears_and_the_rest_stays(whisper):
    plain = words(whisper.process_audio(CLIP).text)
    result = whisper.process_audio(CLIP, hot_words={"library": -5.0})
    heard = words(result.text)
    assert "library" in plain and "library" not in heard, result.text
    # tiny.en writes "librarian" in its place; the words around it are untouched.
    assert [w for w in heard if w != "librarian"] == [w for w in plain if w != "library"]


def test_the_request_prompt_wins_over_the_reference_text(whisper):
    # The reference text primes the name; an empty prompt means no prompt at all.
    assert NAME.lower() in words(whisper.process_audio(CLIP, reference_text=INFO["text"]).text)
    unprompted = whisper.process_audio(CLIP, reference_text=INFO["text"], prompt="  ")
    assert NAME.lower() not in words(unprompted.text), unprompted.text
    prompted = whisper.process_audio(CLIP, reference_text="The dog ran.", prompt=NAME)
    assert NAME.lower() in words(prompted.text), prompted.text


# --- what faster-whisper is given ---------------------------------------------------


def test_the_options_reach_transcribe(whisper, monkeypatch):
    calls = spy_on_transcribe(whisper, monkeypatch)
    whisper.process_audio(CLIP, reference_text="Some page.")
    whisper.process_audio(
        CLIP,
        reference_text="Some page.",
        hot_words={"Dvorak": 1.0, NAME: 5.0, "library": -2.0, "Nguyen": 0.0},
        prompt="A prompt.",
        temperature=0.3,
    )
    default, given = calls
    assert default["hotwords"] is None and default["suppress_tokens"] == [-1]
    assert default["initial_prompt"] == "Some page." and default["temperature"] == 0.0
    assert given["hotwords"] == f"{NAME} Dvorak"  # highest boost first; 0 is no hot word
    assert given["initial_prompt"] == "A prompt."
    assert given["temperature"] == 0.3
    suppressed = given["suppress_tokens"]
    assert suppressed[0] == -1
    assert {whisper.model.hf_tokenizer.decode([t]) for t in suppressed[1:]} == {
        " library",
        " Library",
        "library",
        "Library",
    }


def test_only_single_token_spellings_are_suppressed(whisper):
    ids, unsuppressed = suppressed_tokens(whisper._encode, ["visited", "Dvorak", "Brother"])
    decoded = {whisper.model.hf_tokenizer.decode([t]) for t in ids}
    # " Visited" is " Vis" + "ited" and "Dvorak" is " D" + "vor" + "ak": pieces of other
    # words, so they stay allowed.
    assert decoded == {" visited", " brother", " Brother", "brother", "Brother"}
    assert unsuppressed == ["Dvorak"]


def test_hot_words_over_the_token_budget_drop_the_lowest_boosts(whisper):
    many = {f"Przybylski{i:02d}": float(i) for i in range(1, 61)}
    page = "word " * 400
    options = decode_options(whisper._encode, many, page, 0.0)
    kept = options.hotwords.split()
    assert 10 < len(kept) < 60
    assert kept == [f"Przybylski{i:02d}" for i in range(60, 60 - len(kept), -1)]
    assert list(options.dropped) == [f"Przybylski{i:02d}" for i in range(60 - len(kept), 0, -1)]
    assert len(whisper._encode(" " + options.hotwords)) <= HOT_WORD_TOKENS
    # The prompt keeps its end: hot words and prompt stay within faster-whisper's 223.
    assert HOT_WORD_PROMPT_TOKENS == PROMPT_TOKENS - HOT_WORD_TOKENS == 112
    assert options.initial_prompt == whisper._encode(" " + page.strip())[-112:]


def test_without_hot_words_the_prompt_is_passed_as_text(whisper):
    options = decode_options(whisper._encode, {}, "word " * 400, (0.0, 0.2))
    assert options.initial_prompt == "word " * 400  # faster-whisper cuts it itself
    assert options.hotwords is None and options.suppress_tokens == [-1]
    assert options.temperature == (0.0, 0.2)


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hot_words", "message"),
    [
        ({"": 1.0}, "non-empty string"),
        ({"   ": 1.0}, "non-empty string"),
        ({"x" * 51: 1.0}, "at most 50"),
        ({f"w{i}": 1.0 for i in range(101)}, "at most 100 hot words"),
        ({"word": math.inf}, "finite number"),
        ({"word": math.nan}, "finite number"),
        ({"word": "5"}, "finite number"),
        ({"word": True}, "finite number"),
        ({"Word": 2.0, "word": -2.0}, "both favoured and suppressed"),
        (["word"], "must map words to boosts"),
    ],
)
def test_invalid_hot_words_are_refused(whisper, hot_words, message):
    with pytest.raises(ValueError, match=message):
        whisper.process_audio(CLIP, hot_words=hot_words)


@pytest.mark.parametrize("temperature", [-0.1, 1.5, math.nan, math.inf, True, "0.5"])
def test_an_invalid_temperature_is_refused(whisper, temperature):
    with pytest.raises(ValueError, match="temperature must be a number from 0 to 1"):
        whisper.process_audio(CLIP, temperature=temperature)


def test_a_prompt_that_is_not_text_is_refused(whisper):
    with pytest.raises(ValueError, match="prompt must be a string"):
        whisper.process_audio(CLIP, prompt=["a"])
