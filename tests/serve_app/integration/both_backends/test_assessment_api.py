"""Reading assessment through the API on a real recording with planted miscues.

``tests/data/miscue.mp3`` is espeak-ng reading the page of ``miscue.png`` with one
word substituted ("brown" read as "black") and one omitted ("green"); ``miscue.json``
holds the truth and each printed word's pixel box (made by
``python -m bench.build_set --fixture tests/data/miscue``).
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from core.page.annotate import MISCUE_COLOURS
from tests.conftest import DATA as TESTS_DATA
from tests.serve_app.integration.conftest import make_account, upload, wait_for_task

pytestmark = pytest.mark.serve

DATA = TESTS_DATA
TRUTH = json.loads((DATA / "miscue.json").read_text())
BOXES = {w["word"].strip(".,").lower(): w["box"] for w in TRUTH["words"]}
MIN_CONFIDENCE = 0.3  # filters the tiny.en end-of-file hallucinations (docs/accuracy.md)


@pytest.fixture(scope="module")
def miscue_files(http, account) -> dict[str, str]:
    audio = upload(http, account, "audio", DATA / "miscue.mp3")
    image = upload(http, account, "image", DATA / "miscue.png")
    assert audio.status_code == 200 and image.status_code == 200
    return {"audio": audio.json()["file_id"], "image": image.json()["file_id"]}


def _finished(http, account, mode: str, body: dict) -> tuple[str, dict]:
    response = http.post(f"/v1/comparison/audio/{mode}/task", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert wait_for_task(http, account, task_id)["status"] == "completed"
    result = http.get(
        f"/v1/comparison/audio/{mode}/result",
        params={"task_id": task_id, "min_confidence": MIN_CONFIDENCE},
        headers=account.headers,
    )
    assert result.status_code == 200, result.text
    return task_id, result.json()


def _heard(body: dict, word: str) -> dict:
    """Whisper's timing of a heard word."""
    words = [w for s in body["audio"]["segments"] for w in s["words"] or []]
    [found] = [w for w in words if w["word"].strip(".,").lower() == word]
    return found


def _inside(box: dict, expected: list[int], slack: int = 12) -> bool:
    """The box covers that word horizontally and sits on its line.

    OCR line boxes (EasyOCR) are taller than the glyphs, so vertically only the
    box's centre is checked.
    """
    left, top, right, bottom = expected
    xs = [box[k]["x"] for k in ("left_top", "right_top", "left_bottom", "right_bottom")]
    ys = [box[k]["y"] for k in ("left_top", "right_top", "left_bottom", "right_bottom")]
    return (
        left - slack <= min(xs) < max(xs) <= right + slack
        and top <= (min(ys) + max(ys)) / 2 <= bottom
    )


def _check_the_two_miscues(body: dict, reference: str) -> tuple[dict, dict]:
    errors = body["errors"]
    assert [(e["type"], e["expected"].strip(".,"), e["found"]) for e in errors] == [
        ("substitution", "brown", "black"),
        ("omission", "green", ""),
    ], errors
    substitution, omission = errors
    # Each was checked against the audio: the competing reading won by a margin.
    assert substitution["evidence"]["reading"] == "black"
    assert substitution["evidence"]["page_reading"].strip(".,") == "brown"
    assert omission["evidence"]["reading"] == ""
    assert omission["evidence"]["page_reading"].strip(".,") == "green"
    for error in errors:
        assert error["evidence"]["log_likelihood_margin"] > 0
        assert error["evidence"]["source"] in {"transcript", "decoder", "lexicon"}
    assert reference[substitution["ref_char"] :].startswith("brown")
    assert reference[omission["ref_char"] :].startswith("green")
    # The substitution's time is the heard word's; the omission's is the silence
    # between "the" and "field", where "green" should have been.
    black = _heard(body, "black")
    assert (substitution["start"], substitution["end"]) == (black["start"], black["end"])
    field = _heard(body, "field")
    assert omission["end"] == field["start"] and omission["start"] <= field["start"]
    assert omission["start"] > black["end"]
    summary = body["summary"]
    words = len(TRUTH["reference"].split())
    assert (summary["words_in_reference"], summary["words_correct"]) == (words, words - 2)
    assert (summary["substitutions"], summary["omissions"]) == (1, 1)
    return substitution, omission


def test_text_mode_finds_the_substitution_and_the_omission(http, account, miscue_files):
    body_in = {
        "audio_file": miscue_files["audio"],
        "audio_model": "whisper",
        "text": [TRUTH["reference"]],
    }
    _, body = _finished(http, account, "text", body_in)
    substitution, omission = _check_the_two_miscues(body, TRUTH["reference"])
    assert substitution["box"] is None and omission["boxes"] == []


@pytest.mark.parametrize("image_model", ["eng_tesseract", "en_easyocr"])
def test_image_mode_boxes_the_right_words_and_draws_them(
    http, account, miscue_files, image_model
):
    task_id, body = _finished(
        http,
        account,
        "image",
        {
            "audio_file": miscue_files["audio"],
            "image_file": miscue_files["image"],
            "audio_model": "whisper",
            "image_model": image_model,
        },
    )
    substitution, omission = _check_the_two_miscues(body, body["image"]["text"])
    assert _inside(substitution["box"], BOXES["brown"])
    assert _inside(omission["box"], BOXES["green"])

    png = http.get(
        "/v1/comparison/audio/image/annotated",
        params={"task_id": task_id, "min_confidence": MIN_CONFIDENCE},
        headers=account.headers,
    )
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(png.content)).convert("RGB")
    assert picture.width == TRUTH["image_size"][0] and picture.height >= TRUTH["image_size"][1]
    # Each miscue's box outline is drawn in its type's colour, at the box's left edge.
    for error in (substitution, omission):
        left, top = error["box"]["left_top"]["x"], error["box"]["left_top"]["y"]
        bottom = error["box"]["left_bottom"]["y"]
        colours = {picture.getpixel((left + 1, y)) for y in range(top, bottom)}
        assert MISCUE_COLOURS[error["type"]] in colours

    stranger_headers = _stranger(http)
    hidden = http.get(
        "/v1/comparison/audio/image/annotated",
        params={"task_id": task_id},
        headers=stranger_headers,
    )
    assert hidden.status_code == 406 and "task does not exist" in hidden.json()["detail"]


def _stranger(http) -> dict[str, str]:
    return make_account(http).headers
