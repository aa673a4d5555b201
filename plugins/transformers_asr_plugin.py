"""Speech recognition with any Hugging Face ``transformers`` ASR model (Whisper, wav2vec2...).

The model runs through ``transformers.pipeline("automatic-speech-recognition")``, so
every checkpoint that pipeline accepts works: Whisper (sequence-to-sequence, word times
from cross-attention DTW) and CTC models such as wav2vec2, HuBERT or WavLM (word times
from the CTC frame offsets).

Importing this file only registers the plugin class; ``transformers`` and ``torch`` are
imported, and the model loaded, when the class is instantiated. The service therefore
runs without the optional extra (``pip install .[transformers]``) as long as no
``models`` entry uses this plugin.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.plugins import AudioChunk, AudioProcessingResult, Word, register_plugin

__all__ = ["TransformersASRPlugin", "result_from_pipeline_output"]

logger = logging.getLogger(__name__)

#: Silence between two words, in seconds, from which the next word starts a new
#: segment. A choice, not a measurement: in read-aloud speech pauses this long mostly
#: fall between phrases or sentences, while the gaps between words of a phrase are
#: shorter. Segments only group words (each word keeps its own times), so the value
#: changes how the recording is cut into downloadable pieces, not the assessment.
DEFAULT_SEGMENT_PAUSE_S = 0.5

#: Whisper's special tokens as text (``<|0.08|>``, ``<|endoftext|>``). The pipeline can
#: leave a timestamp token in the last word when generation stops mid-segment.
_SPECIAL_TOKEN = re.compile(r"<\|[^|<>]*\|>")

_DTYPES = ("auto", "float16", "bfloat16", "float32")
_TIMESTAMPS = ("word", "segment", None)


@register_plugin
class TransformersASRPlugin:
    """Speech recognition with a Hugging Face ``transformers`` model and word timings.

    The model is loaded once in ``__init__``; ``process_audio`` and
    ``process_audio_batch`` may then be called many times. All times in results are
    seconds from the start of the recording.
    """

    name = "transformers_asr"
    languages = ["en"]
    description = (
        "Any Hugging Face transformers speech-recognition model (Whisper, wav2vec2 CTC...) "
        "through transformers.pipeline; CPU or GPU. Returns segments with per-word timestamps."
    )
    supports_gpu = True

    def __init__(
        self,
        model: str,
        device: str = "auto",
        torch_dtype: str = "auto",
        chunk_length_s: float | None = None,
        batch_size: int = 1,
        language: str | None = "en",
        return_timestamps: str | None = "word",
        segment_pause_s: float = DEFAULT_SEGMENT_PAUSE_S,
        generate_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Load the model and its feature extractor and tokenizer.

        Args:
            model: A local folder saved with ``save_pretrained`` (``config.json``,
                weights, tokenizer and feature extractor files) or a Hugging Face Hub
                id such as ``"openai/whisper-small.en"`` or
                ``"facebook/wav2vec2-base-960h"``. A hub id is downloaded on first use
                into the Hugging Face cache; set ``HF_HUB_OFFLINE=1`` on machines that
                must never contact the hub.
            device: ``"auto"`` (``"cuda"`` when ``torch.cuda.is_available()``, else
                ``"cpu"``), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
            torch_dtype: ``"auto"`` (float16 on CUDA, float32 on CPU, which lacks fast
                float16 kernels), ``"float16"``, ``"bfloat16"`` or ``"float32"``.
                Unlike transformers' own ``"auto"`` this never loads a float16
                checkpoint in float16 on a CPU.
            chunk_length_s: Cut recordings into windows of this many seconds, with
                the pipeline's default overlap of ``chunk_length_s / 6`` on each side,
                and stitch the results. ``None`` (default) gives the whole recording
                to the model: Whisper then runs its own sequential long-form decoding
                past 30 s, while a CTC model's memory grows with the square of the
                length, so set e.g. 30 for CTC models on long recordings.
            batch_size: Inputs (recordings, or windows with ``chunk_length_s``) per
                forward pass; ``process_audio_batch`` benefits from values > 1.
                Batching Whisper needs a tokenizer with a pad token (all OpenAI
                checkpoints have one).
            language: Language code of the speech for multilingual Whisper
                checkpoints (passed to ``generate`` with ``task="transcribe"``);
                ``None`` lets Whisper detect it. Ignored by English-only Whisper
                checkpoints (``*.en``, ``generation_config.is_multilingual`` false)
                and by CTC models, which have no language setting. Default ``"en"``.
            return_timestamps: ``"word"`` (default): per-word times, grouped into
                segments at pauses of ``segment_pause_s``. ``"segment"``: Whisper
                only, one ``AudioChunk`` per Whisper segment, without words.
                ``None``: text only; the model host then transcribes silence-split
                pieces of the recording to get segment times. Sequence-to-sequence
                models other than Whisper cannot give times and always use ``None``.
            segment_pause_s: With word times, a silence of at least this many seconds
                between two words starts a new segment. See
                ``DEFAULT_SEGMENT_PAUSE_S``.
            generate_kwargs: Extra keyword arguments for ``model.generate`` of
                generating models (Whisper), e.g. ``{"num_beams": 1}`` or
                ``{"max_new_tokens": 128}``. Without them the pipeline's defaults
                apply (5 beams, 256 new tokens) unless the checkpoint's
                ``generation_config.json`` sets them.

        Raises:
            ImportError: ``transformers`` is not installed (``pip install
                .[transformers]``).
            ValueError: An option has an unknown value, or ``return_timestamps`` is
                ``"segment"`` for a model that is not Whisper.
            OSError: The model folder or hub id does not hold a loadable model.
        """
        try:
            import torch
            import transformers
        except ImportError as error:
            raise ImportError(
                "The transformers_asr plugin needs the 'transformers' package: "
                "pip install .[transformers]"
            ) from error

        if return_timestamps not in _TIMESTAMPS:
            raise ValueError(
                f"return_timestamps must be one of {_TIMESTAMPS}, got {return_timestamps!r}"
            )
        if torch_dtype not in _DTYPES:
            raise ValueError(f"torch_dtype must be one of {_DTYPES}, got {torch_dtype!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if segment_pause_s < 0:
            raise ValueError(f"segment_pause_s must be >= 0 seconds, got {segment_pause_s}")

        resolved_device = _resolve_device(device, torch)
        dtype = _resolve_dtype(torch_dtype, resolved_device, torch)
        # transformers >= 4.56 renamed the pipeline's ``torch_dtype`` argument ``dtype``
        # and deprecated the old name; older versions only know ``torch_dtype``.
        dtype_argument = (
            "dtype" if "dtype" in inspect.signature(transformers.pipeline).parameters
            else "torch_dtype"
        )
        self.model_name = str(model)
        self.pipe = transformers.pipeline(
            "automatic-speech-recognition",
            model=self.model_name,
            device=resolved_device,
            batch_size=batch_size,
            **{dtype_argument: dtype},
        )
        self.kind: str = self.pipe.type  # "seq2seq_whisper", "ctc", "ctc_with_lm", ...
        self.sampling_rate: int = int(self.pipe.feature_extractor.sampling_rate)
        self.segment_pause_s = float(segment_pause_s)
        is_whisper = self.kind == "seq2seq_whisper"

        if return_timestamps == "segment" and not is_whisper:
            raise ValueError(
                f"return_timestamps='segment' needs a Whisper model; {self.model_name} is "
                f"{self.kind!r} (use 'word')"
            )
        if return_timestamps is not None and self.kind == "seq2seq":
            logger.warning(
                "%s is a sequence-to-sequence model other than Whisper, which cannot give "
                "timestamps; returning text only", self.model_name
            )
            return_timestamps = None
        self.return_timestamps = return_timestamps

        call: dict[str, Any] = {}
        if return_timestamps is not None:
            call["return_timestamps"] = True if return_timestamps == "segment" else "word"
        if chunk_length_s is not None:
            call["chunk_length_s"] = float(chunk_length_s)
        generate: dict[str, Any] = {}
        if is_whisper and language is not None and _is_multilingual(self.pipe.model):
            generate.update(language=language, task="transcribe")
        generate.update(generate_kwargs or {})
        if generate:
            call["generate_kwargs"] = generate
        self._call_kwargs = call

        # NOTE: batching pads the shorter recordings of a batch, and the pipeline
        # decodes CTC logits up to the length it estimates from the sample count,
        # which for wav2vec2-style encoders can be one frame more than the encoder
        # really produced: a frame of padding. A right "stride" trims exactly the
        # extra frames, so batched results equal single-file ones (see _ctc_stride).
        model_ = self.pipe.model
        self._ctc_frames = (
            getattr(model_, "_get_feat_extract_output_lengths", None)
            if self.kind in ("ctc", "ctc_with_lm")
            else None
        )
        self._ctc_ratio = int(getattr(model_.config, "inputs_to_logits_ratio", 0) or 0)
        self._word_separator = "" if is_whisper else " "
        self._torch = torch

    def process_audio(self, filename: str) -> AudioProcessingResult:
        """Transcribe one audio file.

        Args:
            filename: Path of an audio file ffmpeg can decode (mp3, wav, ogg...).

        Returns:
            See :func:`result_from_pipeline_output`: the text and its segments with
            per-word times in seconds from the start of the recording.

        Raises:
            FileNotFoundError: ``filename`` does not exist.
            ValueError: ffmpeg cannot decode the file.
        """
        return self.process_audio_batch([filename])[0]

    def process_audio_batch(self, filenames: Sequence[str]) -> list[AudioProcessingResult]:
        """Transcribe several audio files with one pipeline call.

        The pipeline runs ``batch_size`` recordings (or windows) per forward pass.
        Results are the same as calling :meth:`process_audio` on each file.

        Args:
            filenames: Paths of audio files ffmpeg can decode.

        Returns:
            One result per file, in the order of ``filenames``.

        Raises:
            FileNotFoundError: A file does not exist.
            ValueError: ffmpeg cannot decode a file.
        """
        if not filenames:
            return []
        waveforms = [self._decode(name) for name in filenames]
        inputs = [self._pipeline_input(waveform) for waveform in waveforms]
        outputs = self.pipe(inputs, **self._call_kwargs)
        return [
            result_from_pipeline_output(
                output,
                duration_s=len(waveform) / self.sampling_rate,
                words=self.return_timestamps == "word",
                segment_pause_s=self.segment_pause_s,
                word_separator=self._word_separator,
            )
            for output, waveform in zip(outputs, waveforms, strict=True)
        ]

    def _decode(self, filename: str) -> Any:
        """Mono float32 samples at the feature extractor's rate, decoded by ffmpeg.

        This is the pipeline's own decoder (``ffmpeg_read``, what it runs on a file
        name), called here so the plugin knows each recording's duration.
        """
        from transformers.pipelines.audio_utils import ffmpeg_read

        with open(filename, "rb") as handle:
            return ffmpeg_read(handle.read(), self.sampling_rate)

    def _pipeline_input(self, waveform: Any) -> Any:
        if self._ctc_frames is None or self._ctc_ratio <= 0:
            return waveform
        samples = int(waveform.shape[0])
        frames = int(self._ctc_frames(self._torch.tensor(samples)))
        right = _ctc_stride(samples, frames, self._ctc_ratio)
        if right is None:
            return waveform
        return {"raw": waveform, "sampling_rate": self.sampling_rate, "stride": (0, right)}


def result_from_pipeline_output(
    output: Mapping[str, Any],
    duration_s: float,
    *,
    words: bool = True,
    segment_pause_s: float = DEFAULT_SEGMENT_PAUSE_S,
    word_separator: str = " ",
) -> AudioProcessingResult:
    """Turn one ``automatic-speech-recognition`` pipeline output into a result.

    Args:
        output: ``{"text": str, "chunks": [{"text": str, "timestamp": (start, end)},
            ...]}`` with times in seconds; ``chunks`` absent when no timestamps were
            asked for. An end may be ``None`` (Whisper's last segment).
        duration_s: Length of the recording in seconds.
        words: Whether the chunks are words (``return_timestamps="word"``) or
            Whisper segments.
        segment_pause_s: With words, a silence of at least this many seconds between
            two words starts a new segment.
        word_separator: What joins word texts into a segment text: ``""`` for
            Whisper, whose words carry their leading space, ``" "`` for CTC words.

    Returns:
        ``text``: the segment texts joined with single spaces. ``segments``: with
        words, one ``AudioChunk`` per run of words without a pause of
        ``segment_pause_s``, spanning its first word's start to its last word's end,
        whose ``words`` are those words (stripped, ``probability`` ``None``: the
        pipeline gives none); with Whisper segments, one ``AudioChunk`` per chunk.
        Without chunks, the pipeline's text and no segments. Text of Whisper special
        tokens (``<|0.08|>``) is removed and chunks left empty are dropped. Times are
        clamped into ``[0, duration_s]`` and made non-decreasing (each start at or
        after the previous start, each end at or after its start): models can place
        words past the end of the audio (Whisper pads every input to 30 s).
    """
    chunks = output.get("chunks")
    if chunks is None:
        return AudioProcessingResult(text=str(output["text"]).strip(), segments=[])

    timed: list[tuple[str, float, float]] = []
    floor = 0.0
    for chunk in chunks:
        raw = _SPECIAL_TOKEN.sub("", str(chunk["text"]))
        if not raw.strip():
            continue
        start, end = chunk["timestamp"]
        start_s = min(max(floor if start is None else float(start), floor), duration_s)
        end_s = min(max(duration_s if end is None else float(end), start_s), duration_s)
        floor = start_s
        timed.append((raw, start_s, end_s))

    if words:
        segments = _group_words(timed, segment_pause_s, word_separator)
    else:
        segments = [AudioChunk(start=s, end=e, text=raw.strip()) for raw, s, e in timed]
    return AudioProcessingResult(
        text=" ".join(segment.text for segment in segments), segments=segments
    )


def _group_words(
    timed: Sequence[tuple[str, float, float]], pause_s: float, separator: str
) -> list[AudioChunk]:
    groups: list[list[tuple[str, float, float]]] = []
    for item in timed:
        if groups and item[1] - max(end for _, _, end in groups[-1]) < pause_s:
            groups[-1].append(item)
        else:
            groups.append([item])
    return [
        AudioChunk(
            start=group[0][1],
            end=max(end for _, _, end in group),
            # Whitespace runs (left where special tokens were removed) become one space.
            text=" ".join(separator.join(raw for raw, _, _ in group).split()),
            words=[Word(word=raw.strip(), start=s, end=e) for raw, s, e in group],
        )
        for group in groups
    ]


def _ctc_stride(samples: int, frames: int, ratio: int) -> int | None:
    """Right stride (samples) that makes the pipeline keep exactly ``frames`` logits.

    The pipeline keeps ``round(samples / ratio) - round(right / samples * that)``
    frames of a recording of ``samples`` samples with a right stride of ``right``
    samples (``rescale_stride`` in transformers' ASR pipeline). Returns ``None``
    when no stride is needed or none gives exactly ``frames``.
    """
    planned = round(samples / ratio)
    extra = planned - frames
    if extra <= 0:
        return None
    right = extra * ratio
    if right >= samples or round(right / samples * planned) != extra:
        return None
    return right


def _resolve_device(device: str, torch: Any) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"Unknown device {device!r}: use auto, cpu, cuda or cuda:N") from error
    return device


def _resolve_dtype(name: str, device: str, torch: Any) -> Any:
    if name == "auto":
        return torch.float16 if torch.device(device).type == "cuda" else torch.float32
    return getattr(torch, name)


def _is_multilingual(model: Any) -> bool:
    """Whether a Whisper model takes a language token (not an ``*.en`` checkpoint)."""
    config = model.generation_config
    flag = getattr(config, "is_multilingual", None)
    return bool(flag) if flag is not None else hasattr(config, "lang_to_id")
