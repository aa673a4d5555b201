"""One generic deployment class that hosts any plugin; the config makes one per model."""

from __future__ import annotations

import threading
from typing import Any

from ray import serve

from core.hosting import PluginRunner
from core.plugins import PluginInfo
from serve_app.config import ModelConfig

__all__ = ["ModelHost"]


@serve.deployment(ray_actor_options={"num_cpus": 0.5}, max_ongoing_requests=8)
class ModelHost:
    """Loads one plugin's model in the constructor and runs it on request.

    Args:
        config: The model's entry of ``AppArgs.models`` (as a dict).
        plugin_dirs: Folders with ``*_plugin.py`` files.
        runner_cls: Injected for tests; builds the ``PluginRunner``.
    """

    def __init__(
        self,
        config: dict[str, Any],
        plugin_dirs: list[str],
        runner_cls: type[PluginRunner] = PluginRunner,
    ) -> None:
        model = ModelConfig.model_validate(config)
        self._runner = runner_cls(model.plugin, model.options, plugin_dirs, model.public_name)
        # One inference at a time per replica: models are CPU/GPU bound and not all
        # of them are thread-safe; Serve queues the rest (max_ongoing_requests).
        self._lock = threading.Lock()

    def info(self) -> PluginInfo:
        """Name, languages, description and kind (``audio``/``image``) of the model."""
        return self._runner.info

    def process(
        self, data: bytes, suffix: str, reference_text: str | None = None
    ) -> dict[str, Any]:
        """Run the model on file content.

        Args:
            data: The file's bytes (mp3 for audio, png for images).
            suffix: The file name suffix, e.g. ``".mp3"``.
            reference_text: The expected text, for ASR plugins that can use it
                (see ``PluginRunner.run_file``).

        Returns:
            ``AudioProcessingResult`` or ``ImageProcessingResult`` as a dict.
        """
        # Sync method: Serve runs it in its thread pool, off the replica's event loop.
        with self._lock:
            return self._runner.run_bytes(data, suffix, reference_text)
