"""``fmr``: check a reading aloud from the command line.

    fmr login                                   # asks for user name and password
    fmr check --image page.jpg --audio reading.mp3
    fmr check --audio reading.mp3 --text "The little brown dog..." --json
    fmr models | fmr status TASK | fmr transcribe reading.mp3

The login's tokens are kept in ``credentials.json`` in the user's config folder
(``platformdirs``; ``FMR_CONFIG_DIR`` overrides it), mode 0600, and renewed there
as they expire. The service is ``--api``, else ``FMR_API_URL``, else the one logged
in to, else ``http://127.0.0.1:8000``.

Exit status: 0 done; 1 the service refused or failed (its ``detail`` is shown), the
task failed or timed out, or the service is unreachable; 2 wrong usage; 130
interrupted.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import platformdirs
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fmr_client import _render as render
from fmr_client._version import __version__
from fmr_client.client import Client
from fmr_client.errors import APIError, AuthenticationError, FMRError, NotLoggedIn
from fmr_client.models import ImageComparison, TaskCreated, TaskStatus, TextComparison, Transcript
from fmr_client.store import FileTokenStore

__all__ = ["main"]

DEFAULT_API = "http://127.0.0.1:8000"
_LOGIN_HINT = "Log in with: fmr login"


class UsageError(Exception):
    """Wrong arguments (exit status 2)."""


def credentials_path() -> Path:
    """``credentials.json`` in ``FMR_CONFIG_DIR`` or the user's config folder."""
    folder = os.environ.get("FMR_CONFIG_DIR") or platformdirs.user_config_dir("fmr")
    return Path(folder) / "credentials.json"


