"""A test ASR plugin whose model takes 3 s to load (readiness tests)."""

from __future__ import annotations

import time

from core.plugins import AudioChunk, AudioProcessingResult, register_plugin


@register_plugin
class SlowStartASRPlugin:
    name = "slow_start_asr"
    languages = ["en"]
    description = "Test plugin: loads for 3 s"

    def __init__(self, label: str = "slow") -> None:
        time.sleep(3)  # stands in for loading large weights
        self.label = label

    def process_audio(self, filename: str) -> AudioProcessingResult:
        return AudioProcessingResult(
            text=self.label, segments=[AudioChunk(start=0, end=1, text=self.label)]
        )
