"""English text recognition with the Tesseract OCR engine (through pytesseract).

Importing this file only registers the plugin class; ``pytesseract`` is imported and
the Tesseract binary and language data are checked when the class is instantiated.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any

from core.plugins import ImageProcessingResult, ImageTextBox, Rectangle, register_plugin


@register_plugin
class EngTesseractPlugin:
    """English OCR with Tesseract: one box per word, in Tesseract's reading order.

    Tesseract does its own page layout analysis, so words come in its order (block,
    paragraph, line, word) rather than through :mod:`core.page.layout`.
    """

    name = "eng_tesseract"
    languages = ["en"]
    description = "Tesseract OCR (LSTM engine, English data) via pytesseract; one box per word."

    def __init__(
        self,
        lang: str = "eng",
        psm: int = 3,
        tessdata_dir: str | None = None,
        tesseract_cmd: str | None = None,
        min_confidence: float = 0,
    ) -> None:
        """Check that Tesseract and its language data are available.

        Args:
            lang: Tesseract language code(s), ``+``-separated (e.g. ``"eng+fra"``).
                Default ``"eng"`` (Debian package ``tesseract-ocr-eng``).
            psm: Page segmentation mode (``--psm``, 0-13). Default 3, Tesseract's
                own default: fully automatic page segmentation without orientation
                detection. 6 (a single uniform block of text) can help on tight crops.
            tessdata_dir: Folder with ``<lang>.traineddata`` files, passed as
                ``--tessdata-dir``, e.g. for ``tessdata_best`` models. Default
                ``None``: Tesseract's built-in location (or ``TESSDATA_PREFIX``).
            tesseract_cmd: Path of the ``tesseract`` executable. Default ``None``:
                ``tesseract`` on ``PATH``. pytesseract keeps this in a module-level
                setting, so it applies to the whole process (the last instance
                created with an explicit path wins).
            min_confidence: Drop words whose Tesseract confidence (0-100) is below
                this. Default 0 keeps every recognised word. Layout rows (conf -1)
                are always dropped.

        Raises:
            RuntimeError: if the Tesseract binary cannot be run or a language's
                data is not installed.
        """
        import pytesseract

        self.lang = lang
        self.psm = int(psm)
        self.tessdata_dir = tessdata_dir
        self.min_confidence = float(min_confidence)
        tessdata_option = f"--tessdata-dir {shlex.quote(str(tessdata_dir))}" if tessdata_dir else ""
        self.config = f"--psm {self.psm} {tessdata_option}".strip()

        previous_command = pytesseract.pytesseract.tesseract_cmd
        command = previous_command if tesseract_cmd is None else str(tesseract_cmd)
        pytesseract.pytesseract.tesseract_cmd = command
        try:
            self.version = pytesseract.get_tesseract_version()
            available = pytesseract.get_languages(config=tessdata_option)
        except (
            pytesseract.TesseractNotFoundError,
            subprocess.CalledProcessError,
            SystemExit,
        ) as error:
            # Not found, failed, or (SystemExit, pytesseract's choice) an unparsable or
            # too old version. Leave pytesseract's process-wide setting as it was.
            pytesseract.pytesseract.tesseract_cmd = previous_command
            raise RuntimeError(
                f"Tesseract binary {command!r} not found or not usable ({error}); "
                "install tesseract-ocr (>= 4) or pass tesseract_cmd=<path to tesseract>"
            ) from error
        missing = [code for code in lang.split("+") if code not in available]
        if missing:
            pytesseract.pytesseract.tesseract_cmd = previous_command
            where = f"in {tessdata_dir}" if tessdata_dir else "in Tesseract's tessdata folder"
            raise RuntimeError(
                f"Tesseract language data {missing} not found {where} "
                f"(available: {available}); install tesseract-ocr-<lang> or set "
                "tessdata_dir"
            )

    def process_image(self, filename: str) -> ImageProcessingResult:
        """Recognise the text on an image file.

        Args:
            filename: Path of an image file Tesseract (Leptonica) can read.

        Returns:
            One axis-aligned ``ImageTextBox`` per word (pixels, from Tesseract's
            left/top/width/height), ``confidence`` = Tesseract's confidence / 100,
            in Tesseract's order (block, paragraph, line, word); the text is the
            words joined with single spaces.
        """
        import pytesseract

        data = pytesseract.image_to_data(
            filename,
            lang=self.lang,
            config=self.config,
            output_type=pytesseract.Output.DICT,
        )
        # An empty TSV (no header) gives an empty dict.
        rows = [{key: data[key][i] for key in data} for i in range(len(data.get("text", ())))]
        rows.sort(key=_reading_key)
        boxes: list[ImageTextBox] = []
        for row in rows:
            text = str(row["text"]).strip()
            confidence = float(row["conf"])
            if confidence < 0 or not text or confidence < self.min_confidence:
                continue
            left, top = int(row["left"]), int(row["top"])
            boxes.append(
                ImageTextBox(
                    text=text,
                    coordinates=Rectangle.from_bounds(
                        left, top, left + int(row["width"]), top + int(row["height"])
                    ),
                    confidence=min(confidence / 100.0, 1.0),
                )
            )
        return ImageProcessingResult(text=" ".join(box.text for box in boxes), boxes=boxes)


def _reading_key(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(
        int(row[key]) for key in ("page_num", "block_num", "par_num", "line_num", "word_num")
    )
