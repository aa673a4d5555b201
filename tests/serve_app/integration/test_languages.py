"""Russian and Arabic readings through the HTTP API on the Serve app.

The module deploys the language models next to the session's (and removes them
after): Whisper base (``whisper-base``, multilingual, its two PyPI parts joined),
``rus_tesseract`` and ``ara_tesseract``.

``tests/data/ru_miscue.*`` is espeak-ng's Russian voice reading a page with one word
substituted and one omitted; ``ar_miscue.*`` the same for Arabic (made by
``python -m bench.build_set --fixture tests/data/ru_miscue --language ru``). espeak-ng's
Arabic voice is not recognised by Whisper base (docs/accuracy.md), so the Arabic test
checks that the whole audio path runs and prints what it measured; the Arabic reading
order and alignment are tested without the voice (tests/plugins, tests/core/reading).
"""

from __future__ import annotations

import json

import pytest
from ray import serve

from tests.conftest import DATA, wait_until
from tests.serve_app.integration.conftest import (
    make_account,
    models_copy,
    session_apps,
    upload,
    wait_for_task,
)

pytestmark = pytest.mark.serve

LANGUAGE_MODELS = {
    "asr-whisper-base": {
        "plugin": "whisper",
        "name": "whisper-base",
        "options": {"weights": "base", "language": None, "compute_type": "int8"},
        "use_gpu": False,
        "cpu_threads": 2,
        "deployment": {"ray_actor_options": {"num_cpus": 0.1}},
    },
    "ocr-rus_tesseract": {
        "plugin": "rus_tesseract", "deployment": {"ray_actor_options": {"num_cpus": 0.02}},
    },
    "ocr-ara_tesseract": {
        "plugin": "ara_tesseract", "deployment": {"ray_actor_options": {"num_cpus": 0.02}},
    },
}


def _truth(stem: str) -> dict:
    return json.loads((DATA / f"{stem}.json").read_text())


@pytest.fixture(scope="module")
def languages_deployed(serve_cluster):
    models = {**models_copy(), **LANGUAGE_MODELS}
    serve_cluster.deploy(models)
    serve_cluster.wait_running(set(LANGUAGE_MODELS), timeout_s=300)
    yield
    serve_cluster.deploy()
    wait_until(lambda: set(serve.status().applications) == session_apps(), 120,
               interval_s=0.5, what="the session config restored")


@pytest.fixture(scope="module")
def user(http, languages_deployed):
    account = make_account(http)
    wait_until(
        lambda: {"whisper-base"} <= _names(http, account, "audio")
        and {"rus_tesseract", "ara_tesseract"} <= _names(http, account, "image"),
        60, interval_s=0.5, what="the language models listed",
    )
    return account


def _names(http, account, kind: str) -> set[str]:
    body = http.get(f"/v1/{kind}/models", headers=account.headers).json()
    return {m["name"] for m in body["models"]}


def _files(http, account, stem: str) -> dict[str, str]:
    audio = upload(http, account, "audio", DATA / f"{stem}.mp3")
    image = upload(http, account, "image", DATA / f"{stem}.png")
    assert audio.status_code == 200 and image.status_code == 200, (audio.text, image.text)
    return {"audio": audio.json()["file_id"], "image": image.json()["file_id"]}


