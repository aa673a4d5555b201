"""A plugin in the original project's format whose model always fails.

Used by the API tests: its tasks must end ``failed`` with the reason, and the
service must keep serving.
"""

from core.plugins import AudioProcessingResult, register_plugin


@register_plugin
class BrokenASRPlugin:
    name = "broken_asr"
    languages = ["en"]
    description = "Always raises, to test failure handling"

    @staticmethod
    def process_audio(filename: str) -> AudioProcessingResult:
        raise ValueError("this model is broken on purpose")
