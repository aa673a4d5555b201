"""The vllm_whisper plugin: its pure parts on CPU, the engine only on a CUDA GPU.

vLLM is an optional extra for GPU nodes and is not installed by ``.[dev]``. Without
it these tests check that the plugin file imports, builds the engine's arguments and
the prompts, cuts recordings into pieces with the real Silero VAD, maps outputs of
vLLM's ``RequestOutput`` shape back to results, and refuses to start with a clear
message. The engine test runs only where vLLM and a CUDA GPU are present.
"""

from __future__ import annotations

import importlib.util
import json
import os
import string
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.audio import load_audio
from core.plugins import AudioProcessingResult, get_plugin, instantiate_plugin, plugin_info
from plugins.vllm_whisper_plugin import (
    MAX_PIECE_S,
    SAMPLE_RATE,
    WHISPER_MAX_MODEL_LEN,
    Piece,
    build_prompts,
    decoder_prompt,
    engine_kwargs,
    pieces_from_spans,
    results_from_outputs,
    speech_spans,
)
from tests.conftest import REPO as TESTS_REPO

REPO = TESTS_REPO
AUDIO = REPO / "tests" / "data" / "every_path.mp3"  # 1.8 s, "Every path is the right path."
LONGER = REPO / "tests" / "data" / "miscue.mp3"  # 6.1 s


def request_output(text: str) -> SimpleNamespace:
    """A stand-in with the attributes of ``vllm.RequestOutput`` the plugin reads."""
    completion = SimpleNamespace(index=0, text=text, token_ids=[1, 2], finish_reason="stop")
    return SimpleNamespace(request_id="0", prompt="", outputs=[completion], finished=True)


# --- without vLLM -------------------------------------------------------------------


def test_metadata() -> None:
    cls = get_plugin("vllm_whisper")
    info = plugin_info(cls)
    assert (info.name, info.kind, info.languages) == ("vllm_whisper", "audio", ["en"])
    assert cls.supports_gpu is True


def test_importing_the_plugin_loads_no_engine() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        import plugins.vllm_whisper_plugin
        from core.plugins import list_registered
        heavy = ["vllm", "torch", "faster_whisper", "transformers"]
        print(json.dumps({
            "loaded": [m for m in heavy if m in sys.modules],
            "registered": [i.name for i in list_registered()],
        }))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report == {"loaded": [], "registered": ["vllm_whisper"]}


def test_without_vllm_instantiation_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # "import vllm" now raises ImportError
    with pytest.raises(ImportError, match=r"pip install \.\[vllm\]"):
        instantiate_plugin(get_plugin("vllm_whisper"), {"model": "openai/whisper-tiny"})


def test_engine_kwargs_from_options() -> None:
    kwargs = engine_kwargs(
        "/models/whisper-large-v3-turbo",
        dtype="float16",
        gpu_memory_utilization=0.5,
        max_num_seqs=8,
        engine_args={"enforce_eager": True, "max_num_seqs": 16},
    )
    assert kwargs == {
        "model": "/models/whisper-large-v3-turbo",
        "dtype": "float16",
        "gpu_memory_utilization": 0.5,
        "max_num_seqs": 16,  # engine_args win
        "max_model_len": WHISPER_MAX_MODEL_LEN,
        "limit_mm_per_prompt": {"audio": 1},
        "seed": 0,
        "enforce_eager": True,
    }
    with pytest.raises(ValueError, match="gpu_memory_utilization"):
        engine_kwargs("m", gpu_memory_utilization=1.5)
    with pytest.raises(ValueError, match="max_num_seqs"):
        engine_kwargs("m", max_num_seqs=0)


def test_decoder_prompt() -> None:
    assert decoder_prompt("en") == "<|startoftranscript|><|en|><|transcribe|><|notimestamps|>"
    assert decoder_prompt("de", "translate") == (
        "<|startoftranscript|><|de|><|translate|><|notimestamps|>"
    )
    assert decoder_prompt(None) == "<|startoftranscript|><|notimestamps|>"
    with pytest.raises(ValueError, match="task"):
        decoder_prompt("en", "summarise")
    with pytest.raises(ValueError, match="language"):
        decoder_prompt("en|><|translate")


def test_pieces_never_exceed_whisper_window() -> None:
    window = int(MAX_PIECE_S * SAMPLE_RATE)
    pieces = pieces_from_spans([(0, 100), (200, 200), (500, 500 + 2 * window + 1)], file_index=3)
    assert pieces[0] == Piece(3, 0, 100)
    assert len(pieces) == 4  # the empty span is dropped, the long one cut in three
    long_parts = pieces[1:]
    assert long_parts[0].start == 500 and long_parts[-1].end == 500 + 2 * window + 1
    assert all(a.end == b.start for a, b in zip(long_parts, long_parts[1:], strict=False))
    assert all(0 < p.end - p.start <= window for p in pieces)
    assert pieces[0].end_s == 100 / SAMPLE_RATE


