"""Teacher-forced scoring of readings with Whisper (CTranslate2), for the reading check.

Used by ``plugins/whisper_plugin.py`` (``WhisperPlugin.reading_scorer``); implements
``core.plugins.scoring.ReadingScorer``. The decoder is run over the page's text and
over candidate readings on one encoder pass per 30-s window: ``generate`` with the
page as the prompt and ``return_logits_vocab`` gives the next-token distribution at
every page position; ``align`` gives each token's probability of a whole reading.
Log-probabilities are natural logs; times are seconds.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from core.plugins.scoring import WordPrediction

__all__ = ["WINDOW_S", "EncoderCache", "WhisperReadingScorer", "WhisperWindowScorer"]


class EncoderCache:
    """Remembers the encoder outputs of the last few windows, keyed by their features.

    Installed as ``WhisperModel.encode`` of the plugin's model, so the reading check
    reuses the encoder pass that transcription just ran on the same 30-s window (the
    same mel features, bit for bit) instead of running it again: the encoder is about
    a sixth of the CPU time of a prompted tiny.en transcription.

    Args:
        encode: The model's own ``encode(features)``.
        size: Windows kept (least recently used dropped first).
    """

    def __init__(self, encode: Callable[..., Any], size: int = 8) -> None:
        self._encode = encode
        self._size = size
        self._kept: OrderedDict[bytes, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def __call__(self, features: np.ndarray) -> Any:
        array = np.ascontiguousarray(features)
        key = hashlib.blake2b(array.tobytes(), digest_size=16)
        key.update(str(array.shape).encode())
        digest = key.digest()
        with self._lock:
            if digest in self._kept:
                self._kept.move_to_end(digest)
                self.hits += 1
                return self._kept[digest]
        encoded = self._encode(features)
        with self._lock:
            self._kept[digest] = encoded
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return encoded


#: Window length of Whisper's encoder, seconds.
WINDOW_S = 30.0


class WhisperReadingScorer:
    """Scores readings of one recording with Whisper's decoder, teacher-forced.

    Implements ``core.plugins.scoring.ReadingScorer``. A *reading* is a list of words
    as printed (punctuation attached); it is tokenised word by word with a leading
    space, as Whisper writes text, so each word's tokens are known.

    Args:
        model: A loaded ``faster_whisper.WhisperModel``.
        filename: The recording (any format faster-whisper decodes).
        language: Language code of the speech (its token starts multilingual prompts).
    """

    def __init__(self, model: Any, filename: str, language: str) -> None:
        from faster_whisper.audio import decode_audio
        from faster_whisper.tokenizer import Tokenizer

        self._model = model
        extractor = model.feature_extractor
        audio = decode_audio(filename, sampling_rate=extractor.sampling_rate)
        self.duration = len(audio) / extractor.sampling_rate
        self._features = extractor(audio)  # (n_mels, frames), 100 frames per second
        self._frames_per_s = extractor.sampling_rate / extractor.hop_length
        self._tokenizer = Tokenizer(
            model.hf_tokenizer,
            model.model.is_multilingual,
            task="transcribe",
            language=language if model.model.is_multilingual else None,
        )
        self._prefix = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]

    def window(self, start: float, end: float) -> WhisperWindowScorer:
        """The scorer of the audio from ``start`` to ``end`` seconds (at most 30 s)."""
        from faster_whisper.audio import pad_or_trim

        # Transcription leaves out the last frame (faster-whisper's content_frames):
        # the same slice gives the same features, so its encoder pass is reused.
        content = self._features.shape[-1] - 1
        first = max(int(start * self._frames_per_s), 0)
        last = min(int(math.ceil(end * self._frames_per_s)), content)
        last = min(last, first + int(WINDOW_S * self._frames_per_s))
        segment = pad_or_trim(self._features[:, first:last])
        encoded = self._model.encode(segment)
        return WhisperWindowScorer(self, encoded, max(last - first, 1))

    def tokens(self, word: str) -> list[int]:
        """The tokens of one word as Whisper writes it (leading space)."""
        return list(self._tokenizer.encode(" " + word))


class WhisperWindowScorer:
    """Teacher-forced scores on one encoded window (``core.plugins.scoring.WindowScorer``)."""

    def __init__(self, owner: WhisperReadingScorer, encoded: Any, frames: int) -> None:
        self._owner = owner
        self._encoded = encoded
        self._frames = frames
        self._rows: np.ndarray | None = None  # log-probabilities at each word's first token
        self._firsts: list[int] = []

    def page(self, words: Sequence[str], top_k: int = 10) -> list[WordPrediction]:
        """The decoder's prediction at each word of the page, teacher-forced.

        One ``generate`` call with the page's tokens as the prompt returns the
        next-token logits at every prompt position (``return_logits_vocab``); that
        is the whole distribution the printed word competes in.

        Returns:
            One ``WordPrediction`` per word: the log-probability (natural log) of
            the word's tokens, the rank of its first token (0 = the decoder's top
            choice) and the ``top_k`` first tokens that start a word, with their
            log-probabilities. Positions the decoder did not return (past 448 tokens)
            get ``None`` fields.
        """
        owner = self._owner
        per_word = [owner.tokens(w) for w in words]
        flat = [t for tokens in per_word for t in tokens]
        prompt = owner._prefix + flat
        # The prompt counts twice towards max_length here: a shorter one returns
        # logits for only part of the prompt.
        limit = min(448, 2 * len(prompt) + 2)
        result = owner._model.model.generate(
            self._encoded, [prompt], beam_size=1, max_length=limit, return_logits_vocab=True
        )
        logits = np.asarray(result[0].logits[0], dtype=np.float32)
        rows = min(len(logits), len(flat))
        log_probs = logits[:rows] - _logsumexp(logits[:rows])
        predictions = []
        position = 0
        firsts: list[int] = []
        for tokens in per_word:
            firsts.append(position)
            if position + len(tokens) > rows:
                predictions.append(WordPrediction(None, None, []))
            else:
                row = log_probs[position]
                score = float(sum(log_probs[position + k, t] for k, t in enumerate(tokens)))
                rank = int((row > row[tokens[0]]).sum())
                predictions.append(WordPrediction(score, rank, self._alternatives(row, top_k)))
            position += len(tokens)
        self._rows = np.stack([log_probs[p] if p < rows else log_probs[0] * np.nan
                               for p in firsts]) if firsts else None
        self._firsts = firsts
        return predictions

    def first_token_log_probs(self, index: int, words: Sequence[str]) -> list[float | None]:
        """Log-probability of each word's first token in place of page word ``index``
        (after ``page``); ``None`` where the decoder returned no distribution."""
        if self._rows is None or index >= len(self._rows):
            return [None] * len(words)
        row = self._rows[index]
        if np.isnan(row[0]):
            return [None] * len(words)
        return [float(row[self._owner.tokens(w)[0]]) for w in words]

    def log_likelihoods(
        self,
        readings: Sequence[Sequence[str]],
        from_word: Sequence[int],
        final: Sequence[bool] | None = None,
    ) -> list[float]:
        """Teacher-forced log-likelihood of each reading, from word ``from_word[i]`` on.

        The words before ``from_word`` are the decoder's context but are not counted,
        so readings that share them compare on what differs. Each reading is one
        CTranslate2 ``align`` call: on CPU, one at a time measured faster than a
        batch (30 ms each against 75 ms per reading in a batch of 40, 50 tokens).
        With ``final[i]`` the reading is the end of the recording: the
        end-of-text token's log-probability after it is added (one ``generate``
        call, since ``align`` gives no probability for that token), so a reading
        that stops early pays for the speech it leaves out.

        Returns:
            One natural-log likelihood per reading (0 for an empty counted part).
        """
        owner = self._owner
        ends = list(final) if final is not None else [False] * len(readings)
        scores = []
        for words, first, last in zip(readings, from_word, ends, strict=True):
            per_word = [owner.tokens(w) for w in words]
            flat = [t for tokens in per_word for t in tokens]
            skip = sum(len(tokens) for tokens in per_word[:first])
            score = 0.0
            if flat and skip < len(flat):
                (aligned,) = owner._model.model.align(
                    self._encoded, owner._prefix, [flat], [self._frames // 2]
                )
                probs = np.asarray(aligned.text_token_probs[skip:], dtype=np.float64)
                score = float(np.log(np.maximum(probs, 1e-12)).sum())
            if last:
                score += self._end_log_prob(flat)
            scores.append(score)
        return scores

    def _end_log_prob(self, flat: list[int]) -> float:
        """Log-probability of end-of-text right after the tokens ``flat``."""
        owner = self._owner
        prompt = owner._prefix + flat
        result = owner._model.model.generate(
            self._encoded,
            [prompt],
            beam_size=1,
            max_length=min(448, 2 * len(prompt) + 2),
            return_logits_vocab=True,
            suppress_blank=False,
        )
        logits = np.asarray(result[0].logits[0], dtype=np.float32)
        if len(logits) <= len(flat):
            return 0.0  # past the decoder's length: no evidence either way
        row = logits[len(flat) : len(flat) + 1]
        return float((row - _logsumexp(row))[0, owner._tokenizer.eot])

    def _alternatives(self, row: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` likeliest first tokens that begin a word (leading space, a letter)."""
        decode = self._owner._tokenizer.decode
        out: list[tuple[str, float]] = []
        for token in np.argsort(-row)[: 4 * k]:
            text = decode([int(token)])
            if text.startswith(" ") and text[1:2].isalpha():
                out.append((text.strip(), float(row[token])))
                if len(out) == k:
                    break
        return out


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return top + np.log(np.exp(x - top).sum(axis=1, keepdims=True))
