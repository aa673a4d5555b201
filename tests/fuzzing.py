"""Property-based fuzzing of the v1 API with Schemathesis, from its OpenAPI schema.

Shared by ``tests/api/test_fuzz.py`` (the app in-process, real Redis) and
``tests/serve_app/integration/test_fuzz.py`` (the live Ray Serve cluster over HTTP).

Every operation of ``/openapi.json`` gets generated requests, schema-valid and
schema-invalid (Schemathesis' explicit-examples, coverage and fuzzing phases), each
carrying a valid bearer token. Each response goes through every check Schemathesis
enables by default (``case.call_and_validate``): a 5xx, a status code, content type
or header the schema does not declare, a body not matching its schema, invalid data
accepted or valid data refused all fail the test.

Random ids name nothing, so every request with one would stop at a 404 (the spec's
406 on the result endpoints). To reach the code behind it too, each schema-valid case
naming an id (``task_id``, ``file``, ``audio_file``...) is sent a second time with the
id replaced by one the user really has (see :attr:`FuzzTarget.known`): files, and
tasks queued, completed and failed.

Every request sent is counted, the checks' own probes too (e.g. the same request
without its token), through a response hook on the ``requests`` session the cases
are sent with. The totals are printed and written to ``.data/fuzz/<run>.json``
when the test module ends.

Why ``schema.parametrize()`` on a schema built at import time rather than
``schemathesis.pytest.from_fixture``: with pytest 9.2, Schemathesis 4.32's lazy
loader fails (``'Function' object has no attribute '_nodeid'``). The collected
schema is this checkout's ``create_app`` schema, and each test module checks that
the app under test serves exactly that ``/openapi.json`` before fuzzing it.
"""

from __future__ import annotations

import copy
import json
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api.app import create_app
from api.settings import Settings

__all__ = [
    "FuzzStats",
    "FuzzTarget",
    "fuzz_config",
    "load_schema",
    "openapi_of_checkout",
    "report_at_end",
    "run_case",
    "same_schema",
    "task_requests",
    "with_known_values",
]

#: Fixed so that a CI run repeats exactly (Hypothesis is derandomized as well).
SEED = 20250501
#: Where the counts of each run are written (``.data/`` is git-ignored).
REPORT_DIR = Path(__file__).parents[1] / ".data" / "fuzz"

