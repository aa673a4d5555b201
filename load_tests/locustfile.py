"""Locust load test of the main flows: upload, compare, poll, fetch the result.

    .venv/bin/locust -f load_tests/locustfile.py --headless -u 8 -r 2 -t 5m \\
        --host http://127.0.0.1:8000 --csv .data/load/run

Each simulated user registers its own account, logs in and uploads the sample recording
and photo once. It then repeats, 2-5 s apart, one of two flows: an audio/text or an
audio/image comparison task is created, its status polled every second until ``ready``,
and its result fetched. A 401 (the token expired) logs the user in again.

Besides Locust's per-request statistics, every task is recorded as a ``TASK`` entry
(turnaround from creation to ``ready``; failures carry the reason), and a summary of
created / completed / failed / lost tasks per kind is printed when the test stops. A task
whose status is not ``ready`` within ``FMR_LOAD_TASK_DEADLINE_S`` is *lost*.

Environment (all optional):
    FMR_LOAD_AUDIO, FMR_LOAD_IMAGE: sample files (default tests/data/every_path.{mp3,jpg})
    FMR_LOAD_TEXT: the text read in the recording (default "Every path is the right path.")
    FMR_LOAD_AUDIO_MODEL, FMR_LOAD_IMAGE_MODEL: model names (whisper, eng_tesseract)
    FMR_LOAD_TASK_DEADLINE_S: seconds before a task counts as lost (300)
    FMR_LOAD_POLL_S: status polling interval in seconds (1)
    FMR_LOAD_TEXT_WEIGHT, FMR_LOAD_IMAGE_WEIGHT: relative frequency of the flows (1, 1)
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
AUDIO_PATH = Path(os.environ.get("FMR_LOAD_AUDIO", DATA / "every_path.mp3"))
IMAGE_PATH = Path(os.environ.get("FMR_LOAD_IMAGE", DATA / "every_path.jpg"))
REFERENCE_TEXT = os.environ.get("FMR_LOAD_TEXT", "Every path is the right path.")
AUDIO_MODEL = os.environ.get("FMR_LOAD_AUDIO_MODEL", "whisper")
IMAGE_MODEL = os.environ.get("FMR_LOAD_IMAGE_MODEL", "eng_tesseract")
TASK_DEADLINE_S = float(os.environ.get("FMR_LOAD_TASK_DEADLINE_S", "300"))
POLL_S = float(os.environ.get("FMR_LOAD_POLL_S", "1"))
TEXT_WEIGHT = int(os.environ.get("FMR_LOAD_TEXT_WEIGHT", "1"))
IMAGE_WEIGHT = int(os.environ.get("FMR_LOAD_IMAGE_WEIGHT", "1"))

PASSWORD = "load-test-password"
OUTCOMES = ("created", "rejected", "completed", "failed", "lost")
KINDS = ("audio_text", "audio_image")

#: Task outcomes by (kind, outcome), plus ("all", "relogins"): this process's, or on the
#: master of a distributed run, every worker's.
counts: Counter[tuple[str, str]] = Counter()
_MESSAGE = "fmr_task_outcome"


class TaskLost(Exception):
    """The task's status did not become ready before the deadline."""


class TaskFailed(Exception):
    """The task finished with status failed, or its result could not be read."""


