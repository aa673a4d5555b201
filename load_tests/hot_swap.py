"""Replace a model under load with zero failed requests and zero lost tasks.

Against a running service (``scripts/serve.sh`` or ``serve run configs/serve.yaml``),
client threads keep creating audio/text comparison tasks on ``--model``'s
application. After ``--swap-after`` seconds the config is redeployed with that
model's options changed (``serve deploy``, the operator's command), so Serve replaces
its replicas while tasks are in flight. At the end every task is polled to a
terminal status and the counts are printed:

    .venv/bin/python load_tests/hot_swap.py --config configs/serve.yaml \\
        --app asr-whisper --set beam_size=4 --seconds 90 --swap-after 30

Exit code 1 if any request was refused, any task failed or any task was lost (not
finished within ``--deadline`` seconds after the load stopped). ``--restore``
redeploys the original config at the end.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import yaml

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def login(client: httpx.Client) -> dict[str, str]:
    username, password = f"swap{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    client.put("/v1/auth/register", params={"username": username, "password": password})
    token = client.post("/v1/auth/token", data={"username": username, "password": password})
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def deploy(config: dict, address: str) -> float:
    """``serve deploy`` a config dict; returns the command's duration in seconds."""
    serve = Path(sys.executable).with_name("serve")  # the venv's CLI, PATH or not
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as handle:
        yaml.safe_dump(config, handle)
        handle.flush()
        started = time.monotonic()
        subprocess.run([str(serve), "deploy", handle.name, "--address", address], check=True)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--address", default="http://127.0.0.1:8265", help="Ray dashboard")
    parser.add_argument("--config", type=Path, default=Path("configs/serve.yaml"))
    parser.add_argument("--app", default="asr-whisper", help="model application to replace")
    parser.add_argument("--set", action="append", default=["beam_size=4"],
                        help="option=value to change in the app's plugin options")
    parser.add_argument("--model", default=None, help="public model name (default: plugin)")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--interval", type=float, default=3.0,
                        help="seconds between one client's tasks (keep below capacity)")
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--swap-after", type=float, default=30)
    parser.add_argument("--deadline", type=float, default=300)
    parser.add_argument("--restore", action="store_true")
    args = parser.parse_args()

    original = yaml.safe_load(args.config.read_text())
    changed = copy.deepcopy(original)
    (app,) = [a for a in changed["applications"] if a["name"] == args.app]
    options = app["args"].setdefault("options", {})
    for assignment in args.set:
        key, _, value = assignment.partition("=")
        options[key] = yaml.safe_load(value)  # 4 -> int, true -> bool, a/b -> str
    model = args.model or app["args"].get("name") or app["args"]["plugin"]

    client = httpx.Client(base_url=args.url, timeout=60)
    headers = login(client)
    audio = client.post("/v1/audio/upload", headers=headers, files={
        "upload_file": ("miscue.mp3", (DATA / "miscue.mp3").read_bytes())})
    audio.raise_for_status()
    body = {"audio_file": audio.json()["file_id"], "audio_model": model,
            "text": [json.loads((DATA / "miscue.json").read_text())["reference"]]}

    submitted: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=args.url, timeout=60) as own:
            while not stop.is_set():
                response = own.post("/v1/comparison/audio/text/task", json=body, headers=headers)
                if response.status_code == 200:
                    submitted.append(response.json()["task_id"])
                else:
                    refused.append(f"{response.status_code} {response.text[:200]}")
                time.sleep(args.interval)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(args.swap_after)
    before = len(submitted)
    print(f"swapping {args.app} ({model}) options -> {options} after {before} tasks", flush=True)
    took = deploy(changed, args.address)
    print(f"serve deploy returned after {took:.1f} s", flush=True)
    time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
    stop.set()
    for thread in threads:
        thread.join()

    deadline = time.monotonic() + args.deadline
    outcome: dict[str, str] = {}
    pending = list(submitted)
    while pending and time.monotonic() < deadline:
        still = []
        for task_id in pending:
            status = client.get("/v1/task/status", params={"task_id": task_id},
                                headers=headers).json()
            if status.get("ready"):
                outcome[task_id] = status["status"]
            else:
                still.append(task_id)
        pending = still
        if pending:
            time.sleep(1)
    completed = sum(1 for s in outcome.values() if s == "completed")
    failed = sum(1 for s in outcome.values() if s == "failed")
    print(f"hot swap under load: {len(submitted)} tasks submitted ({before} before the swap), "
          f"{completed} completed, {failed} failed, {len(pending)} lost, "
          f"{len(refused)} requests refused")
    for line in refused[:5]:
        print("  refused:", line)
    if args.restore:
        deploy(original, args.address)
    return 1 if refused or failed or pending else 0


if __name__ == "__main__":
    sys.exit(main())
