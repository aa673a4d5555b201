"""Speech recognition with Whisper served by vLLM's engine, for GPU nodes.

vLLM batches many decoder requests on one GPU, which suits a model host that gets
many recordings at once. It returns text without word timings, so the plugin cuts
every recording into speech pieces with the Silero voice-activity detector shipped
inside faster-whisper, sends all pieces of all files to the engine in one
``LLM.generate`` call, and returns one segment per piece: segment-level times, from
which the assessment spreads word times over each segment's text.

Targets vLLM's offline API as it stands from 0.10 on: ``vllm.LLM(model=...,
limit_mm_per_prompt={"audio": 1}, ...)`` and ``LLM.generate`` on explicit
encoder/decoder prompts ``{"encoder_prompt": {"prompt": "", "multi_modal_data":
{"audio": (waveform, 16000)}}, "decoder_prompt": decoder_prompt("en")}``, the form of
vLLM's ``examples/offline_inference/encoder_decoder_multimodal.py`` and of the prompt
its Whisper model builds for the transcription API (``get_generation_prompt``).

vLLM is an optional extra for CUDA machines (``pip install .[vllm]``). Importing this
file imports neither vLLM nor faster-whisper; the pure parts below (engine arguments,
prompts, pieces, output mapping) work and are tested without vLLM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.plugins import AudioChunk, AudioProcessingResult, register_plugin

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "MAX_PIECE_S",
    "SAMPLE_RATE",
    "WHISPER_MAX_MODEL_LEN",
    "Piece",
    "VLLMWhisperPlugin",
    "build_prompts",
    "decoder_prompt",
    "engine_kwargs",
    "pieces_from_spans",
    "results_from_outputs",
]

#: Sample rate Whisper's feature extractor expects, Hz (``WhisperFeatureExtractor``).
SAMPLE_RATE = 16_000
#: Longest audio Whisper's encoder takes at once, seconds (the feature extractor's
#: ``chunk_length``; vLLM's ``max_audio_clip_s`` for Whisper).
MAX_PIECE_S = 30.0
#: Decoder context of every OpenAI Whisper checkpoint (``max_target_positions`` in
#: their ``config.json``); vLLM's Whisper examples use it as ``max_model_len``.
WHISPER_MAX_MODEL_LEN = 448
#: Generated tokens per piece, from vLLM's Whisper example. A 30 s piece of fast
#: reading (about 100 words) needs about 130.
DEFAULT_MAX_TOKENS = 200
#: Voice-activity settings (faster-whisper ``VadOptions``). A choice, not a
#: measurement: a pause of 0.5 s in reading aloud usually ends a phrase or sentence,
#: so pieces hold whole phrases (context for Whisper) and segments stay short (finer
#: times). faster-whisper's own defaults (2 s, 400 ms) make much longer pieces.
DEFAULT_MIN_SILENCE_MS = 500
DEFAULT_SPEECH_PAD_MS = 200
DEFAULT_VAD_THRESHOLD = 0.5  # Silero's and faster-whisper's default


@dataclass(frozen=True)
class Piece:
    """A stretch of one recording sent to the engine as one request.

    Attributes:
        file_index: Position of the recording in the batch.
        start: Start in samples at ``SAMPLE_RATE`` from the start of the recording.
        end: End in samples (exclusive).
    """

    file_index: int
    start: int
    end: int

    @property
    def start_s(self) -> float:
        """Start in seconds."""
        return self.start / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        """End in seconds."""
        return self.end / SAMPLE_RATE


@register_plugin
class VLLMWhisperPlugin:
    """Whisper on vLLM: batched GPU transcription with segment-level timings.

    The engine is created once in ``__init__``; ``process_audio`` and
    ``process_audio_batch`` may then be called many times. All times in results are
    seconds from the start of the recording.
    """

    name = "vllm_whisper"
    languages = ["en"]
    description = (
        "Whisper served by vLLM's engine on a CUDA GPU; recordings are cut into speech "
        "pieces (Silero VAD) transcribed in one batch. Returns segments without word times."
    )
    supports_gpu = True

    def __init__(
        self,
        model: str = "openai/whisper-large-v3-turbo",
        language: str | None = "en",
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_num_seqs: int = 64,
        max_model_len: int = WHISPER_MAX_MODEL_LEN,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        seed: int = 0,
        min_silence_ms: int = DEFAULT_MIN_SILENCE_MS,
        speech_pad_ms: int = DEFAULT_SPEECH_PAD_MS,
        vad_threshold: float = DEFAULT_VAD_THRESHOLD,
        engine_args: Mapping[str, Any] | None = None,
    ) -> None:
        """Start the vLLM engine.

        Args:
            model: Local folder of a Hugging Face Whisper checkpoint or a hub id
                (default ``"openai/whisper-large-v3-turbo"``; a hub id is downloaded
                on first use into the Hugging Face cache).
            language: Language code put in the decoder prompt (default ``"en"``).
                ``None`` for English-only ``*.en`` checkpoints, whose prompt has no
                language or task token.
            dtype: vLLM's ``dtype`` (``"auto"``, ``"float16"``, ``"bfloat16"``...).
            gpu_memory_utilization: Fraction of GPU memory vLLM may take, in (0, 1]
                (vLLM's default 0.9).
            max_num_seqs: Requests (pieces) decoded together at most.
            max_model_len: Decoder context in tokens, prompt included.
            max_tokens: Tokens generated per piece at most.
            seed: Engine seed; decoding is greedy (temperature 0) in any case.
            min_silence_ms: Silence, in milliseconds, that ends a speech piece.
            speech_pad_ms: Context kept before and after each piece, milliseconds.
            vad_threshold: Silero speech probability above which audio is speech.
            engine_args: More keyword arguments for ``vllm.LLM`` (e.g.
                ``{"tensor_parallel_size": 2, "enforce_eager": True}``); they override
                the ones above.

        Raises:
            ImportError: vLLM is not installed (``pip install .[vllm]``).
            ValueError: An option is out of range.
        """
        try:
            import vllm
        except ImportError as error:
            raise ImportError(
                "The vllm_whisper plugin needs vLLM, which runs on CUDA GPUs: "
                "pip install .[vllm]"
            ) from error
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        if min_silence_ms < 0 or speech_pad_ms < 0:
            raise ValueError("min_silence_ms and speech_pad_ms must be >= 0")
        kwargs = engine_kwargs(
            model,
            dtype=dtype,
            gpu_memory_utilization=gpu_memory_utilization,
            max_num_seqs=max_num_seqs,
            max_model_len=max_model_len,
            seed=seed,
            engine_args=engine_args,
        )
        self.decoder_prompt = decoder_prompt(language)
        self.vad = {
            "threshold": vad_threshold,
            "min_silence_duration_ms": min_silence_ms,
            "speech_pad_ms": speech_pad_ms,
        }
        self.llm = vllm.LLM(**kwargs)
        self.sampling_params = vllm.SamplingParams(temperature=0.0, max_tokens=max_tokens)

    def process_audio(self, filename: str) -> AudioProcessingResult:
        """Transcribe one audio file; see :meth:`process_audio_batch`."""
        return self.process_audio_batch([filename])[0]

    def process_audio_batch(self, filenames: Sequence[str]) -> list[AudioProcessingResult]:
        """Transcribe several audio files with one engine call.

        Args:
            filenames: Paths of audio files PyAV (ffmpeg's libraries) can decode.

        Returns:
            One result per file, in order: one ``AudioChunk`` per speech piece whose
            transcript is not empty, spanning the piece (padding included), without
            ``words``; the text is the segment texts joined with spaces. A recording
            without speech gives an empty text and no segments.

        Raises:
            FileNotFoundError: A file does not exist.
            ValueError: A file cannot be decoded (``av.error.InvalidDataError``).
        """
        from faster_whisper import decode_audio

        waveforms = [decode_audio(name, sampling_rate=SAMPLE_RATE) for name in filenames]
        pieces = [
            piece
            for index, waveform in enumerate(waveforms)
            for piece in pieces_from_spans(speech_spans(waveform, **self.vad), index)
        ]
        prompts = build_prompts(waveforms, pieces, self.decoder_prompt)
        outputs = (
            self.llm.generate(prompts, self.sampling_params, use_tqdm=False) if prompts else []
        )
        return results_from_outputs(outputs, pieces, len(filenames))


def engine_kwargs(
    model: str,
    *,
    dtype: str = "auto",
    gpu_memory_utilization: float = 0.9,
    max_num_seqs: int = 64,
    max_model_len: int = WHISPER_MAX_MODEL_LEN,
    seed: int = 0,
    engine_args: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``vllm.LLM`` serving a Whisper checkpoint.

    One audio item per prompt (``limit_mm_per_prompt``): each piece is its own
    request. ``engine_args`` are applied last.

    Raises:
        ValueError: ``gpu_memory_utilization`` not in (0, 1], or ``max_num_seqs`` or
            ``max_model_len`` below 1.
    """
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    if max_num_seqs < 1 or max_model_len < 1:
        raise ValueError("max_num_seqs and max_model_len must be >= 1")
    kwargs: dict[str, Any] = {
        "model": str(model),
        "dtype": dtype,
        "gpu_memory_utilization": gpu_memory_utilization,
        "max_num_seqs": max_num_seqs,
        "max_model_len": max_model_len,
        "limit_mm_per_prompt": {"audio": 1},
        "seed": seed,
    }
    kwargs.update(engine_args or {})
    return kwargs


def decoder_prompt(language: str | None, task: str = "transcribe") -> str:
    """Whisper's decoder prefix for transcription without timestamps.

    Args:
        language: Language code (``"en"``), or ``None`` for English-only checkpoints.
        task: ``"transcribe"`` or ``"translate"``.

    Returns:
        ``"<|startoftranscript|><|en|><|transcribe|><|notimestamps|>"``, or
        ``"<|startoftranscript|><|notimestamps|>"`` without a language.

    Raises:
        ValueError: Unknown task, or a language that is not a bare code.
    """
    if task not in ("transcribe", "translate"):
        raise ValueError(f"task must be 'transcribe' or 'translate', got {task!r}")
    if language is None:
        return "<|startoftranscript|><|notimestamps|>"
    if not language.isalpha():  # codes are letters only: "en", "haw", "yue"
        raise ValueError(f"language must be a code such as 'en', got {language!r}")
    return f"<|startoftranscript|><|{language}|><|{task}|><|notimestamps|>"


def speech_spans(
    waveform: Any,
    *,
    threshold: float = DEFAULT_VAD_THRESHOLD,
    min_silence_duration_ms: int = DEFAULT_MIN_SILENCE_MS,
    speech_pad_ms: int = DEFAULT_SPEECH_PAD_MS,
) -> list[tuple[int, int]]:
    """Speech stretches of a 16 kHz mono recording, by faster-whisper's Silero VAD.

    Args:
        waveform: float32 samples at ``SAMPLE_RATE``, shape ``(samples,)``.

    Returns:
        ``(start, end)`` sample indices, padded by ``speech_pad_ms`` and in order;
        none is longer than ``MAX_PIECE_S`` (the VAD splits longer speech, at a short
        silence if it finds one).
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=threshold,
        min_silence_duration_ms=min_silence_duration_ms,
        speech_pad_ms=speech_pad_ms,
        max_speech_duration_s=MAX_PIECE_S,
    )
    spans = get_speech_timestamps(waveform, options, sampling_rate=SAMPLE_RATE)
    return [(int(span["start"]), int(span["end"])) for span in spans]


def pieces_from_spans(
    spans: Sequence[tuple[int, int]], file_index: int, max_samples: int | None = None
) -> list[Piece]:
    """Pieces of one recording from its speech spans, none longer than Whisper's window.

    Args:
        spans: ``(start, end)`` sample indices.
        file_index: Position of the recording in the batch.
        max_samples: Longest piece; default ``MAX_PIECE_S * SAMPLE_RATE``. A longer
            span is cut into equal parts (a safety net: the VAD already splits).

    Returns:
        Non-empty pieces in order.
    """
    limit = max_samples or int(MAX_PIECE_S * SAMPLE_RATE)
    pieces: list[Piece] = []
    for start, end in spans:
        if end <= start:
            continue
        parts = -(-(end - start) // limit)  # ceiling division
        bounds = [start + (end - start) * i // parts for i in range(parts + 1)]
        pieces.extend(Piece(file_index, a, b) for a, b in zip(bounds, bounds[1:], strict=False))
    return pieces


def build_prompts(
    waveforms: Sequence[Any], pieces: Sequence[Piece], prompt: str
) -> list[dict[str, Any]]:
    """One explicit encoder/decoder prompt per piece, in the order of ``pieces``.

    Args:
        waveforms: float32 samples at ``SAMPLE_RATE`` of each recording.
        pieces: Pieces of those recordings.
        prompt: The decoder prompt (:func:`decoder_prompt`).

    Returns:
        ``{"encoder_prompt": {"prompt": "", "multi_modal_data": {"audio": (samples,
        SAMPLE_RATE)}}, "decoder_prompt": prompt}`` per piece; Whisper's encoder
        takes no text.
    """
    return [
        {
            "encoder_prompt": {
                "prompt": "",
                "multi_modal_data": {
                    "audio": (waveforms[piece.file_index][piece.start : piece.end], SAMPLE_RATE)
                },
            },
            "decoder_prompt": prompt,
        }
        for piece in pieces
    ]


def results_from_outputs(
    outputs: Sequence[Any], pieces: Sequence[Piece], file_count: int
) -> list[AudioProcessingResult]:
    """Map the engine's outputs back to one result per recording.

    Args:
        outputs: ``vllm.RequestOutput`` objects (anything with ``.outputs[0].text``),
            one per piece in the order of ``pieces``, as ``LLM.generate`` returns them.
        pieces: The pieces the prompts were built from.
        file_count: Number of recordings in the batch.

    Returns:
        One result per recording, in order: an ``AudioChunk`` (seconds) per piece
        with a non-empty stripped text, the text being those joined with spaces.

    Raises:
        ValueError: ``outputs`` and ``pieces`` differ in length.
    """
    if len(outputs) != len(pieces):
        raise ValueError(f"{len(outputs)} engine outputs for {len(pieces)} pieces")
    segments: list[list[AudioChunk]] = [[] for _ in range(file_count)]
    for output, piece in zip(outputs, pieces, strict=True):
        text = output.outputs[0].text.strip() if output.outputs else ""
        if text:
            segments[piece.file_index].append(
                AudioChunk(start=piece.start_s, end=piece.end_s, text=text)
            )
    return [
        AudioProcessingResult(text=" ".join(s.text for s in chunks), segments=chunks)
        for chunks in segments
    ]
