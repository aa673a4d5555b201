"""Validating what a plugin returns, and image batches run on upright copies.

Used by :class:`core.plugins.host.PluginRunner`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.page.deskew import upright_pages
from core.plugins import AudioProcessingResult, ImageProcessingResult

__all__ = ["normalise_audio_result", "normalise_image_result", "upright_batch"]


def normalise_audio_result(result: Any) -> AudioProcessingResult:
    """Validate a plugin's audio result and strip whitespace around texts.

    Raises:
        pydantic.ValidationError: the plugin returned something of another shape.
    """
    parsed = AudioProcessingResult.model_validate(result, from_attributes=True)
    segments = [s.model_copy(update={"text": s.text.strip()}) for s in parsed.segments]
    # ``verification`` is the host's to add (check_reading), never the plugin's.
    return parsed.model_copy(
        update={"text": parsed.text.strip(), "segments": segments, "verification": None}
    )


def normalise_image_result(result: Any) -> ImageProcessingResult:
    """Validate a plugin's image result (its boxes stay in the plugin's order).

    Raises:
        pydantic.ValidationError: the plugin returned something of another shape.
    """
    return ImageProcessingResult.model_validate(result, from_attributes=True)


def upright_batch(
    batch: Callable[[list[str]], Sequence[Any]], paths: list[str]
) -> list[ImageProcessingResult]:
    """An image plugin's batch method run on upright copies of the images
    (:func:`core.page.deskew.upright_pages`); boxes are mapped back to each image's pixels.

    Raises:
        ValueError: ``batch`` returned a result count other than ``len(paths)``.
        Whatever ``batch`` raises.
    """
    with upright_pages(paths) as pages:
        raws = batch([page.path for page in pages])
        if len(raws) != len(paths):
            raise ValueError(f"batch method returned {len(raws)} results for {len(paths)}")
        return [
            page.restore(normalise_image_result(raw)) for page, raw in zip(pages, raws, strict=True)
        ]
