"""A request's decoding options for the Whisper plugin: hot words, prompt, temperature.

Used by ``plugins/whisper_plugin.py`` (``WhisperPlugin.process_audio``). Maps the
options onto arguments of faster-whisper 1.2.1's ``WhisperModel.transcribe``:

* Hot words with a positive boost become its ``hotwords`` text. faster-whisper puts
  that text before the start-of-transcript token of every 30-s window, ahead of the
  ``initial_prompt`` (``WhisperModel.get_prompt``: ``<|startofprev|>`` + hot words +
  previous text, which is the prompt in the first window and, with
  ``condition_on_previous_text``, the text decoded so far). So hot words and a prompt
  are used together, and the hot words reach every window while the prompt reaches
  only the first one (the plugin does not condition on previous text by default).
  ``hotwords`` is dropped only when a ``prefix`` is given, which the plugin never does.
  It has no per-word weight: a boost's magnitude only orders the words (highest
  first, so the strongest survive the token budget below); any positive boost does the
  same.
* Hot words with a negative boost become ``suppress_tokens`` ids (after ``-1``,
  Whisper's default set of symbols), which the decoder can never emit. Only the
  spellings of a word that are a single token are suppressed (see
  :func:`suppressed_tokens`); a word none of whose spellings is one token cannot be
  suppressed without suppressing pieces of other words, and is left alone (logged).
  A boost of 0 does nothing.
* Whisper's decoder sees 448 tokens; faster-whisper keeps up to 223 tokens
  (``max_length // 2 - 1``) of hot words and, separately, up to 223 of prompt, so both
  together could fill the context and leave no room for the transcript (measured: an
  empty transcript). Here hot words get at most :data:`HOT_WORD_TOKENS` tokens (whole
  words, highest boosts first) and, when there are any, the prompt at most the other
  :data:`HOT_WORD_PROMPT_TOKENS` (its end kept, as faster-whisper keeps it), as a longer
  prompt drowns the hot words.

Token counts are those of the model's tokenizer (``WhisperModel.hf_tokenizer``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

__all__ = [
    "HOT_WORD_PROMPT_TOKENS",
    "HOT_WORD_TOKENS",
    "MAX_HOT_WORDS",
    "MAX_HOT_WORD_CHARS",
    "PROMPT_TOKENS",
    "DecodeOptions",
    "check_hot_words",
    "check_temperature",
    "decode_options",
    "suppressed_tokens",
]

logger = logging.getLogger(__name__)

#: Most hot words one request may give.
MAX_HOT_WORDS = 100
#: Longest hot word (or phrase), in characters, after stripping surrounding spaces.
MAX_HOT_WORD_CHARS = 50
#: Tokens of text faster-whisper keeps before the start-of-transcript token:
#: ``max_length // 2 - 1`` of Whisper's 448-token context, so at least half is left
#: for the transcript. Shared here by the hot words and the prompt.
PROMPT_TOKENS = 448 // 2 - 1
#: Most tokens the hot words may take of :data:`PROMPT_TOKENS` (about 30 names). With
#: the page as prompt, 27 unrelated names (102 tokens) left tiny.en's transcript of
#: ``tests/data/miscue.mp3`` unchanged.
HOT_WORD_TOKENS = 111
#: Most tokens of prompt kept beside hot words (the rest of :data:`PROMPT_TOKENS`).
#: Measured with tiny.en on ``tests/data/hot_words.mp3``, the hot word "Przybylski"
#: (alone, and with two other names) and the end of 4 pages of ``bench/passages.json``
#: text (300-350 tokens each) as prompt: the name was recognised 8 times in 8 with the
#: pages cut to 112 tokens, 7 in 8 at 64 or 80, 3 in 8 at 150; a 175-token page
#: passed whole drowned it too.
HOT_WORD_PROMPT_TOKENS = PROMPT_TOKENS - HOT_WORD_TOKENS

Encode = Callable[[str], list[int]]


@dataclass(frozen=True)
class DecodeOptions:
    """``WhisperModel.transcribe`` arguments for one request.

    Attributes:
        hotwords: faster-whisper's ``hotwords`` text (words joined by spaces), or None.
        initial_prompt: The prompt, as text or (when cut to fit beside the hot words)
            as token ids, or None.
        suppress_tokens: ``[-1, *ids]``: Whisper's default set plus the suppressed
            words' token ids.
        temperature: Sampling temperature (0: greedy/beam search), or temperatures to
            fall back through.
        dropped: Positive hot words left out for want of tokens (highest boost first).
        unsuppressed: Negative hot words with no single-token spelling (not suppressed).
    """

    hotwords: str | None
    initial_prompt: str | list[int] | None
    suppress_tokens: list[int]
    temperature: float | tuple[float, ...]
    dropped: tuple[str, ...] = ()
    unsuppressed: tuple[str, ...] = ()

    def transcribe_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``WhisperModel.transcribe``."""
        return {
            "hotwords": self.hotwords,
            "initial_prompt": self.initial_prompt,
            "suppress_tokens": list(self.suppress_tokens),
            "temperature": self.temperature,
        }