def test_speech_spans_of_the_samples_are_inside_the_recordings() -> None:
    from faster_whisper import decode_audio

    for path in (AUDIO, LONGER):
        waveform = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
        spans = speech_spans(waveform)
        assert spans, path  # both recordings are speech
        assert all(0 <= a < b <= len(waveform) for a, b in spans)
        assert all(p[1] <= q[0] for p, q in zip(spans, spans[1:], strict=False))
        assert all(b - a <= MAX_PIECE_S * SAMPLE_RATE for a, b in spans)
    silence = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    assert speech_spans(silence) == []


def test_prompts_carry_each_piece_of_audio() -> None:
    waveforms = [np.arange(10, dtype=np.float32), np.arange(100, 120, dtype=np.float32)]
    pieces = [Piece(0, 2, 5), Piece(1, 0, 4), Piece(0, 7, 10)]
    prompts = build_prompts(waveforms, pieces, decoder_prompt("en"))
    assert len(prompts) == 3
    for prompt, expected in zip(prompts, ([2, 3, 4], [100, 101, 102, 103], [7, 8, 9]), strict=True):
        assert prompt["decoder_prompt"] == decoder_prompt("en")
        assert prompt["encoder_prompt"]["prompt"] == ""
        audio, rate = prompt["encoder_prompt"]["multi_modal_data"]["audio"]
        assert rate == SAMPLE_RATE
        assert audio.tolist() == expected


def test_outputs_map_back_to_their_files_in_order() -> None:
    pieces = [Piece(0, 0, 16000), Piece(1, 8000, 24000), Piece(0, 32000, 48000), Piece(1, 0, 10)]
    outputs = [
        request_output(" Every path"),
        request_output(" The little dog."),
        request_output(" is the right path. "),
        request_output("  "),  # nothing recognised: no segment
    ]
    first, second, third = results_from_outputs(outputs, pieces, file_count=3)
    assert first.text == "Every path is the right path."
    assert [(s.start, s.end, s.text) for s in first.segments] == [
        (0.0, 1.0, "Every path"),
        (2.0, 3.0, "is the right path."),
    ]
    assert [(s.start, s.end, s.text) for s in second.segments] == [(0.5, 1.5, "The little dog.")]
    assert all(s.words is None for s in first.segments + second.segments)
    assert third == AudioProcessingResult(text="", segments=[])
    with pytest.raises(ValueError, match="3 engine outputs for 4 pieces"):
        results_from_outputs(outputs[:3], pieces, file_count=3)


# --- with vLLM on a GPU -------------------------------------------------------------


def _tiny_whisper(folder: Path) -> Path:
    """The random Whisper of test_transformers_plugin, wide enough for GPU kernels."""
    spec = importlib.util.spec_from_file_location(
        "_tiny_models", Path(__file__).with_name("test_transformers_plugin.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_whisper(folder, d_model=128, heads=2)  # head size 64


def test_engine_transcribes_a_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("vllm", reason="vLLM is a GPU-only extra: pip install .[vllm]")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vLLM's Whisper needs a CUDA GPU; none is visible")
    if "VLLM_WORKER_MULTIPROC_METHOD" not in os.environ:
        monkeypatch.setenv("VLLM_WORKER_MULTIPROC_METHOD", "spawn")  # as vLLM's Whisper example
    # A real checkpoint (e.g. a local openai/whisper-tiny) makes the test check words
    # too; otherwise a random tiny Whisper checks the plumbing only.
    real_model = os.environ.get("FMR_VLLM_TEST_MODEL")
    model = real_model or str(_tiny_whisper(tmp_path))
    plugin = instantiate_plugin(
        get_plugin("vllm_whisper"),
        {"model": model, "gpu_memory_utilization": 0.3, "max_num_seqs": 4, "max_tokens": 32},
    )
    paths = [str(AUDIO), str(LONGER), str(AUDIO)]
    results = plugin.process_audio_batch(paths)
    assert len(results) == 3
    assert results[0] == results[2]
    assert results[0] == plugin.process_audio(str(AUDIO))
    for result, path in zip(results, paths, strict=True):
        duration = load_audio(path).duration_seconds
        assert result.text == " ".join(s.text for s in result.segments)
        starts = [s.start for s in result.segments]
        assert starts == sorted(starts)
        assert all(0 <= s.start < s.end <= duration + 0.05 for s in result.segments)
    if real_model:
        words = [w.strip(string.punctuation).lower() for w in results[0].text.split()]
        assert words == ["every", "path", "is", "the", "right", "path"]
