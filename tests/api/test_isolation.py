"""Isolation: files, audio segments, tasks and results belong to their creator.

For every endpoint that takes an id, another user's id answers exactly like an
unknown one: the same status and body, never the owner's data; the owner gets 200 on
the same request. That answer is 404 everywhere but on the result endpoints, where
it is the spec's 406 "It is impossible to get task result (task does not exist or it
has not finished yet)". ``ENDPOINTS`` lists every (endpoint, id parameter) pair, and
``test_every_id_parameter_of_the_api_is_in_the_table`` walks the OpenAPI document so
that a new endpoint taking an id cannot skip these tests.

No model runs in-process, so the owner's tasks are completed here through the task
store, the way a pipeline worker finishes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.stores.tasks import TaskKind, TaskStore
from tests.api.conftest import ApiHarness

#: Text planted in every result of the owner's tasks; it must never reach anyone else.
SECRET = "owner-only-" + uuid.uuid4().hex

TASK_NOT_FOUND = "Task not found"
TASK_UNAVAILABLE = (
    "It is impossible to get task result (task does not exist or it has not finished yet)"
)
FILE_NOT_FOUND = "File not found"
NO_AUDIO_FILE = "No such audio file available"
NO_IMAGE_FILE = "No such image file available"

AUDIO_TASK = {"audio_model": "whisper"}
IMAGE_TASK = {"image_model": "en_easyocr"}
BOTH_MODELS = {**AUDIO_TASK, **IMAGE_TASK}


@dataclass(frozen=True)
class Endpoint:
    """One id parameter of one endpoint.

    Attributes:
        method: HTTP method.
        path: Endpoint path.
        param: The id parameter under test (a query parameter, a path parameter when
            the path has ``{param}``, or a JSON body field when ``body`` is given).
        resource: What the id names: ``"audio"``/``"image"`` (a file) or a task kind.
        detail: The ``detail`` for an unknown id or another user's.
        body: The rest of the JSON body; ``"$audio"``/``"$image"`` stand for the
            caller's own file of that kind.
        status: The status for an unknown id or another user's.
        own_status: The owner's status on the same request.
    """

    method: str
    path: str
    param: str
    resource: str
    detail: str
    body: dict[str, Any] | None = field(default=None)
    status: int = 404
    own_status: int = 200

    @property
    def creates_task(self) -> bool:
        return self.body is not None

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.param}"


def result_endpoint(path: str, kind: str) -> Endpoint:
    """A result endpoint: the spec's 406 for a task that is not the caller's."""
    return Endpoint("GET", path, "task_id", kind, TASK_UNAVAILABLE, status=406)


ENDPOINTS = [
    Endpoint("GET", "/v1/audio/download", "file", "audio", FILE_NOT_FOUND),
    Endpoint("GET", "/v1/image/download", "file", "image", FILE_NOT_FOUND),
    Endpoint("POST", "/v1/audio/process/task", "audio_file", "audio", NO_AUDIO_FILE, AUDIO_TASK),
    Endpoint(
        "POST",
        "/v1/audio/extract/task",
        "audio_file",
        "audio",
        NO_AUDIO_FILE,
        {**AUDIO_TASK, "phrases": ["every path"]},
    ),
    Endpoint("POST", "/v1/image/process/task", "image_file", "image", NO_IMAGE_FILE, IMAGE_TASK),
    Endpoint(
        "POST",
        "/v1/comparison/audio/image/task",
        "audio_file",
        "audio",
        NO_AUDIO_FILE,
        {**BOTH_MODELS, "image_file": "$image"},
    ),
    Endpoint(
        "POST",
        "/v1/comparison/audio/image/task",
        "image_file",
        "image",
        NO_IMAGE_FILE,
        {**BOTH_MODELS, "audio_file": "$audio"},
    ),
    Endpoint(
        "POST",
        "/v1/comparison/audio/text/task",
        "audio_file",
        "audio",
        NO_AUDIO_FILE,
        {**AUDIO_TASK, "text": ["Every path is the right path."]},
    ),
    result_endpoint("/v1/audio/process/result", "audio_processing"),
    result_endpoint("/v1/audio/extract/result", "audio_extraction"),
    result_endpoint("/v1/image/process/result", "image_processing"),
    result_endpoint("/v1/comparison/audio/image/result", "audio_image_comparison"),
    result_endpoint("/v1/comparison/audio/image/annotated", "audio_image_comparison"),
    result_endpoint("/v1/comparison/audio/text/result", "audio_text_comparison"),
    result_endpoint("/v1/comparison/audio/image/report", "audio_image_comparison"),
    result_endpoint("/v1/comparison/audio/text/report", "audio_text_comparison"),
    Endpoint("GET", "/v1/task/status", "task_id", "audio_processing", TASK_NOT_FOUND),
    result_endpoint("/v1/task/result", "audio_processing"),
    *(
        Endpoint(method, f"/v1/archive/requests/{{request_id}}{tail}", "request_id",
                 "audio_processing", detail, own_status=own)
        for method, tail, detail, own in (
            ("GET", "", "Request not found", 200),
            ("GET", "/full_request", "Request not found", 200),
            ("GET", "/transcript", "Request not found", 200),
            ("GET", "/audio", "Request not found", 200),
            ("GET", "/voice_activity_marks", "Request not found", 200),
            ("DELETE", "", "Request not found", 204),
        )
    ),
]

#: The typed result endpoints and their spec "not ready" (406) messages.
RESULT_ENDPOINTS = {
    "/v1/audio/process/result": "The job is non-existent or not done",
    "/v1/audio/extract/result": "The job is non-existent or not done",
    "/v1/image/process/result": "The job is non-existent or not done",
    "/v1/comparison/audio/image/result": "Results are not ready yet or no task with such id exist",
    "/v1/comparison/audio/image/annotated": (
        "Results are not ready yet or no task with such id exist"
    ),
    "/v1/comparison/audio/text/result": "Results are not ready yet or no task with such id exist",
    "/v1/comparison/audio/image/report": "Results are not ready yet or no task with such id exist",
    "/v1/comparison/audio/text/report": "Results are not ready yet or no task with such id exist",
    "/v1/task/result": "Results are not ready yet or no task with such id exist",
}
RESULT_KIND = {e.path: e.resource for e in ENDPOINTS if e.path in RESULT_ENDPOINTS}


def not_owned(method: str, path: str, name: str) -> bool:
    """Parameters named like ids that name nothing a user owns: the OAuth2 forms'
    ``client_id`` (under ``/v1/auth/``), and the client's own labels ``session_id`` and
    ``trace_id`` (each user's archive is searched by them only within their tasks:
    tests/core/stores/test_archive.py)."""
    if name in ("session_id", "trace_id"):
        return True
    return path.startswith("/v1/auth/") and name == "client_id"


#: The body of each task kind's request, for creating the owner's tasks.
CREATE = {
    TaskKind.AUDIO_PROCESSING: ("/v1/audio/process/task", {"audio_file": "$audio", **AUDIO_TASK}),
    TaskKind.AUDIO_EXTRACTION: (
        "/v1/audio/extract/task",
        {"audio_file": "$audio", **AUDIO_TASK, "phrases": ["path"]},
    ),
    TaskKind.IMAGE_PROCESSING: ("/v1/image/process/task", {"image_file": "$image", **IMAGE_TASK}),
    TaskKind.AUDIO_IMAGE_COMPARISON: (
        "/v1/comparison/audio/image/task",
        {"audio_file": "$audio", "image_file": "$image", **BOTH_MODELS},
    ),
    TaskKind.AUDIO_TEXT_COMPARISON: (
        "/v1/comparison/audio/text/task",
        {"audio_file": "$audio", **AUDIO_TASK, "text": ["Every path"]},
    ),
}


def results(segment: uuid.UUID) -> dict[TaskKind, dict[str, Any]]:
    """A valid result of each task kind, every text in it being ``SECRET``."""
    chunk = {"start": 0.0, "end": 1.8, "text": SECRET, "file": str(segment)}
    audio = {"text": SECRET, "segments": [chunk]}
    image = {"text": SECRET, "boxes": []}
    return {
        TaskKind.AUDIO_PROCESSING: audio,
        TaskKind.AUDIO_EXTRACTION: {
            "data": [{"audio_segment": chunk, "found": True, "phrase": SECRET}]
        },
        TaskKind.IMAGE_PROCESSING: image,
        TaskKind.AUDIO_IMAGE_COMPARISON: {"image": image, "audio": audio, "errors": []},
        TaskKind.AUDIO_TEXT_COMPARISON: {"audio": audio, "errors": []},
    }


async def finish(
    tasks: TaskStore,
    task_id: str,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Finish a queued task as a pipeline worker would (its stream entry included)."""
    await tasks.ensure_group()
    entries = await tasks.redis.xrange(tasks.stream)
    entry_id = next(entry for entry, fields in entries if fields["task_id"] == task_id)
    await tasks.finish(task_id, entry_id, result=result, error=error)