def check_hot_words(hot_words: Mapping[str, float] | None) -> dict[str, float]:
    """A request's hot words, validated, with surrounding spaces stripped from the words.

    Args:
        hot_words: Word (or short phrase) -> boost: > 0 favour it, < 0 suppress it,
            0 nothing. None or empty: no hot words.

    Returns:
        The words (stripped) and their boosts as floats, in the given order.

    Raises:
        ValueError: not a mapping; more than :data:`MAX_HOT_WORDS` words; a word that
            is not a string, is empty (or only spaces) or longer than
            :data:`MAX_HOT_WORD_CHARS` characters; a boost that is not a finite real
            number (booleans refused); the same word (ignoring case) both favoured and
            suppressed.
    """
    if hot_words is None:
        return {}
    if not isinstance(hot_words, Mapping):
        raise ValueError(f"hot_words must map words to boosts, not {type(hot_words).__name__}")
    if len(hot_words) > MAX_HOT_WORDS:
        raise ValueError(f"at most {MAX_HOT_WORDS} hot words, got {len(hot_words)}")
    checked: dict[str, float] = {}
    signs: dict[str, float] = {}
    for word, boost in hot_words.items():
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"a hot word must be a non-empty string, got {word!r}")
        word = word.strip()
        if len(word) > MAX_HOT_WORD_CHARS:
            raise ValueError(
                f"hot word {word[:20]!r}... is {len(word)} characters long "
                f"(at most {MAX_HOT_WORD_CHARS})"
            )
        if isinstance(boost, bool) or not isinstance(boost, Real) or not math.isfinite(boost):
            raise ValueError(f"the boost of hot word {word!r} must be a finite number: {boost!r}")
        key = word.casefold()
        if boost and signs.get(key, boost) * boost < 0:
            raise ValueError(f"hot word {word!r} is both favoured and suppressed")
        if boost:
            signs[key] = float(boost)
        checked[word] = float(boost)
    return checked


def check_temperature(temperature: float) -> float:
    """A request's sampling temperature, validated: a finite number in 0..1.

    Raises:
        ValueError: not a real number (booleans refused), not finite, or outside 0..1.
    """
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, Real)
        or not 0.0 <= temperature <= 1.0
    ):
        raise ValueError(f"temperature must be a number from 0 to 1, got {temperature!r}")
    return float(temperature)


