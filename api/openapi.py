"""Responses the routes share, documented once in ``/openapi.json``.

Some statuses come from the layers around the routes, not from the routes: the
bearer token dependency (401, and 400 "Inactive user"), request parsing and
validation (400, 422), the body size limit (413, ``api.middleware.body_limit``), the rate
limiter (429 with ``Retry-After``, ``api.middleware.rate_limit``) and the Redis outage
handler (503 with ``Retry-After``, ``api.error_handlers``). :func:`install_shared_responses`
adds each of them to every operation that can answer it, so that clients (and the
schema-based fuzzer, ``tests/fuzzing.py``) see every status code the API can return.

The upload bodies also get the multipart limits the form parser enforces (400 past
them): at most ``max_fields`` text fields besides the file, each of bounded size.

A status a route documents itself keeps the route's description; only response
headers the status always carries are added to it. Every 422 gets the one body
schema :class:`~api.schemas.ValidationErrorResponse` (a message, or FastAPI's
list of validation issues) instead of FastAPI's own ``HTTPValidationError``.

Result schemas are the domain's types (:mod:`core.results`); :func:`spec_names` gives
them the spec's names in the document (``CutSegment`` is the spec's ``AudioChunk``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from api.middleware.body_limit import UPLOAD_FORM_LIMITS, UPLOAD_ROUTES
from api.middleware.rate_limit import route_group
from api.schemas import ErrorResponse, ValidationErrorResponse
from core.results import SPEC_SCHEMA_NAMES

__all__ = ["add_shared_responses", "install_shared_responses", "spec_names"]

_REF = "#/components/schemas/{model}"
_HEALTH_PREFIX = "/v1/health/"
#: FastAPI's validation error schemas, replaced by ``ValidationErrorResponse``.
_FASTAPI_422 = ("HTTPValidationError", "ValidationError")


def _integer_header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "integer"}}


_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "`Bearer` (RFC 6750).",
        "required": True,
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = _integer_header("Seconds to wait before retrying.")
_RATE_LIMIT_HEADERS = {
    "Retry-After": _RETRY_AFTER,
    "X-RateLimit-Limit": _integer_header("Requests allowed per window."),
    "X-RateLimit-Remaining": _integer_header("Requests left in the window (0)."),
    "X-RateLimit-Reset": _integer_header("Seconds until the limit has room again."),
}


def _response(
    description: str,
    example: Any,
    model: type[BaseModel] = ErrorResponse,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": _REF.format(model=model.__name__)},
                "example": example,
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


_UNAUTHORIZED = _response(
    "No bearer token, or one that is malformed, expired, not an access token or of an unknown user",
    {"detail": "Could not validate credentials"},
    headers=_WWW_AUTHENTICATE,
)
_INACTIVE = _response("The user is disabled", {"detail": "Inactive user"})
_UNPARSABLE = _response(
    "The body could not be parsed (e.g. malformed JSON or form data)",
    {"detail": "There was an error parsing the body"},
)
_UNPARSABLE_OR_INACTIVE = _response(
    "The body could not be parsed, or the user is disabled",
    {"detail": "Inactive user"},
)
_INVALID = _response(
    "The request does not match its schema (a list of issues), or a value is not "
    "acceptable (a message)",
    {
        "detail": [
            {
                "loc": ["query", "task_id"],
                "msg": "Input should be a valid UUID",
                "type": "uuid_parsing",
            }
        ]
    },
    model=ValidationErrorResponse,
)
_TOO_LARGE = _response(
    "The request body is larger than the limit (``FMR_MAX_BODY_BYTES``; uploads "
    "``FMR_MAX_UPLOAD_BYTES``)",
    {"detail": "The request body is larger than the limit of 1048576 bytes"},
)
_RATE_LIMITED = _response(
    "Too many requests of this kind from the user (or, without a valid token, the "
    "client address); retry after ``Retry-After`` seconds",
    {"detail": "Too many read requests: limit is 6000 per window; retry after 3 s"},
    headers=_RATE_LIMIT_HEADERS,
)
_UNAVAILABLE = _response(
    "The service's store (Redis) is unreachable for now; retry after ``Retry-After`` seconds",
    {"detail": "Service temporarily unavailable, retry shortly"},
    headers={"Retry-After": _RETRY_AFTER},
)


def _shared_responses(method: str, path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The shared responses one operation can answer, by status code."""
    shared: dict[str, Any] = {}
    has_body = "requestBody" in operation
    authenticated = bool(operation.get("security"))
    if authenticated:
        shared["401"] = _UNAUTHORIZED
    if has_body and authenticated:
        shared["400"] = _UNPARSABLE_OR_INACTIVE
    elif has_body:
        shared["400"] = _UNPARSABLE
    elif authenticated:
        shared["400"] = _INACTIVE
    if has_body or operation.get("parameters"):
        shared["422"] = _INVALID
    # The body size limit guards every path, whatever the method.
    shared["413"] = _TOO_LARGE
    if route_group(method.upper(), path) is not None:
        shared["429"] = _RATE_LIMITED
    if not path.startswith(_HEALTH_PREFIX):
        # Every route but the probes reads Redis (the user behind the token, at least).
        shared["503"] = _UNAVAILABLE
    return shared


