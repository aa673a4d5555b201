"""Schemas of ``/v1/image``: the result is the plugin type of :mod:`core.plugins.types`
under the spec's names; coordinates in pixels, origin top-left.
"""

from __future__ import annotations

from uuid import UUID

from api.schemas.common import ModelName, TaskOptions
from core.plugins.types import ImageProcessingResult, ImageTextBox, Point, Rectangle

__all__ = [
    "IPRPoint",
    "IPRRectangle",
    "IPRTextBox",
    "ImageProcessingRequest",
    "ImageProcessingResponse",
]

IPRPoint = Point
IPRRectangle = Rectangle
IPRTextBox = ImageTextBox
ImageProcessingResponse = ImageProcessingResult


class ImageProcessingRequest(TaskOptions):
    image_file: UUID | None = None
    image_model: ModelName