class ReadingUser(HttpUser):
    """A reader who uploads a recording and a photo, then asks for comparisons."""

    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.username = f"load-{uuid.uuid4().hex[:16]}"
        self.token: str | None = None
        self.files: dict[str, str] = {}
        self.registered = False
        self._ready()

    # -- flows -------------------------------------------------------------------------

    @task(TEXT_WEIGHT)
    def audio_text(self) -> None:
        """Compare the recording with the text it reads."""
        if self._ready():
            body = {
                "audio_file": self.files["audio"],
                "text": [REFERENCE_TEXT],
                "audio_model": AUDIO_MODEL,
            }
            self._run_task("audio_text", "/v1/comparison/audio/text", body)

    @task(IMAGE_WEIGHT)
    def audio_image(self) -> None:
        """Compare the recording with the photographed page."""
        if self._ready():
            body = {
                "audio_file": self.files["audio"],
                "image_file": self.files["image"],
                "audio_model": AUDIO_MODEL,
                "image_model": IMAGE_MODEL,
            }
            self._run_task("audio_image", "/v1/comparison/audio/image", body)

    # -- steps -------------------------------------------------------------------------

    def _run_task(self, kind: str, base: str, body: dict[str, Any]) -> None:
        """Create a task at ``{base}/task``, poll it until ready, fetch ``{base}/result``."""
        response = self._call("POST", f"{base}/task", name=f"{base}/task", json=body)
        if response is None:
            self._count(kind, "rejected")
            return
        task_id = response.json()["task_id"]
        self._count(kind, "created")
        started = time.monotonic()
        status = self._wait_ready(task_id)
        elapsed = time.monotonic() - started
        if status is None:
            self._count(kind, "lost")
            self._record_task(kind, elapsed, TaskLost(f"not ready after {TASK_DEADLINE_S:.0f} s"))
        elif status["status"] != "completed":
            self._count(kind, "failed")
            self._record_task(
                kind, elapsed, TaskFailed(f"{status['status']}: {status.get('error')}")
            )
        elif (
            self._call(
                "GET",
                f"{base}/result",
                name=f"{base}/result?task_id=[id]",
                params={"task_id": task_id},
            )
            is None
        ):
            self._count(kind, "failed")
            self._record_task(kind, elapsed, TaskFailed("completed, but the result was not served"))
        else:
            self._count(kind, "completed")
            self._record_task(kind, elapsed, None)

    def _wait_ready(self, task_id: str) -> dict[str, Any] | None:
        """The final status of the task, or None when it is not ready by the deadline."""
        deadline = time.monotonic() + TASK_DEADLINE_S
        while time.monotonic() < deadline:
            response = self._call(
                "GET",
                "/v1/task/status",
                name="/v1/task/status?task_id=[id]",
                params={"task_id": task_id},
            )
            if response is not None:
                status = response.json()
                if status["ready"]:
                    return status
            time.sleep(POLL_S)  # gevent-patched: yields to the other users
        return None

    def _count(self, kind: str, outcome: str) -> None:
        """Count one outcome here and, in a distributed run, at the master."""
        counts[(kind, outcome)] += 1
        if isinstance(self.environment.runner, WorkerRunner):
            self.environment.runner.send_message(_MESSAGE, [kind, outcome])

    def _record_task(self, kind: str, elapsed_s: float, error: Exception | None) -> None:
        """One ``TASK`` entry in Locust's statistics: the task's turnaround, or its failure."""
        self.environment.events.request.fire(
            request_type="TASK",
            name=kind,
            response_time=elapsed_s * 1000.0,
            response_length=0,
            exception=error,
            context={},
        )

    # -- session -----------------------------------------------------------------------

    def _ready(self) -> bool:
        """Registered, logged in, both samples uploaded; retries what is missing."""
        if not self.registered:
            response = self.client.put(
                "/v1/auth/register",
                params={"username": self.username, "password": PASSWORD},
                name="/v1/auth/register",
            )
            self.registered = response.status_code == 200
            if not self.registered:
                return False
        if self.token is None:
            self._login()
        if self.token is not None and len(self.files) < 2:
            self._upload_samples()
        return self.token is not None and len(self.files) == 2

    def _login(self) -> None:
        self.token = None
        response = self.client.post(
            "/v1/auth/token",
            data={"username": self.username, "password": PASSWORD},
            name="/v1/auth/token",
        )
        if response.status_code == 200:
            self.token = response.json()["access_token"]

    def _upload_samples(self) -> None:
        for kind, path in (("audio", AUDIO_PATH), ("image", IMAGE_PATH)):
            if kind not in self.files:
                response = self._call(
                    "POST",
                    f"/v1/{kind}/upload",
                    name=f"/v1/{kind}/upload",
                    files={"upload_file": (path.name, path.read_bytes())},
                )
                if response is not None:
                    self.files[kind] = response.json()["file_id"]

    def _call(self, method: str, path: str, *, name: str, **kwargs: Any):
        """An authenticated request; a 401 logs in again and retries once.

        Returns:
            The response when it is a 200 with a JSON body, else None (and the request
            is counted as a failure in Locust's statistics).
        """
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            with self.client.request(
                method, path, name=name, headers=headers, catch_response=True, **kwargs
            ) as response:
                if response.status_code == 401 and attempt == 0:
                    # An expired token is expected in a long run: not a failure.
                    response.success()
                    self._count("all", "relogins")
                    self._login()
                    continue
                if response.status_code != 200:
                    response.failure(f"{response.status_code}: {response.text[:200]}")
                    return None
                try:
                    response.json()
                except ValueError:
                    response.failure("not JSON")
                    return None
                return response
        return None


# -- summary ------------------------------------------------------------------------------


def _summary(totals: Counter[tuple[str, str]]) -> str:
    lines = [
        "",
        "Follow My Reading tasks",
        f"{'kind':12}" + "".join(f"{o:>11}" for o in OUTCOMES) + f"{'unfinished':>12}",
    ]
    for kind in KINDS:
        row = [totals[(kind, o)] for o in OUTCOMES]
        # Created but neither completed, failed nor lost: still running when the test stopped.
        unfinished = row[0] - sum(row[2:])
        lines.append(f"{kind:12}" + "".join(f"{n:>11}" for n in row) + f"{unfinished:>12}")
    lines.append(
        f"re-logins after a 401: {totals[('all', 'relogins')]}; "
        f"lost = not ready within {TASK_DEADLINE_S:.0f} s"
    )
    return "\n".join(lines)


@events.init.add_listener
def _on_init(environment: Environment, **_kwargs: Any) -> None:
    if isinstance(environment.runner, MasterRunner):

        def collect(msg: Any, **_kw: Any) -> None:
            kind, outcome = msg.data
            counts[(kind, outcome)] += 1

        environment.runner.register_message(_MESSAGE, collect)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    counts.clear()


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    if not isinstance(environment.runner, (MasterRunner, WorkerRunner)):
        print(_summary(counts))


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    # Distributed runs: the master prints once the workers' last outcomes have arrived.
    if isinstance(environment.runner, MasterRunner):
        print(_summary(counts))
