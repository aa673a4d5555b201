"""What the task runner calls: models by name, and the text matcher.

Ray-free protocols: the Serve pipeline deployment implements them over deployment
handles (``serve_app.deployments.pipeline``); tests pass plain objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from core.plugins.types import AudioProcessingResult, ImageProcessingResult
from core.reading.assess import Assessment, HeardWord, RefWord

__all__ = ["ModelGateway", "TextMatcher"]


class ModelGateway(Protocol):
    """Runs a named model on a file. Raises ``TaskFailed`` for an unknown model.

    ``reference_text`` is the text the reader should be reading, for ASR plugins
    that can use it, and ``options`` the request's decoding options (see
    ``core.plugins.host.PluginRunner.run_file``).
    """

    async def transcribe(
        self,
        model: str,
        path: Path,
        reference_text: str | None = None,
        language: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> AudioProcessingResult: ...

    async def recognise(self, model: str, path: Path) -> ImageProcessingResult: ...

    async def describe(self, model: str) -> dict[str, Any]:
        """The configuration serving ``model`` (plugin, options, versions)."""
        ...


class TextMatcher(Protocol):
    """The spec's text algorithms (``core.reading.text_diff``), possibly in another process."""

    async def find_phrases(
        self, phrases: list[str], to_find: str, margin: float, score_cutoff: float,
        language: str = "en",
    ) -> list[int]: ...

    async def assess(
        self,
        reference_text: str,
        reference: list[RefWord],
        heard: list[HeardWord],
        duration: float,
        segment_lengths: list[int],
        language: str = "en",
    ) -> Assessment: ...
