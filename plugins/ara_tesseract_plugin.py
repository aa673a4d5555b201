"""Arabic text recognition with the Tesseract OCR engine (through pytesseract).

Importing this file only registers the plugin class; ``pytesseract`` is imported and
the Tesseract binary and language data are checked when the class is instantiated.
The shared code and the options are in :mod:`plugins.tesseract_ocr`.
"""

from __future__ import annotations

from core.plugins import register_plugin
from plugins.tesseract_ocr import TesseractOCR


@register_plugin
class AraTesseractPlugin(TesseractOCR):
    """Arabic OCR with Tesseract: one box per word, in reading order (right to left).

    Tesseract gives the words of an Arabic line right to left itself (see
    :class:`plugins.tesseract_ocr.TesseractOCR`). Options: see
    :meth:`plugins.tesseract_ocr.TesseractOCR.__init__` (default ``lang="ara"``,
    Debian package ``tesseract-ocr-ara``).
    """

    name = "ara_tesseract"
    languages = ["ar"]
    description = (
        "Tesseract OCR (LSTM engine, Arabic data) via pytesseract; one box per word, right to left."
    )
    default_lang = "ara"
