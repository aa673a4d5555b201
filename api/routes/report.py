"""``/v1/comparison/audio/{image,text}/report``: a printable report of one reading.

The report (HTML, or PDF with ``format=pdf``) holds the annotated photo, the text
with each miscue marked, the summary and the miscues with their times: what a
teacher files or sends home. It is rendered by :mod:`core.report`; the task checks
and their answers are those of the result routes (``api.routes.comparison``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.routes.common import documented, finished_task, task_not_ready
from api.routes.comparison import (
    NOT_IMAGE_TASK,
    NOT_READY,
    MinConfidence,
    annotated_task_photo,
    filtered_errors,
)
from api.schemas import AudioImageComparisonResultsResponse, AudioTextComparisonResultsResponse
from core.report.pdf import html_to_pdf
from core.report.photo import fit_for_print
from core.report.render import ReadingReport, render_html
from core.stores.tasks import Task, TaskKind

router = APIRouter(
    prefix="/comparison", tags=["comparison"], dependencies=[Depends(get_current_active_user)]
)

_NOT_TEXT_TASK = "There is no such task consists of the both audio and text"

#: The document loads nothing (images are data: URIs, styles inline) and runs no script:
#: the policy says so to the browser, should untrusted text ever get past the escaping.
_HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

ReportFormat = Annotated[
    Literal["html", "pdf"],
    Query(
        alias="format",
        description="`html` (a self-contained page, its photo embedded) or `pdf` (A4).",
    ),
]

_REPORT_200: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report: an HTML page (`format=html`) or a PDF (`format=pdf`).",
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


async def _answer(report: ReadingReport, report_format: str) -> Response:
    """The report as the response in the format asked for."""
    html = render_html(report)
    stem = f"reading-{report.task_id}"
    if report_format == "pdf":
        # About a second of CPU: in a worker thread, so the event loop keeps serving.
        pdf = await asyncio.to_thread(html_to_pdf, html)
        return Response(
            pdf, media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{stem}.pdf"'},
        )
    return Response(
        html, media_type="text/html; charset=utf-8",
        headers={**_HTML_HEADERS, "Content-Disposition": f'inline; filename="{stem}.html"'},
    )


def _created(task: Task) -> datetime:
    return datetime.fromtimestamp(task.created, tz=timezone.utc)


@router.get(
    "/audio/image/report",
    response_class=Response,
    summary="A printable report of an audio/image comparison (HTML or PDF).",
    responses={
        **_REPORT_200,
        **documented(
            task_not_ready(NOT_READY),
            (404, "The task's photo no longer exists", "No such image file available"),
            (422, "The task is not an audio/image comparison", NOT_IMAGE_TASK),
        ),
    },
)
async def get_audio_image_comparison_report(
    task_id: uuid.UUID,
    user: CurrentUser,
    services: ServicesDep,
    report_format: ReportFormat = "html",
    min_confidence: MinConfidence = 0.0,
) -> Response:
    """The photo with the miscues drawn on it, the page's text with each miscue marked,
    the summary and the table of miscues (type, expected, heard, times, confidence).

    Only the task's owner can fetch it; ``min_confidence`` filters the miscues shown
    as for the result (the summary counts them all). The HTML embeds the photo, so it
    can be saved or sent as one file; the PDF is A4.
    """
    task, result = await finished_task(
        services, user, task_id, {TaskKind.AUDIO_IMAGE_COMPARISON}, NOT_READY,
        AudioImageComparisonResultsResponse, NOT_IMAGE_TASK,
    )
    errors = filtered_errors(result, min_confidence).errors
    photo = await annotated_task_photo(services, user, task, errors)
    report = ReadingReport(
        task_id=str(task_id),
        mode="audio/image",
        reference_text=result.image.text,
        errors=errors,
        summary=result.summary,
        created=_created(task),
        language=result.language or task.payload.get("language"),
        photo_png=await asyncio.to_thread(fit_for_print, photo),
        models={
            "Speech": str(task.payload.get("audio_model", "")),
            "Text recognition": str(task.payload.get("image_model", "")),
        },
        min_confidence=min_confidence,
    )
    return await _answer(report, report_format)


@router.get(
    "/audio/text/report",
    response_class=Response,
    summary="A printable report of an audio/text comparison (HTML or PDF).",
    responses={
        **_REPORT_200,
        **documented(
            task_not_ready(NOT_READY),
            (422, "The task is not an audio/text comparison", _NOT_TEXT_TASK),
        ),
    },
)
async def get_audio_text_comparison_report(
    task_id: uuid.UUID,
    user: CurrentUser,
    services: ServicesDep,
    report_format: ReportFormat = "html",
    min_confidence: MinConfidence = 0.0,
) -> Response:
    """The given text with each miscue marked, the summary and the table of miscues
    (type, expected, heard, times, confidence).

    Only the task's owner can fetch it; ``min_confidence`` filters the miscues shown
    as for the result (the summary counts them all).
    """
    task, result = await finished_task(
        services, user, task_id, {TaskKind.AUDIO_TEXT_COMPARISON}, NOT_READY,
        AudioTextComparisonResultsResponse, _NOT_TEXT_TASK,
    )
    report = ReadingReport(
        task_id=str(task_id),
        mode="audio/text",
        # The errors' ref_char point into the text items joined with single spaces.
        reference_text=" ".join(str(item) for item in task.payload.get("text", [])),
        errors=filtered_errors(result, min_confidence).errors,
        summary=result.summary,
        created=_created(task),
        language=result.language or task.payload.get("language"),
        models={"Speech": str(task.payload.get("audio_model", ""))},
        min_confidence=min_confidence,
    )
    return await _answer(report, report_format)
