"""Multi-language text recognition with Tesseract: English, Russian and Arabic at once.

Importing this file only registers the plugin class; ``pytesseract`` is imported and
the Tesseract binary and language data are checked when the class is instantiated.
The shared code and the options are in :mod:`plugins.tesseract_ocr`.
"""

from __future__ import annotations

from core.plugins import register_plugin
from plugins.tesseract_ocr import TesseractOCR


@register_plugin
class TesseractPlugin(TesseractOCR):
    """OCR with Tesseract in several languages: one box per word, in reading order.

    Tesseract picks, word by word, the best of the loaded languages, so one page may
    mix them; on a page of a single language the language's own plugin
    (``eng_tesseract``, ``rus_tesseract``, ``ara_tesseract``) is more accurate (a
    short Arabic word can be read as Latin letters). ``lang`` selects other
    languages; ``languages`` on the instance lists what it reads. Options: see
    :meth:`plugins.tesseract_ocr.TesseractOCR.__init__` (default
    ``lang="eng+rus+ara"``, Debian packages ``tesseract-ocr-eng``,
    ``tesseract-ocr-rus``, ``tesseract-ocr-ara``).
    """

    name = "tesseract"
    languages = ["en", "ru", "ar"]
    description = (
        "Tesseract OCR (LSTM engine) via pytesseract, English, Russian and Arabic data "
        "at once by default; one box per word."
    )
    default_lang = "eng+rus+ara"