@dataclass
class User:
    """A registered user; their files are uploaded on first use."""

    api: ApiHarness
    samples: dict[str, Path]
    headers: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def own(self, kind: str) -> str:
        """The id of this user's ``audio``/``image`` file (uploaded if need be)."""
        if kind not in self.ids:
            sample = self.samples[kind]
            response = self.api.client.post(
                f"/v1/{kind}/upload",
                files={"upload_file": (sample.name, sample.read_bytes())},
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
            self.ids[kind] = response.json()["file_id"]
        return self.ids[kind]

    def fill(self, template: dict[str, Any]) -> dict[str, Any]:
        """The JSON body with ``$audio``/``$image`` replaced by this user's files."""
        return {
            key: self.own(value[1:]) if value in ("$audio", "$image") else value
            for key, value in template.items()
        }


@dataclass
class World:
    """The owner (files, a segment, a completed task of each kind) and a stranger
    (with files of their own, so only the id under test is foreign)."""

    api: ApiHarness
    owner: User
    stranger: User

    def call(self, endpoint: Endpoint, user: User, value: str) -> httpx.Response:
        """``endpoint`` as ``user``, with ``value`` for the id under test."""
        if endpoint.body is not None:
            body = {**user.fill(endpoint.body), endpoint.param: value}
            return self.api.client.post(endpoint.path, json=body, headers=user.headers)
        if f"{{{endpoint.param}}}" in endpoint.path:
            path = endpoint.path.replace(f"{{{endpoint.param}}}", value)
            return self.api.client.request(endpoint.method, path, headers=user.headers)
        return self.api.client.request(
            endpoint.method, endpoint.path, params={endpoint.param: value}, headers=user.headers
        )

    def queued(self) -> int:
        """Entries in the task stream (each created task adds one)."""
        tasks = self.api.services.tasks
        return self.api.client.portal.call(tasks.redis.xlen, tasks.stream)


@pytest.fixture
def users(api: ApiHarness, sample_audio: Path, sample_image: Path) -> World:
    """Two users, no tasks yet."""
    samples = {"audio": sample_audio, "image": sample_image}
    return World(
        api=api,
        owner=User(api, samples, api.account()),
        stranger=User(api, samples, api.account()),
    )


@pytest.fixture
def world(users: World) -> World:
    """The owner has files, an audio segment and a completed task of each kind."""
    api, owner = users.api, users.owner
    portal = api.client.portal
    # A segment cut by a task is registered to the task's owner, as the pipeline does.
    segment = uuid.uuid4()
    files = api.services.files
    files.path("audio", segment).write_bytes(owner.samples["audio"].read_bytes())
    owner_name = api.client.get("/v1/auth/users/me", headers=owner.headers).json()["username"]
    portal.call(files.register, "audio", owner_name, [segment])
    owner.ids["segment"] = str(segment)
    for kind, result in results(segment).items():
        path, body = CREATE[kind]
        created = api.client.post(path, json=owner.fill(body), headers=owner.headers)
        assert created.status_code == 200, created.text
        task_id = created.json()["task_id"]
        portal.call(lambda t=task_id, r=result: finish(api.services.tasks, t, result=r))
        owner.ids[kind.value] = task_id
    return users


def unknown() -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_another_users_id_answers_like_an_unknown_one(world: World, endpoint: Endpoint):
    owners_id = world.owner.ids[endpoint.resource]
    before = world.queued()
    foreign = world.call(endpoint, world.stranger, owners_id)
    missing = world.call(endpoint, world.stranger, unknown())
    expected = (endpoint.status, {"detail": endpoint.detail})
    assert (foreign.status_code, foreign.json()) == expected
    assert (missing.status_code, missing.json()) == expected
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    assert world.queued() == before, "a refused request must not create a task"

    own = world.call(endpoint, world.owner, owners_id)
    assert own.status_code == endpoint.own_status, own.text
    assert not own.content or own.content not in foreign.content
    assert SECRET not in foreign.text
    assert owners_id not in foreign.text
    if endpoint.creates_task:
        assert world.queued() == before + 1
    elif endpoint.path in RESULT_ENDPOINTS and endpoint.path.endswith("/result"):
        assert SECRET in own.text  # the owner does get the data the stranger did not


def test_a_malformed_id_is_422_on_every_endpoint(api: ApiHarness):
    headers = api.account()
    tasks = api.services.tasks
    before = api.client.portal.call(tasks.redis.xlen, tasks.stream)
    for endpoint in ENDPOINTS:
        params, body = {endpoint.param: "not-a-uuid"}, None
        path = endpoint.path.replace(f"{{{endpoint.param}}}", "not-a-uuid")
        if endpoint.body is not None:
            params, body = (
                None,
                {
                    key: unknown() if value in ("$audio", "$image") else value
                    for key, value in endpoint.body.items()
                },
            )
            body[endpoint.param] = "not-a-uuid"
        response = api.client.request(
            endpoint.method, path, params=params, json=body, headers=headers
        )
        assert response.status_code == 422, (str(endpoint), response.text)
    assert api.client.portal.call(tasks.redis.xlen, tasks.stream) == before


def test_a_segment_cut_by_another_users_task_is_404(world: World):
    endpoint = ENDPOINTS[0]
    segment = world.owner.ids["segment"]
    foreign = world.call(endpoint, world.stranger, segment)
    assert (foreign.status_code, foreign.json()) == (404, {"detail": FILE_NOT_FOUND})
    own = world.call(endpoint, world.owner, segment)
    assert own.status_code == 200
    assert own.content not in foreign.content


def test_a_file_id_of_the_other_kind_is_404(users: World):
    """An image id on the audio download (and back) is not a way around ownership."""
    for kind, other in (("audio", "image"), ("image", "audio")):
        response = users.api.client.get(
            f"/v1/{kind}/download",
            params={"file": users.owner.own(other)},
            headers=users.owner.headers,
        )
        assert (response.status_code, response.json()) == (404, {"detail": FILE_NOT_FOUND})


@pytest.mark.parametrize("path", RESULT_ENDPOINTS)
def test_unfinished_and_failed_tasks_are_406_for_the_owner_and_unknown_for_others(
    users: World, path: str
):
    kind = TaskKind(RESULT_KIND[path])
    create_path, body = CREATE[kind]
    client, owner, stranger = users.api.client, users.owner, users.stranger

    def create() -> str:
        response = client.post(create_path, json=owner.fill(body), headers=owner.headers)
        assert response.status_code == 200, response.text
        return response.json()["task_id"]

    def get(user: User, task_id: str) -> httpx.Response:
        return client.get(path, params={"task_id": task_id}, headers=user.headers)

    not_found = (406, {"detail": TASK_UNAVAILABLE})  # the spec's answer for "no such task"
    pending = create()
    assert (get(owner, pending).status_code, get(owner, pending).json()) == (
        406,
        {"detail": RESULT_ENDPOINTS[path]},
    )
    assert (get(stranger, pending).status_code, get(stranger, pending).json()) == not_found

    failed = create()
    reason = f"broken on purpose {SECRET}"
    client.portal.call(lambda: finish(users.api.services.tasks, failed, error=reason))
    own = get(owner, failed)
    assert (own.status_code, own.json()) == (406, {"detail": f"The task failed: {reason}"})
    foreign = get(stranger, failed)
    assert (foreign.status_code, foreign.json()) == not_found
    assert (get(stranger, unknown()).status_code, get(stranger, unknown()).json()) == not_found


def test_task_status_of_another_users_task_is_404(world: World):
    task_id = world.owner.ids["audio_processing"]
    params = {"task_id": task_id}
    own = world.api.client.get("/v1/task/status", params=params, headers=world.owner.headers)
    assert own.json()["status"] == "completed"
    foreign = world.api.client.get("/v1/task/status", params=params, headers=world.stranger.headers)
    assert (foreign.status_code, foreign.json()) == (404, {"detail": TASK_NOT_FOUND})


def test_another_users_task_of_the_wrong_kind_is_406_not_422(world: World):
    """422 (wrong kind) would tell the stranger that the id exists."""
    client = world.api.client
    for path, kind in RESULT_KIND.items():
        if path == "/v1/task/result":
            continue  # takes every kind
        other = next(world.owner.ids[k.value] for k in TaskKind if k.value != kind)
        own = client.get(path, params={"task_id": other}, headers=world.owner.headers)
        assert own.status_code == 422, path
        foreign = client.get(path, params={"task_id": other}, headers=world.stranger.headers)
        assert (foreign.status_code, foreign.json()) == (406, {"detail": TASK_UNAVAILABLE}), path


# --- the table covers the API -----------------------------------------------------------


def _is_id(name: str, schema: dict[str, Any]) -> bool:
    if "contentMediaType" in schema or schema.get("format") == "binary":
        return False  # an uploaded file's bytes, not an id
    formats = {schema.get("format")} | {s.get("format") for s in schema.get("anyOf", [])}
    return name in ("file", "task_id") or name.endswith(("_id", "_file")) or "uuid" in formats


def _id_parameters(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(method, path, name) of every query/path parameter and body field that is an id."""
    schemas = spec["components"]["schemas"]
    found = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if _is_id(parameter["name"], parameter.get("schema", {})):
                    found.add((method.upper(), path, parameter["name"]))
            for content in operation.get("requestBody", {}).get("content", {}).values():
                body = content.get("schema", {})
                if "$ref" in body:
                    body = schemas[body["$ref"].rsplit("/", 1)[-1]]
                for name, schema in body.get("properties", {}).items():
                    if _is_id(name, schema):
                        found.add((method.upper(), path, name))
    return found


def test_every_id_parameter_of_the_api_is_in_the_table(api: ApiHarness):
    spec = api.client.get("/openapi.json").json()
    in_api = {found for found in _id_parameters(spec) if not not_owned(*found)}
    in_table = {(e.method, e.path, e.param) for e in ENDPOINTS}
    assert in_api - in_table == set(), "endpoints taking an id without an isolation test"
    assert in_table - in_api == set(), "stale rows in ENDPOINTS"
    # ... and each of them documents the answer for an id that is not the caller's.
    for endpoint in ENDPOINTS:
        responses = spec["paths"][endpoint.path][endpoint.method.lower()]["responses"]
        code = str(endpoint.status)
        assert code in responses, f"{endpoint} does not document its {code}"
        media = responses[code]["content"]["application/json"]
        examples = [media["example"]] if "example" in media else [
            example["value"] for example in media["examples"].values()
        ]
        assert {"detail": endpoint.detail} in examples, f"{endpoint}: {examples}"