#: ``positive_data_acceptance`` expects a schema-valid request to succeed (or to get
#: 401/403/404/409/429; 5xx is ``not_a_server_error``'s to report). Where the spec
#: itself refuses some schema-valid requests with another status, that status is
#: added to the check's expected ones, for those operations only; no check is
#: turned off and no other check is changed.
_POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
_RESULT_PATHS = [
    "/v1/audio/process/result",
    "/v1/audio/extract/result",
    "/v1/image/process/result",
    "/v1/comparison/audio/image/result",
    "/v1/comparison/audio/image/annotated",
    "/v1/comparison/audio/text/result",
    "/v1/task/result",
]
#: ``negative_data_rejection`` expects a schema-violating request to be refused with
#: one of these. 413 is added: an invalid body can also be too large
#: (``FMR_MAX_BODY_BYTES``), and the body limit refuses it before it is parsed.
NEGATIVE_EXPECTED = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx",
]
OPERATION_CHECKS: list[dict[str, Any]] = [
    {
        # 422 by the spec: "Username is already taken"; username, password and e-mail
        # rules (3-64 letters, digits, "_.@-"; min_password_length..1024 characters)
        # that the schema leaves to the documented 422; and a field given both as a
        # query parameter and as a form field, which OpenAPI cannot rule out.
        "include-path": "/v1/auth/register",
        "include-method": "PUT",
        "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}},
    },
    {
        # 422 by the spec ("Only audio files uploads are allowed", "... image ..."):
        # the schema takes any bytes (format: binary); whether they decode as audio or
        # as an image is known once ffprobe or Pillow has read them.
        "include-path": ["/v1/audio/upload", "/v1/image/upload"],
        "include-method": "POST",
        "checks": {"positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "422"]}},
    },
    {
        # 406 by the spec for an id that is not the user's task ("It is impossible to
        # get task result ..."), and with the id of a real task while it is not
        # finished or when it failed ("The job is non-existent or not done", "The task
        # failed: ..."); 422 for a task of another kind ("There is no such ... task").
        "include-path": _RESULT_PATHS,
        "include-method": "GET",
        "checks": {
            "positive_data_acceptance": {"expected-statuses": [*_POSITIVE_DEFAULT, "406", "422"]}
        },
    },
]


def fuzz_config(*, max_examples: int, request_timeout: float | None = None) -> schemathesis.Config:
    """Schemathesis settings of the fuzz runs; every check keeps its default but for
    :data:`OPERATION_CHECKS`.

    ``max_examples`` bounds the fuzzing phase per operation; the coverage phase adds
    a fixed set of boundary and invalid cases per operation. Hypothesis runs
    derandomized with no example database, so a CI run repeats exactly, and without
    a deadline (Schemathesis' default: uploads are decoded by ffmpeg and Pillow).
    ``request_timeout`` (seconds) replaces Schemathesis' default of 10 s.
    """
    timeout = {} if request_timeout is None else {"request-timeout": request_timeout}
    return schemathesis.Config.from_dict(
        {
            **timeout,
            "seed": SEED,
            "generation": {
                "mode": "all",  # schema-valid and schema-invalid requests
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                # Link-following sequences run in Schemathesis' CLI runner, not in pytest.
                "stateful": {"enabled": False},
            },
            "checks": {"negative_data_rejection": {"expected-statuses": NEGATIVE_EXPECTED}},
            "operations": OPERATION_CHECKS,
        }
    )


def openapi_of_checkout() -> dict[str, Any]:
    """``/openapi.json`` of this checkout's ``create_app``, built without any server.

    The schema depends on the routes only; the services are inert (Redis is never
    connected, storage goes to a temporary folder removed at once).
    """
    from tests.api.conftest import build_services  # the in-process harness's services

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(redis_url="redis://127.0.0.1:1/0", data_dir=Path(folder))
        return _as_json(create_app(build_services(settings)).openapi())


def load_schema(
    openapi: dict[str, Any], *, max_examples: int, request_timeout: float | None = None
) -> OpenApiSchema:
    """The Schemathesis schema of ``openapi``, with :func:`fuzz_config`."""
    config = fuzz_config(max_examples=max_examples, request_timeout=request_timeout)
    return schemathesis.openapi.from_dict(copy.deepcopy(openapi), config=config)


def same_schema(served: dict[str, Any], collected: dict[str, Any], where: str) -> None:
    """Fail unless the app under test serves the schema the tests were generated from
    (``servers`` aside: a proxy's root path may add one)."""
    served, collected = _as_json(served), dict(collected)
    for schema in (served, collected):
        schema.pop("servers", None)
    if served != collected:
        paths = set(served.get("paths", {})) | set(collected.get("paths", {}))
        differing = sorted(
            path
            for path in paths
            if served.get("paths", {}).get(path) != collected.get("paths", {}).get(path)
        )
        keys = sorted(k for k in set(served) | set(collected) if served.get(k) != collected.get(k))
        pytest.fail(
            f"{where} serves another /openapi.json than this checkout's create_app "
            f"(differing: {keys}; paths {differing}): deploy this checkout before fuzzing it"
        )


@dataclass
class FuzzStats:
    """Requests sent during a fuzz run: in all, per operation, per status code.

    Requests are attributed to the operation whose case is being run (set by
    :func:`run_case`), the probes that its checks send included.
    """

    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    server_errors: int = 0
    operation: str = "setup"
    per_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    operation_statuses: dict[str, Counter[int]] = field(default_factory=dict)
    server_error_samples: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """``requests`` response hook: count one request and its answer."""
        with self._lock:
            self.requests += 1
            self.per_operation[self.operation] += 1
            self.statuses[response.status_code] += 1
            self.operation_statuses.setdefault(self.operation, Counter())[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors += 1
                if len(self.server_error_samples) < 20:
                    request = response.request
                    self.server_error_samples.append(
                        f"{request.method} {request.path_url} -> {response.status_code}: "
                        f"{response.text[:200]}"
                    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "server_errors": self.server_errors,
            "operations": len(self.per_operation),
            "duration_s": round(time.monotonic() - self.started, 1),
            "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
            "per_operation": dict(sorted(self.per_operation.items())),
            "per_operation_statuses": {
                op: {str(code): n for code, n in sorted(counts.items())}
                for op, counts in sorted(self.operation_statuses.items())
            },
            "server_error_samples": self.server_error_samples,
        }

    def report(self, path: Path, title: str) -> dict[str, Any]:
        """Print the totals and write them (per operation too) to ``path``."""
        data = {"run": title, **self.as_dict()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n")
        width = max(map(len, data["per_operation"]), default=0)
        lines = [
            f"fuzz {title}: {data['requests']} requests sent, {data['server_errors']} 5xx "
            f"responses, {data['operations']} operations, {data['duration_s']} s",
            f"statuses: {data['statuses']}",
            *(
                f"  {op:<{width}}  {n:5d}  {_statuses(data['per_operation_statuses'][op])}"
                for op, n in data["per_operation"].items()
            ),
            *(f"  5xx: {sample}" for sample in data["server_error_samples"]),
            f"written to {path}",
        ]
        print("\n" + "\n".join(lines))
        return data


@dataclass
class FuzzTarget:
    """Where the cases go, and as whom.

    Attributes:
        session: ``requests`` session every request goes through; counts them.
        base_url: Base URL of the API (``http://testserver`` in-process).
        headers: The user's ``Authorization`` header.
        known: Values that exist for the user, by query parameter or body field name
            (e.g. ``"task_id"`` -> ids of the user's tasks); see :func:`with_known_values`.
        stats: The counts of the run.
    """

    session: requests.Session
    base_url: str
    headers: dict[str, str]
    known: dict[str, list[str]]
    stats: FuzzStats
    #: How many times each (operation, field) has been given a known value.
    turns: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        # Counting (and the clock) start here: the fixture's own setup requests are not
        # part of the fuzz run.
        self.stats.started = time.monotonic()
        self.session.hooks["response"].append(self.stats.record)


def run_case(case: schemathesis.Case, target: FuzzTarget) -> None:
    """Send ``case`` as the user and run every default check on the response; then
    the same with the user's own ids, if it is schema-valid and names any."""
    target.stats.operation = case.operation.label
    try:
        for sent in (case, with_known_values(case, target)):
            if sent is not None:
                sent.call_and_validate(
                    base_url=target.base_url, session=target.session, headers=target.headers
                )
    finally:
        target.stats.operation = "setup"


def with_known_values(case: schemathesis.Case, target: FuzzTarget) -> schemathesis.Case | None:
    """A copy of a schema-valid ``case`` whose ids name the user's own resources.

    Each query parameter or top-level body field named in ``target.known`` gets its
    values in turn (per operation and field: every value is used, and runs repeat).
    None when ``case`` is schema-invalid or names none of them. The known values are
    valid for the schema (UUIDs, short strings), so the copy stays schema-valid.
    """
    meta = case.meta
    if not target.known or meta is None or not meta.generation.mode.is_positive:
        return None
    query = dict(case.query or {})
    body = dict(case.body) if isinstance(case.body, dict) else None
    changed = False
    for container in (query, body):
        for name, value in (container or {}).items():
            values = target.known.get(name)
            if values and isinstance(value, str):
                turn = (case.operation.label, name)
                container[name] = values[target.turns[turn] % len(values)]
                target.turns[turn] += 1
                changed = True
    if not changed:
        return None
    twin = case.derive(query=query, keep_auth=True)
    if body is not None:
        twin.body = body
    return twin


@contextmanager
def report_at_end(request: pytest.FixtureRequest, stats: FuzzStats, title: str) -> Iterator[None]:
    """Print ``stats`` (shown even without ``-s``) and write them to
    ``.data/fuzz/{title}.json`` once the block (a module fixture's life) ends."""
    try:
        yield
    finally:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else nullcontext():
            stats.report(REPORT_DIR / f"{title}.json", title)


def _statuses(counts: dict[str, int]) -> str:
    return " ".join(f"{code}:{n}" for code, n in counts.items())


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def task_requests(
    audio_id: str, image_id: str, audio_model: str, image_model: str
) -> dict[str, dict[str, Any]]:
    """A valid body for each task-creating path, on the given files and models."""
    return {
        "/v1/audio/process/task": {"audio_file": audio_id, "audio_model": audio_model},
        "/v1/audio/extract/task": {
            "audio_file": audio_id,
            "audio_model": audio_model,
            "phrases": ["every path"],
        },
        "/v1/image/process/task": {"image_file": image_id, "image_model": image_model},
        "/v1/comparison/audio/image/task": {
            "audio_file": audio_id,
            "image_file": image_id,
            "audio_model": audio_model,
            "image_model": image_model,
        },
        "/v1/comparison/audio/text/task": {
            "audio_file": audio_id,
            "audio_model": audio_model,
            "text": ["Every path"],
        },
    }
