"""A cheap ASR plugin for serving tests: sleeps instead of computing.

Its transcript is ``"<label> <batch size> <CUDA_VISIBLE_DEVICES>"`` so tests can
tell which weights (``label``) answered, whether requests were batched and which
GPU the replica was given, without loading a real model. With ``hang_on`` set, a
call whose reference text contains it sleeps ``hang_s`` (a hung model); ``load_s``
stands for the time real weights take to load, so a replacement replica is not
instantly back.
"""

from __future__ import annotations

import os
import time

from core.plugins import AudioChunk, AudioProcessingResult, register_plugin


@register_plugin
class SleepyASRPlugin:
    name = "sleepy_asr"
    languages = ["en"]
    description = "Test plugin: sleeps delay_s per call, answers with its label"
    supports_gpu = True

    def __init__(
        self,
        label: str = "v1",
        delay_s: float = 0.2,
        fail_on: str = "",
        hang_on: str = "",
        hang_s: float = 3600.0,
        load_s: float = 0.0,
    ) -> None:
        time.sleep(load_s)
        self.label = label
        self.delay_s = delay_s
        self.fail_on = fail_on
        self.hang_on = hang_on
        self.hang_s = hang_s
        self.device = os.environ.get("CUDA_VISIBLE_DEVICES", "unset") or "none"

    def _result(self, filename: str, batch_size: int) -> AudioProcessingResult:
        if self.fail_on and self.fail_on in filename:
            raise ValueError(f"cannot read {filename}")
        text = f"{self.label} {batch_size} {self.device}"
        return AudioProcessingResult(
            text=text, segments=[AudioChunk(start=0.0, end=1.0, text=text)]
        )

    def process_audio(
        self, filename: str, reference_text: str | None = None
    ) -> AudioProcessingResult:
        if self.hang_on and reference_text and self.hang_on in reference_text:
            time.sleep(self.hang_s)
        time.sleep(self.delay_s)
        return self._result(filename, 1)

    def process_audio_batch(self, filenames: list[str]) -> list[AudioProcessingResult]:
        time.sleep(self.delay_s)  # one "forward pass" for the whole batch
        return [self._result(name, len(filenames)) for name in filenames]
