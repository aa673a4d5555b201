"""Which language a reading is checked in: asked for, implied by the models, or detected.

A comparison reads one page in one language. The language decides the ASR decoding,
the normalisation of words (:mod:`core.reading.normalize`) and the reading check's
near-words. It is settled in this order:

1. ``language`` of the request (ISO 639-1). Every model of the task must list it
   (its ``languages``), else :class:`LanguageUnsupported` (the API answers 422).
2. The one language every model of the task lists (e.g. ``rus_tesseract`` with the
   multilingual Whisper base: ``ru``).
3. Otherwise the ASR model's language detection, accepted only when it is
   unambiguous (:func:`accept_detection`): the detected language is one the models
   share and its probability is at least :data:`DETECTION_MIN_PROBABILITY`.

Codes are ISO 639-1 (two lower-case letters), the codes Whisper and the model
catalog use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "DETECTION_MIN_PROBABILITY",
    "LANGUAGE_PATTERN",
    "LanguageChoice",
    "LanguageUnsupported",
    "accept_detection",
    "choose_language",
]

#: An ISO 639-1 code, as the API accepts it.
LANGUAGE_PATTERN = r"^[a-z]{2}$"
_CODE = re.compile(LANGUAGE_PATTERN)

#: Lowest probability of Whisper's language detection (over its ~100 languages)
#: that is taken without a ``language`` in the request. Measured here: Whisper base
#: gives 0.99 for English speech, but 0.25 ("cs") for espeak-ng's Russian voice, a
#: case that must be refused, not guessed.
DETECTION_MIN_PROBABILITY = 0.5


class LanguageUnsupported(ValueError):
    """The language asked for (or any language at all) is not one the models can read."""


@dataclass(frozen=True)
class LanguageChoice:
    """The outcome of :func:`choose_language`.

    Attributes:
        language: The language to check the reading in, or ``None`` when it must
            be detected from the recording.
        candidates: The languages every model lists (``None``: any, for models
            that list none); detection must land on one of them.
    """

    language: str | None
    candidates: tuple[str, ...] | None


def choose_language(
    requested: str | None, models: Sequence[tuple[str, Sequence[str]]]
) -> LanguageChoice:
    """Settle the language of a comparison from the request and its models.

    Args:
        requested: ISO 639-1 code from the request, or ``None``.
        models: ``(name, languages)`` of each model of the task (ISO 639-1 codes);
            a model with an empty list is taken to read any language.

    Returns:
        The language, or ``None`` with the candidates to detect among.

    Raises:
        LanguageUnsupported: ``requested`` is not an ISO 639-1 code, or a model
            does not list it, or the models share no language.
    """
    listed = [(name, [code.lower() for code in codes]) for name, codes in models if codes]
    if requested is not None:
        code = requested.strip().lower()
        if not _CODE.match(code):
            raise LanguageUnsupported(
                f"language must be an ISO 639-1 code such as 'en', 'ru' or 'ar', not {requested!r}"
            )
        for name, codes in listed:
            if code not in codes:
                raise LanguageUnsupported(
                    f"Model {name!r} cannot read language {code!r}; its languages: "
                    f"{_shown(codes)}"
                )
        return LanguageChoice(code, (code,))
    if not listed:
        return LanguageChoice(None, None)
    shared = [code for code in listed[0][1] if all(code in codes for _, codes in listed[1:])]
    if not shared:
        names = " and ".join(repr(name) for name, _ in listed)
        raise LanguageUnsupported(
            f"Models {names} share no language: "
            + "; ".join(f"{name}: {_shown(codes)}" for name, codes in listed)
        )
    if len(shared) == 1:
        return LanguageChoice(shared[0], (shared[0],))
    return LanguageChoice(None, tuple(shared))


def accept_detection(
    detected: str | None,
    probability: float | None,
    candidates: Sequence[str] | None,
) -> str:
    """The detected language when it is unambiguous.

    Args:
        detected: The ASR model's detected language (ISO 639-1), if it detected one.
        probability: Its probability, 0..1.
        candidates: Languages the task's models share (``None``: any).

    Returns:
        ``detected``.

    Raises:
        LanguageUnsupported: nothing detected, the probability is below
            :data:`DETECTION_MIN_PROBABILITY`, or the language is not a candidate.
            The message tells the client to pass ``language``.
    """
    hint = "; pass `language` (ISO 639-1) with the task"
    if detected is None or probability is None:
        raise LanguageUnsupported("The recording's language was not detected" + hint)
    if probability < DETECTION_MIN_PROBABILITY:
        raise LanguageUnsupported(
            f"The recording's language is unclear (most likely {detected!r}, "
            f"probability {probability:.2f})" + hint
        )
    if candidates is not None and detected not in candidates:
        raise LanguageUnsupported(
            f"The recording sounds like {detected!r}, which the page's model cannot read "
            f"(its languages: {_shown(candidates)})" + hint
        )
    return detected


def _shown(codes: Sequence[str]) -> str:
    codes = list(codes)
    return ", ".join(codes[:12]) + (f" and {len(codes) - 12} more" if len(codes) > 12 else "")
