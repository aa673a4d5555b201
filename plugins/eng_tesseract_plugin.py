"""English text recognition with the Tesseract OCR engine (through pytesseract).

Importing this file only registers the plugin class; ``pytesseract`` is imported and
the Tesseract binary and language data are checked when the class is instantiated.
The shared code and the options are in :mod:`plugins.tesseract_ocr`.
"""

from __future__ import annotations

from core.plugins import register_plugin
from plugins.tesseract_ocr import TesseractOCR


@register_plugin
class EngTesseractPlugin(TesseractOCR):
    """English OCR with Tesseract: one box per word, in Tesseract's reading order.

    Tesseract does its own page layout analysis, so words come in its order (block,
    paragraph, line, word) rather than through :mod:`core.page.layout`. Options: see
    :meth:`plugins.tesseract_ocr.TesseractOCR.__init__` (default ``lang="eng"``,
    Debian package ``tesseract-ocr-eng``).
    """

    name = "eng_tesseract"
    languages = ["en"]
    description = "Tesseract OCR (LSTM engine, English data) via pytesseract; one box per word."
    default_lang = "eng"