class App:
    """One run of the command: its consoles, its settings and its client."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)
        self.store = FileTokenStore(credentials_path())
        saved = self.store.read()
        self.api = args.api or os.environ.get("FMR_API_URL") or saved.get("api") or DEFAULT_API
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            saved = self.store.read()
            same_service = saved.get("api", self.api) == self.api
            self._client = Client(
                self.api, token_store=self.store if same_service else None,
                timeout=self.args.http_timeout,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def colour(self) -> bool:
        return self.out.color_system is not None

    def write_json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    @contextmanager
    def progress(self) -> Iterator[Callable[[str], Callable[[str], None]]]:
        """``step(description)`` shows a spinner line, ticks the step before it off, and
        returns ``update(description)`` for the new step (on stderr, while it is a
        terminal; the lines go away at the end)."""
        with Progress(SpinnerColumn(finished_text="[green]✓[/]"),
                      TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=self.err, transient=True,
                      disable=not self.err.is_terminal) as progress:
            def step(description: str) -> Callable[[str], None]:
                for earlier in progress.task_ids:
                    progress.update(earlier, total=1, completed=1)
                task = progress.add_task(description, total=None)

                def update(text: str) -> None:
                    progress.update(task, description=text)

                return update

            yield step


# -- commands ------------------------------------------------------------------------


def _read_password(app: App) -> str:
    if app.args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise UsageError("--password-stdin: no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise UsageError("No terminal to ask the password on: use --password-stdin")
    return getpass.getpass("Password: ")


def _username(app: App) -> str:
    if app.args.username:
        return app.args.username
    if not sys.stdin.isatty() or app.args.password_stdin:
        raise UsageError("Give --username (no terminal to ask on)")
    return input("Username: ").strip()


def _log_in(app: App, username: str, password: str) -> None:
    if app.store.read().get("api") not in (None, app.api):
        app.store.write({})  # another service's tokens: a login replaces them
    with Client(app.api, token_store=app.store, timeout=app.args.http_timeout) as client:
        client.login(username, password)
        user = client.me()
    saved = app.store.read()
    app.store.write(saved | {"api": app.api, "username": user.username})
    app.err.print(f"Logged in to {app.api} as [bold]{user.username}[/]; "
                  f"tokens in {app.store.path}")


def cmd_login(app: App) -> int:
    username = _username(app)
    _log_in(app, username, _read_password(app))
    return 0


def cmd_register(app: App) -> int:
    username = _username(app)
    password = _read_password(app)
    with Client(app.api, timeout=app.args.http_timeout) as client:
        client.register(username, password, app.args.email, app.args.full_name)
    app.err.print(f"Registered [bold]{username}[/]")
    _log_in(app, username, password)
    return 0


def cmd_logout(app: App) -> int:
    if app.store.load() is not None:
        try:
            app.client.logout()
        finally:
            app.store.write({key: v for key, v in app.store.read().items() if key == "api"})
    app.err.print("Logged out")
    return 0


def cmd_models(app: App) -> int:
    audio, image = app.client.audio_models(), app.client.image_models()
    if app.args.json:
        app.write_json({"audio": [asdict(m) for m in audio], "image": [asdict(m) for m in image]})
    else:
        app.out.print(render.models_table(audio, image))
    return 0


def _reference_text(args: argparse.Namespace) -> str | None:
    if args.text is not None and args.text_file is not None:
        raise UsageError("Give --text or --text-file, not both")
    if args.text_file is not None:
        return Path(args.text_file).read_text()
    return args.text


def _finish(app: App, created: TaskCreated, cls: type, update: Callable[[str], None],
            label: str) -> Any:
    def on_status(status: TaskStatus) -> None:
        update(f"{label}: {status.status.replace('_', ' ')}")

    return app.client.finish(created, cls, timeout=app.args.timeout,
                             min_confidence=app.args.min_confidence, on_status=on_status)


def cmd_check(app: App) -> int:
    args = app.args
    text = _reference_text(args)
    if (args.image is None) == (text is None):
        raise UsageError("Give --image (a photo of the page) or --text (the text read)")
    if args.annotated and args.image is None:
        raise UsageError("--annotated needs --image")
    client = app.client
    with app.progress() as step:
        audio_id = _upload(step, "audio", args.audio, client.upload_audio)
        if args.image is not None:
            image_id = _upload(step, "image", args.image, client.upload_image)
            label = f"Comparing ({args.audio_model} + {args.image_model})"
            update = step(label)
            created = client.create_image_comparison(
                audio_id, image_id, audio_model=args.audio_model, image_model=args.image_model,
                language=args.language, wait=True)
            result: ImageComparison | TextComparison = _finish(
                app, created, ImageComparison, update, label)
        else:
            label = f"Comparing ({args.audio_model})"
            update = step(label)
            created = client.create_text_comparison(
                audio_id, text, audio_model=args.audio_model, language=args.language,
                wait=True)
            result = _finish(app, created, TextComparison, update, label)
        if args.annotated:
            step("Drawing the miscues on the photo")
            png = client.annotated_image(created.task_id, args.min_confidence)
    if args.annotated:
        Path(args.annotated).write_bytes(png)
    if args.json:
        app.write_json({"task_id": created.task_id, "status": "completed", "result": result.raw})
    else:
        reference = result.reference_text if isinstance(result, ImageComparison) else text
        app.out.print(render.comparison(result, reference, created.task_id, app.colour()))
    if args.annotated:
        app.err.print(f"Annotated photo written to {args.annotated}")
    return 0


def _upload(step: Callable[[str], Callable[[str], None]], kind: str, source: str,
            upload: Callable[[str], str]) -> str:
    is_url = source.startswith(("http://", "https://"))
    if not is_url and not Path(source).is_file():
        raise UsageError(f"No such {kind} file: {source}")
    step(f"{'Fetching' if is_url else 'Uploading'} {kind} {Path(source).name}")
    return upload(source)


def cmd_status(app: App) -> int:
    client = app.client
    if app.args.wait:
        with app.progress() as step:
            update = step(f"Waiting for task {app.args.task_id}")
            try:
                status = client.wait(app.args.task_id, timeout=app.args.timeout,
                                     on_status=lambda s: update(f"Task: {s.status}"))
            except FMRError:
                status = client.task_status(app.args.task_id)
    else:
        status = client.task_status(app.args.task_id)
    result = client.task_result(status.task_id) if status.status == "completed" else None
    if app.args.json:
        body = asdict(status)
        if result is not None:
            body["result"] = result
        app.write_json(body)
    else:
        app.out.print(render.task(status, result, app.colour()))
    return 1 if status.failed else 0


def cmd_transcribe(app: App) -> int:
    args = app.args
    with app.progress() as step:
        audio_id = _upload(step, "audio", args.file, app.client.upload_audio)
        label = f"Transcribing ({args.audio_model})"
        update = step(label)
        created = app.client.create_transcription(audio_id, args.audio_model,
                                                  language=args.language, wait=True)
        result = _finish(app, created, Transcript, update, label)
    if args.json:
        app.write_json({"task_id": created.task_id, "status": "completed", "result": result.raw})
    else:
        app.out.print(render.transcript(result, segments=args.segments))
    return 0


# -- arguments -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    """The command line of ``fmr``."""
    main = argparse.ArgumentParser(prog="fmr", description="Check a reading aloud with the "
                                   "Follow My Reading service.")
    main.add_argument("--version", action="version", version=f"fmr {__version__}")
    main.add_argument("--api", help=f"the service's URL (default: FMR_API_URL, the one logged "
                      f"in to, or {DEFAULT_API})")
    main.add_argument("--http-timeout", type=float, default=60.0, metavar="S",
                      help="seconds per HTTP request (default 60)")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[App], int], text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(run=run)
        return sub

    for name, run, text in (("login", cmd_login, "log in; keep the tokens (mode 0600)"),
                            ("register", cmd_register, "create an account and log in")):
        sub = command(name, run, text)
        sub.add_argument("--username", "-u")
        sub.add_argument("--password-stdin", action="store_true",
                         help="read the password from the first line of standard input")
        if name == "register":
            sub.add_argument("--email")
            sub.add_argument("--full-name")
    command("logout", cmd_logout, "end the login session and forget its tokens")
    models = command("models", cmd_models, "list the speech and text recognition models")
    models.add_argument("--json", action="store_true", help="print JSON")

    check = command("check", cmd_check, "compare a recording with a page (photo) or a text")
    check.add_argument("--audio", required=True, help="the recording: a file or an http(s) URL")
    check.add_argument("--image", help="a photo of the page read: a file or an http(s) URL")
    check.add_argument("--text", help="the text read (instead of --image)")
    check.add_argument("--text-file", help="a file holding the text read")
    check.add_argument("--image-model", default="en_easyocr",
                       help="text recognition model (default en_easyocr; see fmr models)")
    check.add_argument("--annotated", metavar="OUT.png",
                       help="write the photo with the miscues drawn on it")
    for sub in (check, command("transcribe", cmd_transcribe, "transcribe a recording")):
        sub.add_argument("--audio-model", default="whisper",
                         help="speech recognition model (default whisper)")
        sub.add_argument("--language", help="ISO 639-1 code (default: the models' own)")
        sub.add_argument("--json", action="store_true",
                         help="print the task id and the service's result as JSON")
        sub.add_argument("--timeout", type=float, default=300.0, metavar="S",
                         help="seconds to wait for the result (default 300)")
    check.add_argument("--min-confidence", type=float, metavar="P",
                       help="leave out miscues the service is less sure of (0-1)")
    transcribe = commands.choices["transcribe"]
    transcribe.add_argument("file", help="the recording: a file or an http(s) URL")
    transcribe.add_argument("--segments", action="store_true", help="show the timed segments")
    transcribe.set_defaults(min_confidence=None)

    status = command("status", cmd_status, "a task's status, and its result when finished")
    status.add_argument("task_id", metavar="TASK")
    status.add_argument("--wait", action="store_true", help="wait until it has finished")
    status.add_argument("--timeout", type=float, default=300.0, metavar="S")
    status.add_argument("--json", action="store_true", help="print JSON")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fmr``; returns the exit status."""
    args = parser().parse_args(argv)
    app = App(args)
    try:
        return args.run(app)
    except UsageError as error:
        render.print_error(app.err, str(error))
        return 2
    except (AuthenticationError, NotLoggedIn) as error:
        detail = error.detail if isinstance(error, APIError) else str(error)
        render.print_error(app.err, detail, None if args.command == "login" else _LOGIN_HINT)
        return 1
    except APIError as error:
        render.print_error(app.err, f"{error.detail} (HTTP {error.status_code})")
        return 1
    except (FMRError, OSError) as error:
        render.print_error(app.err, str(error))
        return 1
    except KeyboardInterrupt:
        render.print_error(app.err, "interrupted")
        return 130
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())