def _finished(http, account, mode: str, body: dict) -> dict:
    response = http.post(f"/v1/comparison/audio/{mode}/task", json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    status = wait_for_task(http, account, task_id, timeout_s=300)
    assert status["status"] == "completed", status
    result = http.get(f"/v1/comparison/audio/{mode}/result", params={"task_id": task_id},
                      headers=account.headers)
    assert result.status_code == 200, result.text
    return {**result.json(), "task_id": task_id}


def test_the_models_list_their_real_languages(http, user):
    audio, image = ({
        m["name"]: m
        for m in http.get(f"/v1/{kind}/models", headers=user.headers).json()["models"]
    } for kind in ("audio", "image"))
    assert {"en", "ru", "ar"} <= set(audio["whisper-base"]["languages"])
    assert audio["whisper"]["languages"] == ["en"]
    assert image["rus_tesseract"]["languages"] == ["ru"]
    assert image["ara_tesseract"]["languages"] == ["ar"]
    assert image["eng_tesseract"]["languages"] == ["en"]
    assert "English only" in image["en_easyocr"]["description"]


def test_a_model_that_cannot_read_the_language_is_422(http, user):
    files = _files(http, user, "ru_miscue")
    response = http.post(
        "/v1/comparison/audio/text/task", headers=user.headers,
        json={"audio_file": files["audio"], "text": ["Маша"], "audio_model": "whisper",
              "language": "ru"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "Model 'whisper' cannot read language 'ru'; its languages: en"
    )


def _planted(truth: dict) -> list[tuple[str, str, str]]:
    return [(m["type"], m["expected"], m["found"]) for m in truth["miscues"]]


def _found(body: dict) -> list[tuple[str, str, str]]:
    return [(e["type"], e["expected"].strip(".,!?"), e["found"].strip(".,!?"))
            for e in body["errors"]]


def _check_russian(body: dict, truth: dict) -> dict[str, list[int]]:
    """Both planted miscues are reported at their words, with times and evidence.

    The omission ("быстро") is reported as an omission. The substitution ("красным"
    read "синим") is reported at "красным", but Whisper base does not hear "синим" in
    espeak-ng's voice (its primed transcript writes the page back, and the audio
    favours skipping the word over "синим" by 11.5 - 4.7 nats), so it is typed an
    omission; docs/accuracy.md gives the rates on the benchmark.
    """
    assert body["language"] == "ru"
    errors = body["errors"]
    assert [e["expected"].strip(".,!?") for e in errors] == [
        m["expected"] for m in truth["miscues"]
    ], errors
    substitution, omission = errors
    assert substitution["type"] in ("substitution", "omission")
    assert (omission["type"], omission["found"]) == ("omission", "")
    for error in errors:
        # Times: inside the speech; an omission is a gap, a substitution a word.
        assert truth["speech_start"] - 0.3 <= error["start"] <= error["end"]
        assert error["end"] <= truth["speech_end"] + 0.3
        assert 0.0 < error["confidence"] <= 1.0
        assert error["evidence"] is not None
    # In reading order: "красным" (word 6) is read before "быстро" (word 17).
    assert substitution["end"] <= omission["start"] + 0.3
    return {w["word"].strip(".,!?"): w["box"] for w in truth["words"]}


def test_a_russian_reading_against_its_text(http, user):
    truth = _truth("ru_miscue")
    files = _files(http, user, "ru_miscue")
    body = _finished(http, user, "text", {
        "audio_file": files["audio"], "text": [truth["reference"]],
        "audio_model": "whisper-base", "language": "ru",
    })
    _check_russian(body, truth)


def test_a_russian_reading_against_its_photo_read_by_rus_tesseract(http, user):
    truth = _truth("ru_miscue")
    files = _files(http, user, "ru_miscue")
    # No language given: rus_tesseract reads only Russian, so the task is Russian.
    body = _finished(http, user, "image", {
        "audio_file": files["audio"], "image_file": files["image"],
        "audio_model": "whisper-base", "image_model": "rus_tesseract",
    })
    words = _check_russian(body, truth)
    for error in body["errors"]:
        expected = words[error["expected"].strip(".,!?")]
        box = error["box"]
        assert abs(box["left_top"]["x"] - expected[0]) <= 12, (box, expected)
        assert abs(box["right_bottom"]["x"] - expected[2]) <= 12, (box, expected)
    annotated = http.get("/v1/comparison/audio/image/annotated",
                         params={"task_id": body["task_id"]}, headers=user.headers)
    assert annotated.status_code == 200 and annotated.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_arabic_reading_runs_the_whole_audio_path(http, user):
    truth = _truth("ar_miscue")
    files = _files(http, user, "ar_miscue")
    body = _finished(http, user, "image", {
        "audio_file": files["audio"], "image_file": files["image"],
        "audio_model": "whisper-base", "image_model": "ara_tesseract",
    })
    assert body["language"] == "ar"
    page_words = truth["reference"].split()
    # The page as read by ara_tesseract, in right-to-left reading order.
    assert len(body["image"]["boxes"]) >= len(page_words) - 2
    summary = body["summary"]
    found = set(_found(body))
    planted = set(_planted(truth))
    print(
        f"\nArabic (espeak-ng ar, whisper-base, ara_tesseract): heard {body['audio']['text']!r}; "
        f"{len(body['errors'])} miscues reported, {len(found & planted)} of "
        f"{len(planted)} planted found; accuracy {summary['accuracy']:.1f} %"
    )
    assert summary["words_in_reference"] >= len(page_words) - 2
