"""The tests in this folder run twice: on the API with files in a folder, and on the API
with files in SeaweedFS (S3), whose ingress and pipeline keep separate working copies.

``http``, ``account`` and ``uploaded`` are overridden here with module-scoped
fixtures on ``backend_http`` (parametrised over ``BACKENDS``), so each test's id
ends in ``[local]`` or ``[s3]``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.serve_app.integration.conftest import Account, make_account, upload_samples


@pytest.fixture(scope="module")
def http(backend_http: httpx.Client) -> httpx.Client:
    return backend_http


@pytest.fixture(scope="module")
def account(http: httpx.Client) -> Account:
    return make_account(http)


@pytest.fixture(scope="module")
def uploaded(http: httpx.Client, account: Account, sample_audio: Path, sample_image: Path) -> dict:
    return upload_samples(http, account, sample_audio, sample_image)