def add_shared_responses(
    schema: dict[str, Any], upload_paths: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Add the shared responses to every operation of an OpenAPI ``schema`` (in place),
    and the multipart limits (:data:`~api.middleware.body_limit.UPLOAD_FORM_LIMITS`) to the
    request bodies of ``upload_paths``."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if path in upload_paths:
                _document_form_limits(schema, operation)
            responses = operation.setdefault("responses", {})
            for code, response in _shared_responses(method, path, operation).items():
                documented = responses.get(code)
                if documented is None or (code == "422" and _is_fastapi_422(documented)):
                    responses[code] = copy.deepcopy(response)
                    continue
                if code == "422":
                    for content in documented.get("content", {}).values():
                        content["schema"] = {"$ref": _REF.format(model="ValidationErrorResponse")}
                if "headers" in response:
                    documented.setdefault("headers", {}).update(copy.deepcopy(response["headers"]))
            if "401" in responses:
                # Every 401 of the API asks for a bearer token (log-in and refresh too).
                responses["401"].setdefault("headers", {}).update(copy.deepcopy(_WWW_AUTHENTICATE))
            operation["responses"] = dict(sorted(responses.items()))
    _add_components(schema)
    return schema


def spec_names(schema: dict[str, Any], names: dict[str, str] = SPEC_SCHEMA_NAMES) -> dict[str, Any]:
    """Rename component schemas (and every ``$ref`` to them) to the spec's names.

    Args:
        schema: An OpenAPI document; changed in place and returned.
        names: Component name -> the spec's name.

    Raises:
        ValueError: a new name is already taken by another component.
    """
    components = schema.get("components", {}).get("schemas", {})
    clash = {new for old, new in names.items() if old in components and new in components}
    if clash:
        raise ValueError(f"schema names already in use: {sorted(clash)}")
    for old, new in names.items():
        if old in components:
            components[new] = {**components.pop(old), "title": new}
    refs = {_REF.format(model=old): _REF.format(model=new) for old, new in names.items()}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref in refs:
                node["$ref"] = refs[ref]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    schema.get("components", {})["schemas"] = dict(sorted(components.items()))
    return schema


def install_shared_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and so ``/openapi.json``) include the shared responses."""
    generate = app.openapi
    upload_paths = frozenset(app.url_path_for(name) for name in UPLOAD_ROUTES)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_shared_responses(spec_names(generate()), upload_paths)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_form_limits(schema: dict[str, Any], operation: dict[str, Any]) -> None:
    """Say in an upload's multipart body schema what the form parser accepts: the
    file and at most ``max_fields`` text fields of at most ``max_part_size`` bytes
    (as characters: a quarter of it, UTF-8 taking up to 4 bytes each); past either
    limit the answer is 400."""
    content = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if content is None:
        return
    body = content["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    limits = UPLOAD_FORM_LIMITS
    body.setdefault("maxProperties", limits["max_files"] + limits["max_fields"])
    body.setdefault(
        "additionalProperties", {"type": "string", "maxLength": limits["max_part_size"] // 4}
    )


def _is_fastapi_422(response: dict[str, Any]) -> bool:
    return json.dumps(_REF.format(model="HTTPValidationError")) in json.dumps(response)


def _add_components(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorResponse, ValidationErrorResponse):
        if model.__name__ in schemas:
            continue
        generated = model.model_json_schema(ref_template=_REF, mode="serialization")
        schemas.update(generated.pop("$defs", {}))
        schemas[model.__name__] = generated
    for name in _FASTAPI_422:
        ref = json.dumps(_REF.format(model=name))  # quoted: an exact reference
        users = [schema["paths"], *(v for k, v in schemas.items() if k not in _FASTAPI_422)]
        if not any(ref in json.dumps(value) for value in users):
            schemas.pop(name, None)
    schema["components"]["schemas"] = dict(sorted(schemas.items()))
