"""``fmr``, the installed console script, against the whole service on Ray Serve.

Scripts' use (``--password-stdin``, ``--json``, exit codes) runs it as a subprocess;
the coloured output runs it in tmux, read back with ``capture-pane -e`` (escape codes
kept).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import DATA, REPO
from tests.serve_app.integration.conftest import Account, make_account

pytestmark = pytest.mark.serve

FMR = str(Path(sys.executable).parent / "fmr")
MISCUE = json.loads((DATA / "miscue.json").read_text())
PAGE, READING = str(DATA / "miscue.png"), str(DATA / "miscue.mp3")


@pytest.fixture(scope="module")
def user(http) -> Account:
    return make_account(http)


@pytest.fixture(scope="module")
def env(serve_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**os.environ, "FMR_API_URL": serve_url, "NO_COLOR": "1",
            "FMR_CONFIG_DIR": str(tmp_path_factory.mktemp("fmr-config")), "COLUMNS": "200"}


def fmr(env: dict[str, str], *args: str, stdin: str | None = None,
        timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FMR, *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=REPO)


@pytest.fixture(scope="module")
def logged_in(env: dict[str, str], user: Account) -> dict[str, str]:
    done = fmr(env, "login", "--username", user.username, "--password-stdin",
               stdin=user.password + "\n")
    assert done.returncode == 0, done.stderr
    return env


def test_login_keeps_the_tokens_in_a_0600_file(logged_in, user):
    path = Path(logged_in["FMR_CONFIG_DIR"]) / "credentials.json"
    assert path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert saved["username"] == user.username and saved["api"] == logged_in["FMR_API_URL"]
    assert saved["refresh_token"] and saved["access_token"]
    wrong = fmr(logged_in | {"FMR_CONFIG_DIR": str(path.parent / "other")}, "login",
                "-u", user.username, "--password-stdin", stdin="wrong password\n")
    assert wrong.returncode == 1 and "Incorrect username or password" in wrong.stderr


def test_check_json_and_the_annotated_photo(logged_in, tmp_path):
    out = tmp_path / "annotated.png"
    done = fmr(logged_in, "check", "--image", PAGE, "--audio", READING,
               "--image-model", "eng_tesseract", "--json", "--annotated", str(out))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["status"] == "completed"
    found = {(e["type"], e["expected"], e["found"]) for e in body["result"]["errors"]}
    assert {("substitution", "brown", "black"), ("omission", "green", "")} <= found
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    status = fmr(logged_in, "status", body["task_id"], "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["result"]["summary"] == body["result"]["summary"]
    shown = fmr(logged_in, "status", body["task_id"])
    assert "completed" in shown.stdout and "brown→black" in shown.stdout


def test_check_against_a_text_without_colour(logged_in):
    done = fmr(logged_in, "check", "--audio", READING, "--text", MISCUE["reference"])
    assert done.returncode == 0, done.stderr
    assert "brown→black" in done.stdout and "~green~" in done.stdout
    assert "Accuracy" in done.stdout and "WCPM" in done.stdout
    assert "\x1b[" not in done.stdout


def test_models_and_transcribe(logged_in):
    models = fmr(logged_in, "models", "--json")
    assert models.returncode == 0, models.stderr
    listed = json.loads(models.stdout)
    assert "whisper" in {m["name"] for m in listed["audio"]}
    assert {"eng_tesseract", "en_easyocr"} <= {m["name"] for m in listed["image"]}
    table = fmr(logged_in, "models")
    assert "eng_tesseract" in table.stdout and "whisper" in table.stdout
    heard = fmr(logged_in, "transcribe", READING)
    assert heard.returncode == 0, heard.stderr
    assert "little black dog" in heard.stdout.lower()


def test_failures_exit_non_zero_with_the_services_detail(logged_in, env):
    unknown = fmr(logged_in, "check", "--image", PAGE, "--audio", READING,
                  "--image-model", "no-such-ocr")
    assert unknown.returncode == 1
    assert "No such image model available" in unknown.stderr and "404" in unknown.stderr
    missing = fmr(logged_in, "status", str(uuid.uuid4()))
    assert missing.returncode == 1 and "Task not found" in missing.stderr
    assert fmr(logged_in, "check", "--audio", "nowhere.mp3", "--text", "x").returncode == 2
    fresh = env | {"FMR_CONFIG_DIR": str(Path(env["FMR_CONFIG_DIR"]) / "nobody")}
    nobody = fmr(fresh, "models")
    assert nobody.returncode == 1 and "fmr login" in nobody.stderr


class Tmux:
    """A private tmux server (its own socket) running one shell."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"fmr-test-{uuid.uuid4().hex[:8]}"
        self.env = env

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, env=self.env).stdout

    def start(self, config: Path) -> None:
        # A 256-colour terminal, as most are; rich picks its colours from TERM.
        config.write_text("set -g default-terminal tmux-256color\nset -g history-limit 5000\n")
        self("-f", str(config), "new-session", "-d", "-x", "150", "-y", "45", "-c", str(REPO),
             "bash --norc --noprofile")
        self.type("PS1='$ '; clear")
        self.wait_for(r"^\$ $")

    def type(self, line: str) -> None:
        self("send-keys", "-t", "0", "-l", line)
        self("send-keys", "-t", "0", "Enter")

    def screen(self, escapes: bool = False) -> str:
        return self("capture-pane", "-p", "-J", "-S", "-", "-t", "0", *(["-e"] if escapes else []))

    def wait_for(self, pattern: str, timeout_s: float = 240) -> str:
        """The screen once ``pattern`` (a regular expression) is on it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen, re.MULTILINE):
                return screen
            time.sleep(0.3)
        raise TimeoutError(f"{pattern!r} not on the screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_an_interactive_session_in_tmux_colours_the_reading(env, user, tmp_path):
    shell_env = {key: value for key, value in env.items() if key not in ("NO_COLOR", "COLUMNS")}
    shell_env |= {"FMR_CONFIG_DIR": str(tmp_path / "config"), "PS1": "$ ",
                  "PATH": f"{Path(FMR).parent}:{os.environ['PATH']}"}
    tmux = Tmux(shell_env)
    tmux.start(tmp_path / "tmux.conf")
    try:
        tmux.type("fmr login")
        tmux.wait_for("Username:")
        tmux.type(user.username)
        tmux.wait_for("Password:")
        tmux.type(user.password)
        tmux.wait_for(r"Logged in[\s\S]*^\$ $")
        tmux.type(f"fmr check --image {Path(PAGE).relative_to(REPO)} "
                  f"--audio {Path(READING).relative_to(REPO)}; echo exit=$?")
        plain = tmux.wait_for(r"exit=\d+")
        coloured = tmux.screen(escapes=True)
        tmux.type("fmr models; echo listed=$?")
        tmux.wait_for(r"listed=\d+")
        tmux.type(f"fmr check --audio {Path(READING).relative_to(REPO)} "
                  f"--text '{MISCUE['reference']}' --json | python3 -c 'import json, sys; "
                  "d = json.load(sys.stdin); print([(e[\"type\"], e[\"expected\"], "
                  "e[\"found\"]) for e in d[\"result\"][\"errors\"]])'; echo json=$?")
        session = tmux.wait_for(r"json=\d+")
    finally:
        tmux.kill()
    print(session)
    print(coloured.encode("unicode_escape").decode())
    assert "exit=0" in plain and "listed=0" in session and "json=0" in session
    assert "('omission', 'green', '')" in session and "eng_tesseract" in session
    assert "brown→black" in plain and "Accuracy" in plain and "WCPM" in plain
    assert "~green~" not in plain  # with colour, a skipped word is struck through instead
    reading = next(line for line in coloured.splitlines() if "little" in line and "dog" in line)
    # Correct words plain; brown (substituted) and black (heard) in one colour; green
    # (skipped) in another, struck through.
    assert style_at(reading, "little") == (None, set())
    brown, heard, green = (style_at(reading, w) for w in ("brown", "→black", "green"))
    assert brown[0] is not None and brown[0] == heard[0]
    assert green[0] not in (None, brown[0]) and "strike" in green[1]


def style_at(line: str, word: str) -> tuple[str | None, set[str]]:
    """The foreground colour and the attributes (bold, strike) in force where ``word``
    starts in ``line``, from its SGR escape codes."""
    colour: str | None = None
    attributes: set[str] = set()
    names = {"1": "bold", "3": "italic", "4": "underline", "9": "strike"}
    for match in re.finditer(r"\x1b\[([0-9;]*)m", line[: line.index(word)]):
        codes = (match.group(1) or "0").split(";")
        while codes:
            code = codes.pop(0)
            if code in ("", "0"):
                colour, attributes = None, set()
            elif code in ("38", "48"):
                args = codes[:1] + (codes[1:2] if codes[:1] == ["5"] else codes[1:4])
                del codes[: len(args)]
                if code == "38":
                    colour = ";".join([code, *args])
            elif code == "39":
                colour = None
            elif code.isdigit() and (30 <= int(code) <= 37 or 90 <= int(code) <= 97):
                colour = code
            elif code in names:
                attributes.add(names[code])
    return colour, attributes