def suppressed_tokens(encode: Encode, words: list[str]) -> tuple[list[int], list[str]]:
    """The token ids that suppress ``words``, and the words that cannot be suppressed.

    A word's spellings are the word as given, lower-cased and capitalised (first letter
    upper), each with and without a leading space (``" Word"``, ``" word"``,
    ``"Word"``, ``"word"``: mid-sentence, sentence start, after punctuation without a
    space). Only spellings that are one token are suppressed: a token that is a whole
    word belongs to no other word, while the pieces of a longer spelling (``" D"``,
    ``"vor"``, ``"ak"`` for "Dvorak") start or end many words and suppressing them would
    garble those. So "brother" loses all four of its spellings, "visited" only
    ``" visited"`` (``" Visited"`` is ``" Vis"`` + ``"ited"``), and "Dvorak" none.
    Words that continue a suppressed token (``" brother"`` + ``"ly"``) lose that
    spelling too. The decoder may still write a suppressed word in other pieces: on
    ``tests/data/hot_words.mp3``, with "visited" suppressed, tiny.en wrote "ski-visited"
    (``"visited"`` without its space is ``"vis"`` + ``"ited"``); with "library" or
    "brother" suppressed it wrote "librarian" and "brothers", other tokens.

    Args:
        encode: Text -> token ids, without special tokens (the model's tokenizer).
        words: Words to suppress.

    Returns:
        The sorted, distinct ids; the words none of whose spellings is one token.
    """
    ids: set[int] = set()
    unsuppressed: list[str] = []
    for word in words:
        found = False
        for spelling in dict.fromkeys((word, word.lower(), word[:1].upper() + word[1:])):
            for text in (" " + spelling, spelling):
                tokens = encode(text)
                if len(tokens) == 1:
                    ids.add(tokens[0])
                    found = True
        if not found:
            unsuppressed.append(word)
    return sorted(ids), unsuppressed


def _hot_words_text(encode: Encode, words: list[str]) -> tuple[str | None, list[str]]:
    """faster-whisper's ``hotwords`` text for ``words`` (best first) and the words dropped.

    Words are joined with spaces (separated by commas, a list of names was written by
    tiny.en into a recording's trailing silence). Whole words are kept, in order, up to
    the first one that would take the text (with the leading space faster-whisper adds)
    over :data:`HOT_WORD_TOKENS` tokens; it and all after it are dropped.
    """
    kept: list[str] = []
    for index, word in enumerate(words):
        if len(encode(" " + " ".join([*kept, word]))) > HOT_WORD_TOKENS:
            return (" ".join(kept) or None), words[index:]
        kept.append(word)
    return (" ".join(kept) or None), []


def decode_options(
    encode: Encode,
    hot_words: Mapping[str, float] | None,
    prompt: str | None,
    temperature: float | tuple[float, ...],
) -> DecodeOptions:
    """The ``transcribe`` arguments for a request's hot words, prompt and temperature.

    Args:
        encode: Text -> token ids, without special tokens (the model's tokenizer).
        hot_words: Word -> boost, as for :func:`check_hot_words`.
        prompt: The decoding prompt chosen for the request (None: none).
        temperature: The temperature to decode at (already validated).

    Returns:
        The arguments. Without positive hot words the prompt is passed as given
        (faster-whisper keeps its last :data:`PROMPT_TOKENS` tokens); with them, a prompt
        longer than :data:`HOT_WORD_PROMPT_TOKENS` is cut to its last that many tokens
        and passed as token ids (``" " + prompt.strip()`` encoded, as faster-whisper
        encodes it).

    Raises:
        ValueError: invalid ``hot_words`` (:func:`check_hot_words`).
    """
    words = check_hot_words(hot_words)
    favoured = sorted((w for w, b in words.items() if b > 0), key=lambda w: -words[w])
    hotwords, dropped = _hot_words_text(encode, favoured)
    suppress, unsuppressed = suppressed_tokens(encode, [w for w, b in words.items() if b < 0])
    if dropped:
        logger.warning(
            "Hot words over the %d-token budget left out: %s", HOT_WORD_TOKENS, ", ".join(dropped)
        )
    if unsuppressed:
        logger.warning(
            "Hot words with no single-token spelling not suppressed: %s", ", ".join(unsuppressed)
        )
    initial_prompt: str | list[int] | None = prompt
    if hotwords is not None and prompt is not None:
        tokens = encode(" " + prompt.strip())
        if len(tokens) > HOT_WORD_PROMPT_TOKENS:
            initial_prompt = tokens[-HOT_WORD_PROMPT_TOKENS:]
    return DecodeOptions(
        hotwords=hotwords,
        initial_prompt=initial_prompt,
        suppress_tokens=[-1, *suppress],
        temperature=temperature,
        dropped=tuple(dropped),
        unsuppressed=tuple(unsuppressed),
    )
