"""Russian text recognition with the Tesseract OCR engine (through pytesseract).

Importing this file only registers the plugin class; ``pytesseract`` is imported and
the Tesseract binary and language data are checked when the class is instantiated.
The shared code and the options are in :mod:`plugins.tesseract_ocr`.
"""

from __future__ import annotations

from core.plugins import register_plugin
from plugins.tesseract_ocr import TesseractOCR


@register_plugin
class RusTesseractPlugin(TesseractOCR):
    """Russian OCR with Tesseract: one box per word, in Tesseract's reading order.

    Options: see :meth:`plugins.tesseract_ocr.TesseractOCR.__init__` (default
    ``lang="rus"``, Debian package ``tesseract-ocr-rus``).
    """

    name = "rus_tesseract"
    languages = ["ru"]
    description = "Tesseract OCR (LSTM engine, Russian data) via pytesseract; one box per word."
    default_lang = "rus"
