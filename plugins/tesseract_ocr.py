"""Tesseract OCR through pytesseract: the code the Tesseract plugins share.

The plugins ``eng_tesseract``, ``rus_tesseract``, ``ara_tesseract`` and the
multi-language ``tesseract`` are thin subclasses of :class:`TesseractOCR`, each in its
own ``*_plugin.py`` file with its own ``name``, ``languages``, ``description`` and
default ``lang``. This file is not a plugin file (no ``_plugin`` suffix): importing
it registers nothing, so loading one of them by name
(:func:`core.plugins.registry.get_plugin`) registers that plugin alone.

Importing this file does not import ``pytesseract``; the Tesseract binary and the
language data are checked when a plugin is instantiated.
"""

from __future__ import annotations

import shlex
import subprocess
from typing import Any, ClassVar

from core.page.direction import strip_bidi_controls
from core.plugins import ImageProcessingResult, ImageTextBox, Rectangle

__all__ = ["TESSERACT_TO_ISO639_1", "TesseractOCR", "debian_package", "iso639_1_languages"]

#: Tesseract language codes (ISO 639-2/T, with script variants) -> ISO 639-1.
TESSERACT_TO_ISO639_1: dict[str, str] = {
    "afr": "af", "amh": "am", "ara": "ar", "aze": "az", "bel": "be", "ben": "bn",
    "bos": "bs", "bul": "bg", "cat": "ca", "ces": "cs", "chi_sim": "zh", "chi_tra": "zh",
    "cym": "cy", "dan": "da", "deu": "de", "ell": "el", "eng": "en", "epo": "eo",
    "est": "et", "eus": "eu", "fas": "fa", "fin": "fi", "fra": "fr", "gle": "ga",
    "glg": "gl", "guj": "gu", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu",
    "hye": "hy", "ind": "id", "isl": "is", "ita": "it", "jpn": "ja", "kan": "kn",
    "kat": "ka", "kaz": "kk", "khm": "km", "kir": "ky", "kor": "ko", "lao": "lo",
    "lat": "la", "lav": "lv", "lit": "lt", "mal": "ml", "mar": "mr", "mkd": "mk",
    "mon": "mn", "msa": "ms", "mya": "my", "nep": "ne", "nld": "nl", "nor": "no",
    "pan": "pa", "pol": "pl", "por": "pt", "pus": "ps", "ron": "ro", "rus": "ru",
    "sin": "si", "slk": "sk", "slv": "sl", "spa": "es", "sqi": "sq", "srp": "sr",
    "srp_latn": "sr", "swa": "sw", "swe": "sv", "tam": "ta", "tat": "tt", "tel": "te",
    "tgk": "tg", "tgl": "tl", "tha": "th", "tur": "tr", "uig": "ug", "ukr": "uk",
    "urd": "ur", "uzb": "uz", "vie": "vi", "yid": "yi",
}  # fmt: skip


def iso639_1_languages(lang: str) -> list[str]:
    """The ISO 639-1 codes of a Tesseract ``lang`` option.

    Args:
        lang: Tesseract language code(s), ``+``-separated (``"eng+rus+ara"``).

    Returns:
        One code per language, in order, without repeats (``chi_sim+chi_tra`` gives
        ``["zh"]``); a code missing from :data:`TESSERACT_TO_ISO639_1` (``osd``, a
        script model, a custom model) is kept as given.
    """
    codes: list[str] = []
    for code in lang.split("+"):
        iso = TESSERACT_TO_ISO639_1.get(code.strip(), code.strip())
        if iso and iso not in codes:
            codes.append(iso)
    return codes


def debian_package(code: str) -> str:
    """Debian/Ubuntu package holding a Tesseract language's data (``chi_sim`` ->
    ``tesseract-ocr-chi-sim``)."""
    return "tesseract-ocr-" + code.lower().replace("_", "-")


class TesseractOCR:
    """Text recognition with Tesseract: one box per word, in Tesseract's reading order.

    Not registered itself: subclasses set ``name``, ``languages``, ``description``
    and :attr:`default_lang`, and are decorated with ``@register_plugin``.

    Tesseract does its own page layout analysis, so words come in its order (block,
    paragraph, line, word). For right-to-left scripts this order is already right to
    left within a line (measured with Tesseract 5.3 and ``ara``: word 1 of a line is
    its rightmost word, and a Latin name inside the line is read left to right), so
    it is kept as it is.
    """

    #: ``lang`` used when none is given.
    default_lang: ClassVar[str] = "eng"

    def __init__(
        self,
        lang: str | None = None,
        psm: int = 3,
        tessdata_dir: str | None = None,
        tesseract_cmd: str | None = None,
        min_confidence: float = 0,
    ) -> None:
        """Check that Tesseract and its language data are available.

        Sets ``self.languages`` to the ISO 639-1 codes of ``lang``
        (:func:`iso639_1_languages`): the languages this instance really reads.

        Args:
            lang: Tesseract language code(s), ``+``-separated (e.g. ``"eng+fra"``).
                Default ``None``: the plugin's :attr:`default_lang` (``"eng"`` for
                ``eng_tesseract``, Debian package ``tesseract-ocr-eng``).
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
                data is not installed (the message names the missing codes and
                their Debian packages).
        """
        import pytesseract

        lang = self.default_lang if lang is None else lang
        self.lang = lang
        self.languages = iso639_1_languages(lang)
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
            packages = " ".join(debian_package(code) for code in missing)
            raise RuntimeError(
                f"Tesseract language data {missing} not found {where} "
                f"(available: {available}); install {packages} (Debian/Ubuntu) or set "
                "tessdata_dir"
            )

    def process_image(self, filename: str) -> ImageProcessingResult:
        """Recognise the text on an image file.

        Args:
            filename: Path of an image file Tesseract (Leptonica) can read.

        Returns:
            One axis-aligned ``ImageTextBox`` per word (pixels, from Tesseract's
            left/top/width/height), ``confidence`` = Tesseract's confidence / 100,
            in Tesseract's order (block, paragraph, line, word; right to left in a
            right-to-left line); the text is the words joined with single spaces.
            The invisible direction marks Tesseract adds to some words (U+200F
            after a Latin word on an Arabic line) are removed.
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
            text = strip_bidi_controls(str(row["text"])).strip()
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
