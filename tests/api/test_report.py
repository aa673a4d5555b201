"""The printable report of one reading (``GET /v1/comparison/audio/{image,text}/report``),
in-process: real Redis and storage, tasks finished with results the real pipeline
computed (``tests/core/report/data``: Whisper tiny.en and EasyOCR on
``tests/data/miscue.*``), the photo uploaded as the task's.

The router is included here when ``api.app`` does not include it yet.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from api.routes import report
from tests.api.conftest import ApiHarness
from tests.api.test_isolation import TASK_UNAVAILABLE, finish

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = Path(__file__).resolve().parents[1] / "core" / "report" / "data"
IMAGE_REPORT = "/v1/comparison/audio/image/report"
TEXT_REPORT = "/v1/comparison/audio/text/report"
NOT_READY = "Results are not ready yet or no task with such id exist"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def reports(api: ApiHarness) -> ApiHarness:
    """The harness, its app serving the report routes (included here if need be)."""
    app = api.client.app
    if IMAGE_REPORT not in {getattr(route, "path", None) for route in app.routes}:
        app.include_router(report.router, prefix="/v1")
        app.openapi_schema = None
    return api


class Reader:
    """A user with the miscue recording and photo uploaded."""

    def __init__(self, api: ApiHarness) -> None:
        self.api = api
        self.headers = api.account()
        self.audio = self.upload("audio", DATA / "miscue.mp3")
        self.image = self.upload("image", DATA / "miscue.png")

    def upload(self, kind: str, path: Path) -> str:
        response = self.api.client.post(
            f"/v1/{kind}/upload", files={"upload_file": (path.name, path.read_bytes())},
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        return response.json()["file_id"]

    def create(self, mode: str, text: list[str] | None = None) -> str:
        """A queued comparison task (``mode``: ``image`` or ``text``)."""
        body: dict[str, Any] = {"audio_file": self.audio, "audio_model": "whisper"}
        if mode == "image":
            body |= {"image_file": self.image, "image_model": "en_easyocr"}
        else:
            body["text"] = text or fixture("miscue_text.json")["task"]["text"]
        response = self.api.client.post(
            f"/v1/comparison/audio/{mode}/task", json=body, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()["task_id"]

    def finished(self, mode: str, result: dict[str, Any], text: list[str] | None = None) -> str:
        task_id = self.create(mode, text)
        tasks = self.api.services.tasks
        self.api.client.portal.call(lambda: finish(tasks, task_id, result=result))
        return task_id

    def get(self, path: str, task_id: str, **params: Any) -> httpx.Response:
        return self.api.client.get(
            path, params={"task_id": task_id, **params}, headers=self.headers
        )


@pytest.fixture
def reader(reports: ApiHarness) -> Reader:
    return Reader(reports)


def miscue_markup(kind: str, note: str, word: str) -> re.Pattern[str]:
    """A marked miscue in the report's text: its note (heard / skipped) above the word."""
    return re.compile(
        rf'<span class="m {kind}"[^>]*><span class="note">{re.escape(note)}</span>'
        rf'<span class="word">{re.escape(word)}</span></span><sup class="n">\d+</sup>'
    )


