"""``fmr`` in-process against the fake service: login, the token file, exit codes.

The end-to-end runs of the console script are in
``tests/serve_app/integration/test_cli.py``.
"""

from __future__ import annotations

import io
import json
from functools import partial

import httpx
import pytest
from fmr_client import Client, cli

from tests.client.fake_api import FakeAPI


@pytest.fixture
def api(monkeypatch, tmp_path) -> FakeAPI:
    fake = FakeAPI()
    fake.route("GET", "/v1/audio/models", {"models": [
        {"name": "whisper", "languages": ["en"], "description": "Whisper tiny.en"}]})
    fake.route("GET", "/v1/image/models", {"models": [
        {"name": "eng_tesseract", "languages": ["en"], "description": "Tesseract"}]})
    monkeypatch.setattr(cli, "Client", partial(Client, transport=fake.transport()))
    monkeypatch.setenv("FMR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FMR_API_URL", "http://fmr.test")
    return fake


def fmr(monkeypatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(list(argv))


def test_login_with_password_stdin_keeps_the_tokens_mode_0600(api, monkeypatch, tmp_path,
                                                              capsys):
    assert fmr(monkeypatch, "login", "-u", "alice", "--password-stdin",
               stdin="secret-pw\n") == 0
    path = tmp_path / "config" / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert saved["api"] == "http://fmr.test" and saved["username"] == "alice"
    assert saved["refresh_token"] == "r1"
    assert "Logged in" in capsys.readouterr().err

    api.expire_access_tokens()
    assert fmr(monkeypatch, "models", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in listed["audio"]] == ["whisper"]
    assert json.loads(path.read_text())["refresh_token"] == "r2"  # the rotated one is kept


def test_a_wrong_password_exits_1_with_the_detail(api, monkeypatch, capsys):
    assert fmr(monkeypatch, "login", "-u", "alice", "--password-stdin", stdin="nope\n") == 1
    assert "Incorrect username or password" in capsys.readouterr().err


def test_not_logged_in_exits_1_and_says_how_to_log_in(api, monkeypatch, capsys):
    assert fmr(monkeypatch, "models") == 1
    assert "fmr login" in capsys.readouterr().err


def test_usage_errors_exit_2(api, monkeypatch, capsys, tmp_path):
    assert fmr(monkeypatch, "check", "--audio", str(tmp_path / "missing.mp3"),
               "--text", "x") == 2
    assert "No such audio file" in capsys.readouterr().err
    assert fmr(monkeypatch, "check", "--audio", "a.mp3") == 2
    assert fmr(monkeypatch, "login", "-u", "alice", "--password-stdin", stdin="") == 2
    with pytest.raises(SystemExit) as raised:
        cli.main(["check"])
    assert raised.value.code == 2


def test_an_unreachable_service_exits_1(monkeypatch, tmp_path, capsys):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    monkeypatch.setattr(cli, "Client", partial(Client, transport=httpx.MockTransport(refuse)))
    monkeypatch.setenv("FMR_CONFIG_DIR", str(tmp_path))
    assert fmr(monkeypatch, "login", "-u", "a", "--password-stdin", stdin="pw\n") == 1
    assert "Connection refused" in capsys.readouterr().err
