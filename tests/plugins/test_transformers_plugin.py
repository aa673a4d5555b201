"""The transformers_asr plugin on tiny randomly initialised models built here.

No model hub is reachable, so each test module builds its models with a fixed seed
and saves them with ``save_pretrained``: a CTC wav2vec2 with a character vocabulary,
and a Whisper with a byte-level BPE vocabulary holding the special and timestamp
tokens Whisper's generation needs. The plugin then loads them from disk through
the real registry and ``core.plugins.host.PluginRunner``. Random weights give garbage
text, so the tests check structure, timing and consistency, not words.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import transformers

from core.audio import load_audio
from core.plugins import AudioProcessingResult, get_plugin, instantiate_plugin, plugin_info
from core.plugins.host import PluginRunner
from plugins.transformers_asr_plugin import _ctc_stride, result_from_pipeline_output
from tests.conftest import REPO as TESTS_REPO

REPO = TESTS_REPO
AUDIO = REPO / "tests" / "data" / "every_path.mp3"  # 1.8 s
LONGER = REPO / "tests" / "data" / "miscue.mp3"  # 6.1 s: batches pad AUDIO to its length
SEED = 0
#: Generation limits for the tiny Whisper: one greedy beam, few tokens (run time).
WHISPER_GENERATE = {"num_beams": 1, "max_new_tokens": 16}

#: Whisper's special tokens, in the order of OpenAI's vocabularies (language tokens
#: follow <|startoftranscript|>; the tokenizer computes a language's id as
#: ``<|startoftranscript|> + 1 + index``, and "en" is index 0). Timestamp tokens
#: <|0.00|> ... <|30.00|> follow <|notimestamps|>: generation and decoding treat every
#: id above <|notimestamps|> as a timestamp, 0.02 s apart.
WHISPER_SPECIALS = [
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]


def build_tiny_ctc(folder: Path) -> Path:
    """Save a tiny random wav2vec2 CTC model with its processor in ``folder``."""
    torch.manual_seed(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz'"
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate(letters)}}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(
        str(folder / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    extractor = transformers.Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
        return_attention_mask=True,
    )
    config = transformers.Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, conv_dim=(8,) * 7, feat_extract_norm="layer",
        do_stable_layer_norm=True, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        pad_token_id=vocab["<pad>"], mask_time_prob=0.0,
    )
    model = transformers.Wav2Vec2ForCTC(config).eval()
    with torch.no_grad():
        # Favour the blank and the word delimiter so the random model emits several
        # words with pauses between them, not one run of letters.
        model.lm_head.weight.normal_(0.0, 0.5)
        model.lm_head.bias.zero_()
        model.lm_head.bias[vocab["<pad>"]] = 2.0
        model.lm_head.bias[vocab["|"]] = 2.5
    model.save_pretrained(folder)
    processor = transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer)
    processor.save_pretrained(folder)
    return folder


def _byte_level_space() -> str:
    """The character GPT-2/Whisper byte-level BPE uses for the space byte ("Ġ")."""
    return chr(256 + 32)  # bytes outside the printable ranges map to 256 + n, space is n=32


def build_tiny_whisper(folder: Path, d_model: int = 16, heads: int = 2) -> Path:
    """Save a tiny random multilingual Whisper with its processor in ``folder``.

    Args:
        folder: Destination.
        d_model: Width of the model (head size is ``d_model / heads``).
        heads: Attention heads per layer.
    """
    torch.manual_seed(SEED)
    space = _byte_level_space()
    letters = "abcdefghijklmnopqrstuvwxyz"
    tokens = [space, *letters, *(space + c for c in letters)]
    vocab = {token: i for i, token in enumerate([*tokens, *WHISPER_SPECIALS])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{space} {c}\n" for c in letters)
    )
    tokenizer = transformers.WhisperTokenizer.from_pretrained(
        str(folder), pad_token="<|endoftext|>"
    )
    tokenizer.add_tokens(
        [transformers.AddedToken(t, special=True, normalized=False) for t in WHISPER_SPECIALS[1:]],
        special_tokens=True,
    )
    tokenizer.add_tokens(
        [transformers.AddedToken(f"<|{i * 0.02:.2f}|>", normalized=False) for i in range(1501)]
    )
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in WHISPER_SPECIALS}
    assert list(ids.values()) == list(range(len(tokens), len(tokens) + len(WHISPER_SPECIALS)))
    assert tokenizer.convert_tokens_to_ids("<|0.00|>") == ids["<|notimestamps|>"] + 1
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]

    config = transformers.WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=d_model,
        encoder_layers=1, decoder_layers=1, encoder_attention_heads=heads,
        decoder_attention_heads=heads, encoder_ffn_dim=2 * d_model, decoder_ffn_dim=2 * d_model,
        # 1500 encoder positions = 3000 mel frames = 30 s: what the feature extractor
        # produces and what timestamps (0.02 s per position) are computed from.
        max_source_positions=1500, max_target_positions=64,
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
        suppress_tokens=[], begin_suppress_tokens=[vocab[space], eot],
    )
    model = transformers.WhisperForConditionalGeneration(config).eval()
    generation = model.generation_config
    generation.decoder_start_token_id = sot
    generation.eos_token_id = generation.pad_token_id = generation.bos_token_id = eot
    generation.no_timestamps_token_id = ids["<|notimestamps|>"]
    generation.prev_sot_token_id = ids["<|startofprev|>"]
    generation.lang_to_id = {"<|en|>": ids["<|en|>"]}
    generation.task_to_id = {"translate": ids["<|translate|>"], "transcribe": ids["<|transcribe|>"]}
    generation.is_multilingual = True
    # Word timestamps come from DTW over these cross-attention heads (layer, head).
    generation.alignment_heads = [[0, h] for h in range(heads)]
    generation.max_initial_timestamp_index = 50  # OpenAI's value: first timestamp <= 1 s
    generation.max_length = config.max_target_positions
    generation.suppress_tokens = []
    generation.begin_suppress_tokens = [vocab[space], eot]
    # Otherwise from_pretrained rebuilds the generation config from config.json,
    # which has none of the Whisper fields above.
    generation._from_model_config = False
    model.save_pretrained(folder)
    transformers.WhisperProcessor(
        feature_extractor=transformers.WhisperFeatureExtractor(feature_size=80),
        tokenizer=tokenizer,
    ).save_pretrained(folder)
    return folder


def options(kind: str, folder: Path, **extra) -> dict:
    base = {"model": str(folder), "device": "cpu", "batch_size": 2}
    if kind == "whisper":
        base["generate_kwargs"] = WHISPER_GENERATE
    return {**base, **extra}


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {
        "ctc": build_tiny_ctc(tmp_path_factory.mktemp("tiny-wav2vec2")),
        "whisper": build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper")),
    }


@pytest.fixture(scope="module")
def durations() -> dict[Path, float]:
    return {path: load_audio(path).duration_seconds for path in (AUDIO, LONGER)}


@pytest.fixture(scope="module", params=["ctc", "whisper"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def runner(kind: str, model_dirs: dict[str, Path]) -> PluginRunner:
    """The plugin loaded the way a model host loads it."""
    return PluginRunner("transformers_asr", options(kind, model_dirs[kind]))


@pytest.fixture(scope="module")
def plugin(kind: str, model_dirs: dict[str, Path]):
    return instantiate_plugin(get_plugin("transformers_asr"), options(kind, model_dirs[kind]))


def check_result(result: AudioProcessingResult, duration_s: float) -> None:
    """Times inside the recording and non-decreasing; texts consistent with words."""
    slack = 0.05  # ffmpeg's and pydub's decoders may differ by a frame
    assert result.segments, "the random model should still produce words"
    assert result.text == " ".join(segment.text for segment in result.segments)
    previous_start = 0.0
    for segment in result.segments:
        assert segment.words, segment
        assert 0 <= segment.start <= segment.end <= duration_s + slack
        assert segment.text == segment.text.strip() and segment.text
        # The segment text is its words (Whisper joins them without spaces when a
        # word has no leading space, CTC with single spaces).
        assert "".join(segment.text.split()) == "".join(w.word for w in segment.words)
        for word in segment.words:
            assert word.word and word.word == word.word.strip()
            assert "<|" not in word.word  # Whisper special tokens are removed
            assert segment.start <= word.start <= word.end <= segment.end
            assert word.start >= previous_start
            assert type(word.start) is float and type(word.end) is float
            previous_start = word.start
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)


# --- through the model host --------------------------------------------------------


def test_metadata() -> None:
    cls = get_plugin("transformers_asr")
    info = plugin_info(cls)
    assert (info.name, info.kind, info.languages) == ("transformers_asr", "audio", ["en"])
    assert cls.supports_gpu is True


def test_run_file_gives_timed_words(
    runner: PluginRunner, kind: str, durations: dict[Path, float]
) -> None:
    raw = runner.run_file(str(AUDIO))
    result = AudioProcessingResult.model_validate(raw)
    check_result(result, durations[AUDIO])
    if kind == "ctc":
        # CTC words are joined with single spaces: the split text is the word list.
        words = [w.word for s in result.segments for w in s.words or []]
        assert result.text.split() == words
        assert len(words) > 1


def test_host_batch_equals_single_runs(runner: PluginRunner) -> None:
    assert runner.has_batch_method
    paths = [str(AUDIO), str(LONGER)]
    assert runner.run_files(paths) == [runner.run_file(path) for path in paths]


# --- the plugin's batch method -----------------------------------------------------


def test_batch_returns_one_result_per_file_in_order(plugin, durations) -> None:
    # batch_size=2: AUDIO is padded to LONGER's length in the first batch, then
    # AUDIO runs alone in the second.
    batch = plugin.process_audio_batch([str(AUDIO), str(LONGER), str(AUDIO)])
    singles = {path: plugin.process_audio(str(path)) for path in (AUDIO, LONGER)}
    assert len(batch) == 3
    assert batch == [singles[AUDIO], singles[LONGER], singles[AUDIO]]
    assert batch[0] != batch[1]
    for result, path in zip(batch, (AUDIO, LONGER, AUDIO), strict=True):
        assert isinstance(result, AudioProcessingResult)
        check_result(result, durations[path])
    assert plugin.process_audio_batch([]) == []


def test_whisper_segment_timestamps(model_dirs, durations) -> None:
    segments = instantiate_plugin(
        get_plugin("transformers_asr"),
        options("whisper", model_dirs["whisper"], return_timestamps="segment"),
    )
    result = segments.process_audio(str(AUDIO))
    assert result.segments
    assert result.text == " ".join(s.text for s in result.segments)
    for segment in result.segments:
        assert segment.words is None
        assert 0 <= segment.start <= segment.end <= durations[AUDIO] + 0.05


def test_bad_options_are_refused(model_dirs) -> None:
    cls = get_plugin("transformers_asr")
    with pytest.raises(ValueError, match="needs a Whisper model"):
        instantiate_plugin(cls, options("ctc", model_dirs["ctc"], return_timestamps="segment"))
    with pytest.raises(ValueError, match="torch_dtype"):
        instantiate_plugin(cls, options("ctc", model_dirs["ctc"], torch_dtype="int3"))
    with pytest.raises(ValueError, match="device"):
        instantiate_plugin(cls, options("ctc", model_dirs["ctc"], device="gpu-please"))


def test_missing_file_raises(plugin) -> None:
    with pytest.raises(FileNotFoundError):
        plugin.process_audio(str(REPO / "tests" / "data" / "no-such-file.mp3"))


# --- optional dependency -----------------------------------------------------------


def test_importing_the_plugin_loads_neither_transformers_nor_torch() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        import plugins.transformers_asr_plugin
        from core.plugins import list_registered
        print(json.dumps({
            "loaded": [m for m in ("transformers", "torch") if m in sys.modules],
            "registered": [i.name for i in list_registered()],
        }))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"loaded": [], "registered": ["transformers_asr"]}


def test_without_transformers_instantiation_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r"pip install \.\[transformers\]"):
        instantiate_plugin(get_plugin("transformers_asr"), {"model": "unused"})


# --- pure parts --------------------------------------------------------------------


def test_words_are_grouped_into_segments_at_pauses() -> None:
    output = {
        "text": " Every path is the right path.",
        "chunks": [
            {"text": " Every", "timestamp": (0.10, 0.40)},
            {"text": " path", "timestamp": (0.40, 0.70)},
            {"text": " is", "timestamp": (1.30, 1.40)},  # 0.6 s pause before
            {"text": " the", "timestamp": (1.45, 1.50)},
            {"text": " right", "timestamp": (1.50, 1.70)},
            {"text": " path.", "timestamp": (1.70, None)},  # no end: up to the duration
        ],
    }
    result = result_from_pipeline_output(output, 2.0, segment_pause_s=0.5, word_separator="")
    assert [(s.text, s.start, s.end) for s in result.segments] == [
        ("Every path", 0.10, 0.70),
        ("is the right path.", 1.30, 2.0),
    ]
    assert result.text == "Every path is the right path."
    assert [w.word for w in result.segments[1].words] == ["is", "the", "right", "path."]
    assert all(w.probability is None for s in result.segments for w in s.words)


def test_times_are_clamped_to_the_recording_and_kept_in_order() -> None:
    output = {
        "text": "a b c d",
        "chunks": [
            {"text": "a", "timestamp": (0.5, 0.9)},
            {"text": "b", "timestamp": (0.3, 0.2)},  # before its predecessor, end < start
            {"text": "<|0.08|>", "timestamp": (0.9, 0.9)},  # a stray Whisper token
            {"text": "c", "timestamp": (27.6, 28.0)},  # Whisper pads inputs to 30 s
            {"text": " ", "timestamp": (1.0, 1.1)},
        ],
    }
    result = result_from_pipeline_output(output, 1.5, segment_pause_s=10.0)
    words = [(w.word, w.start, w.end) for w in result.segments[0].words]
    assert words == [("a", 0.5, 0.9), ("b", 0.5, 0.5), ("c", 1.5, 1.5)]
    assert result.text == "a b c"


def test_whisper_special_tokens_are_removed_from_words_and_text() -> None:
    output = {
        "text": "",
        "chunks": [
            {"text": " right <|1.00|>", "timestamp": (0.2, 0.4)},
            {"text": "<|endoftext|>", "timestamp": (0.4, 0.4)},
            {"text": " path.", "timestamp": (0.5, 0.7)},
        ],
    }
    result = result_from_pipeline_output(output, 1.0, word_separator="")
    assert result.text == "right path."
    assert [w.word for s in result.segments for w in s.words] == ["right", "path."]


def test_without_chunks_text_only() -> None:
    result = result_from_pipeline_output({"text": " hello there "}, 3.0)
    assert result == AudioProcessingResult(text="hello there", segments=[])


def test_ctc_stride_trims_exactly_the_padding_frames(model_dirs) -> None:
    model = transformers.Wav2Vec2ForCTC.from_pretrained(model_dirs["ctc"])
    ratio = model.config.inputs_to_logits_ratio  # 320 samples per frame
    # AUDIO has 28416 samples at 16 kHz: the convolutions give 88 frames, and the
    # pipeline would keep round(28416 / 320) = 89, one frame of batch padding.
    assert _ctc_stride(28416, 88, ratio) == ratio
    strided = 0
    for samples in range(400, 200_000, 97):
        frames = int(model._get_feat_extract_output_lengths(torch.tensor(samples)))
        planned = round(samples / ratio)
        right = _ctc_stride(samples, frames, ratio)
        # What the pipeline keeps (transformers' rescale_stride), as in the plugin.
        kept = planned - (0 if right is None else round(right / samples * planned))
        assert kept == frames if right is not None else planned <= frames, samples
        strided += right is not None
    assert strided > 0