def test_the_html_report_of_a_photo_marks_each_miscue(reader: Reader):
    task_id = reader.finished("image", fixture("miscue_image.json")["result"])
    response = reader.get(IMAGE_REPORT, task_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["content-disposition"] == f'inline; filename="reading-{task_id}.html"'
    html = response.text
    assert miscue_markup("substitution", "black", "brown").search(html)
    assert miscue_markup("omission", "skipped", "green").search(html)
    # The summary, and each miscue's row with its times (mm:ss.s) and confidence.
    for figure in ("88.9 %", "169.6", "94.4 %", "16 of 18 words", "00:05.7"):
        assert figure in html
    table = html[html.index('<section class="miscues">'):]
    rows = re.findall(r"<tr>\s*(.*?)\s*</tr>", table, re.S)[1:]
    cells = [re.findall(r"<td[^>]*>(?:<span[^>]*></span>)?(.*?)</td>", row) for row in rows]
    assert cells == [
        ["1", "Substitution", "brown", "black", "00:00.9–00:01.3", "99.7 %"],
        ["2", "Omission", "green", "—", "00:02.4", "99.2 %"],
    ]
    # Self-contained: the annotated photo is embedded, nothing is loaded from a URL.
    [uri] = re.findall(r'<img src="(data:image/png;base64,[^"]+)"', html)
    photo = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    page = Image.open(DATA / "miscue.png")
    assert photo.width == page.width and photo.height > page.height  # plus the legend
    assert not re.search(r"(src|href)=\"(?!data:)", html)
    assert "<script" not in html


def test_the_html_report_of_a_text_marks_the_text_items_joined(reader: Reader):
    doc = fixture("miscue_text.json")
    task_id = reader.finished("text", doc["result"], doc["task"]["text"])
    response = reader.get(TEXT_REPORT, task_id)
    assert response.status_code == 200, response.text
    html = response.text
    assert miscue_markup("substitution", "black", "brown").search(html)
    assert miscue_markup("omission", "skipped", "green").search(html)
    assert miscue_markup("substitution", "big", "tree.").search(html)
    assert "field to find" in html  # the two items joined by a space
    assert "<img" not in html
    assert "82.4 %" in html and "00:04.8–00:05.1" in html


def test_min_confidence_leaves_out_miscues_but_the_summary_counts_them(reader: Reader):
    task_id = reader.finished("image", fixture("miscue_image.json")["result"])
    html = reader.get(IMAGE_REPORT, task_id, min_confidence=0.995).text
    assert miscue_markup("substitution", "black", "brown").search(html)  # 0.997
    assert not miscue_markup("omission", "skipped", "green").search(html)  # 0.992
    assert re.search(r"Omissions: <b>1</b>", html)
    assert "Miscues below 99.5 % confidence are not shown" in html


def hostile(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with markup in every text the report shows."""
    result = copy.deepcopy(result)
    script = "<script>alert('page')</script>"
    result["image"]["text"] = f"{script} {result['image']['text']}"
    shift = len(script) + 1
    for error in result["errors"]:
        error["ref_char"] += shift
        if error["type"] == "substitution":
            error["found"] = '"><img src=x onerror=alert(1)>'
    return result


def test_hostile_text_is_escaped(reader: Reader):
    task_id = reader.finished("image", hostile(fixture("miscue_image.json")["result"]))
    html = reader.get(IMAGE_REPORT, task_id).text
    assert "<script" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;page&#39;)&lt;/script&gt;" in html
    assert '&#34;&gt;&lt;img src=x onerror=alert(1)&gt;' in html
    assert miscue_markup("omission", "skipped", "green").search(html)  # offsets still apply

    text = ["<script>alert(1)</script> The little brown dog"]
    task_id = reader.finished("text", {"audio": {"text": "", "segments": []}, "errors": []}, text)
    html = reader.get(TEXT_REPORT, task_id).text
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_report_holds_the_miscues_summary_and_times(reader: Reader):
    task_id = reader.finished("image", fixture("miscue_image.json")["result"])
    response = reader.get(IMAGE_REPORT, task_id, format="pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == f'inline; filename="reading-{task_id}.pdf"'
    assert response.content.startswith(b"%PDF-")
    pages, text = pdf_text(response.content)
    assert pages >= 1
    for expected in ("Reading report", "Substitution", "Omission", "brown", "black", "green",
                     "88.9 %", "169.6", "00:00.9–00:01.3", "00:02.4", "99.7 %"):
        assert expected in text, expected
    # The photo is in it.
    assert any(page.images for page in PdfReader(io.BytesIO(response.content)).pages)


def test_the_pdf_report_of_a_text(reader: Reader):
    doc = fixture("miscue_text.json")
    task_id = reader.finished("text", doc["result"], doc["task"]["text"])
    response = reader.get(TEXT_REPORT, task_id, format="pdf")
    assert response.status_code == 200, response.text
    pages, text = pdf_text(response.content)
    assert pages >= 1 and "tree." in text and "big" in text and "82.4 %" in text


def test_another_users_task_is_the_same_406_as_an_unknown_one(reports: ApiHarness):
    owner, stranger = Reader(reports), Reader(reports)
    tasks = {
        IMAGE_REPORT: owner.finished("image", fixture("miscue_image.json")["result"]),
        TEXT_REPORT: owner.finished("text", fixture("miscue_text.json")["result"]),
    }
    for path, task_id in tasks.items():
        for format_ in ("html", "pdf"):
            foreign = stranger.get(path, task_id, format=format_)
            missing = stranger.get(path, str(uuid.uuid4()), format=format_)
            for response in (foreign, missing):
                assert (response.status_code, response.json()) == (
                    406, {"detail": TASK_UNAVAILABLE}
                )
            assert owner.get(path, task_id, format=format_).status_code == 200


def test_a_task_of_the_other_kind_is_422(reader: Reader):
    image_task = reader.finished("image", fixture("miscue_image.json")["result"])
    text_task = reader.finished("text", fixture("miscue_text.json")["result"])
    wrong = reader.get(TEXT_REPORT, image_task)
    assert (wrong.status_code, wrong.json()) == (
        422, {"detail": "There is no such task consists of the both audio and text"}
    )
    wrong = reader.get(IMAGE_REPORT, text_task, format="pdf")
    assert (wrong.status_code, wrong.json()) == (
        422, {"detail": "There is no such task consists of the both image and audio"}
    )


def test_unfinished_and_failed_tasks_are_406(reader: Reader):
    tasks = reader.api.services.tasks
    for path, mode in ((IMAGE_REPORT, "image"), (TEXT_REPORT, "text")):
        pending = reader.create(mode)
        response = reader.get(path, pending, format="pdf")
        assert (response.status_code, response.json()) == (406, {"detail": NOT_READY})
        failed = reader.create(mode)
        reader.api.client.portal.call(lambda t=failed: finish(tasks, t, error="model died"))
        response = reader.get(path, failed)
        assert (response.status_code, response.json()) == (
            406, {"detail": "The task failed: model died"}
        )


def test_an_unknown_format_is_422(reader: Reader):
    task_id = reader.finished("image", fixture("miscue_image.json")["result"])
    assert reader.get(IMAGE_REPORT, task_id, format="docx").status_code == 422


def test_a_deleted_photo_is_404(reader: Reader):
    task_id = reader.finished("image", fixture("miscue_image.json")["result"])
    files = reader.api.services.files
    assert reader.api.client.portal.call(files.delete, reader.image)
    response = reader.get(IMAGE_REPORT, task_id)
    assert (response.status_code, response.json()) == (
        404, {"detail": "No such image file available"}
    )


def test_the_openapi_document_gives_both_media_types_and_the_errors(reports: ApiHarness):
    paths = reports.client.get("/openapi.json").json()["paths"]
    for path, codes in ((IMAGE_REPORT, {"404", "406", "422"}), (TEXT_REPORT, {"406", "422"})):
        operation = paths[path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"text/html", "application/pdf"}
        assert codes <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} == {
            "task_id", "format", "min_confidence"
        }
