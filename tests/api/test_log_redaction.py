"""Secrets never reach a log line (api.log_redaction)."""

import logging

import pytest

from api.log_redaction import REDACTED, RedactSecrets, install, redact


@pytest.mark.parametrize(
    "line",
    [
        "PUT /v1/auth/register?username=ann&password=hunter2-secret 200",
        "body: username=ann&password=hunter2-secret&email=a@b.c",
        '{"username": "ann", "password": "hunter2-secret"}',
        "refresh_token=hunter2-secret&grant_type=refresh_token",
        "Authorization: Bearer hunter2-secret",
        "PASSWORD: hunter2-secret",
    ],
)
def test_secret_values_are_redacted_and_keys_kept(line):
    cleaned = redact(line)
    assert "hunter2-secret" not in cleaned
    assert REDACTED in cleaned


def test_lines_without_secrets_are_unchanged():
    line = "GET /v1/task/status?task_id=5b2d 200 3.1ms"
    assert redact(line) == line


def test_installed_filter_cleans_records_propagated_from_child_loggers(caplog):
    logger = logging.getLogger("some.library")
    handler = caplog.handler
    handler.addFilter(RedactSecrets())
    try:
        logger.warning("request %s failed", "/v1/auth/register?password=hunter2-secret")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert "hunter2-secret" not in caplog.text
    assert REDACTED in caplog.text


def test_install_is_idempotent():
    root = logging.getLogger()
    handler = logging.StreamHandler()
    root.addHandler(handler)
    try:
        install()
        install()
        assert sum(isinstance(f, RedactSecrets) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
