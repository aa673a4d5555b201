"""Kill Serve replicas under load and account for every task (issue 11's fault table).

    .venv/bin/python load_tests/kill_replicas.py --kill pipeline --kill asr-whisper \\
        --tasks 12 --host http://127.0.0.1:8000

Against a running service (``scripts/serve.sh``) on this machine: registers a user,
uploads a page photo and a recording of it, creates ``--tasks`` audio/image
comparison tasks, waits until one is in progress, then SIGKILLs one replica process
of each ``--kill`` target at once. A target is ``pipeline`` (the task consumer),
``ingress``, or a model application's name (its ``ModelHost``); replicas are found by
their process title, ``ray::ServeReplica:<app>:<deployment>``. Then it reads, from
Redis, how soon each task that was in progress at the kill started again, and polls
every task's status until all are finished or ``--timeout-s`` passes.

Prints the reason of each failed task, when each cut task started again (a new
attempt, or finished when Serve itself re-sent the cut model call), and a Markdown
table row::

    | killed | completed | failed | lost | cut tasks restarted within | all finished after |

A task still unfinished at the deadline is *lost*. Exit code 1 when a task failed or
was lost. Needs ``REDIS_URL`` (or ``--redis-url``) and the service's key prefix
(``FMR_KEY_PREFIX``, default ``fmr:``). Loopback only.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil
import redis
from smoke import login, upload  # this folder is sys.path[0] when run as a script

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
API_APP = "follow_my_reading"


def replica_pids(target: str) -> list[int]:
    """PIDs of the live replicas of a target (see the module docstring)."""
    wanted = {
        "pipeline": f"ray::ServeReplica:{API_APP}:Pipeline",
        "ingress": f"ray::ServeReplica:{API_APP}:Ingress",
    }.get(target, f"ray::ServeReplica:{target}:ModelHost")
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        # Ray appends the running method to the title ("...:Pipeline.handle_request").
        title = cmdline[0].split()[0] if cmdline else ""
        if title == wanted or title.startswith(wanted + "."):
            pids.append(proc.info["pid"])
    return pids


def task_states(db: redis.Redis, prefix: str, ids: list[str]) -> dict[str, tuple[str, int]]:
    """Task id -> (status, attempts), from the task records in Redis."""
    records = [db.hmget(f"{prefix}task:{i}", ["status", "attempts"]) for i in ids]
    return {i: (s, int(a or 0)) for i, (s, a) in zip(ids, records, strict=True)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="http://127.0.0.1:8000")
    parser.add_argument("--kill", action="append", required=True,
                        help="pipeline, ingress or a model application name; repeatable")
    parser.add_argument("--tasks", type=int, default=12)
    parser.add_argument("--audio-model", default="whisper")
    parser.add_argument("--image-model", default="en_easyocr")
    parser.add_argument("--audio", type=Path, default=DATA / "miscue.mp3")
    parser.add_argument("--image", type=Path, default=DATA / "miscue.png")
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL",
                                                              "redis://127.0.0.1:6379/0"))
    parser.add_argument("--key-prefix", default=os.environ.get("FMR_KEY_PREFIX", "fmr:"))
    args = parser.parse_args()

    db = redis.Redis.from_url(args.redis_url, decode_responses=True)
    db.ping()
    with httpx.Client(base_url=args.host, timeout=60) as client:
        headers = login(client)
        body = {
            "audio_file": upload(client, headers, "audio", args.audio),
            "image_file": upload(client, headers, "image", args.image),
            "audio_model": args.audio_model,
            "image_model": args.image_model,
        }
        ids = []
        for _ in range(args.tasks):
            response = client.post("/v1/comparison/audio/image/task", json=body, headers=headers)
            response.raise_for_status()
            ids.append(response.json()["task_id"])

        def started() -> bool:
            states = task_states(db, args.key_prefix, ids).values()
            return any(status == "in_progress" for status, _ in states)

        deadline = time.monotonic() + 120
        while not started():
            if time.monotonic() > deadline:
                print("no task started within 120 s", file=sys.stderr)
                return 1
            time.sleep(0.1)
        victims = {target: replica_pids(target) for target in args.kill}
        for target, pids in victims.items():
            if not pids:
                print(f"no live replica of {target!r}", file=sys.stderr)
                return 1
            os.kill(pids[0], signal.SIGKILL)
        killed_at = time.monotonic()
        cut = {i: a for i, (s, a) in task_states(db, args.key_prefix, ids).items()
               if s == "in_progress"}
        print(f"killed {', '.join(f'{t} (pid {p[0]})' for t, p in victims.items())} "
              f"with {len(cut)} of {len(ids)} tasks in progress")

        resumed: dict[str, float] = {}
        finished: dict[str, dict] = {}
        deadline = killed_at + args.timeout_s
        while time.monotonic() < deadline and len(finished) < len(ids):
            now = time.monotonic()
            for task_id, (status, tries) in task_states(db, args.key_prefix, list(cut)).items():
                restarted = tries > cut[task_id] or status in ("completed", "failed")
                if task_id not in resumed and restarted:
                    resumed[task_id] = now - killed_at
            for task_id in ids:
                if task_id in finished:
                    continue
                response = client.get("/v1/task/status", params={"task_id": task_id},
                                      headers=headers)
                if response.status_code == 200 and response.json()["ready"]:
                    finished[task_id] = response.json() | {"after_s": time.monotonic() - killed_at}
            time.sleep(0.25)

    statuses = Counter(body["status"] for body in finished.values())
    for task_id, body in finished.items():
        if body["status"] == "failed":
            print(f"failed {task_id}: {body['error']}")
    lost = len(ids) - len(finished)
    slowest = max(resumed.values(), default=float("nan"))
    unresumed = len(cut) - len(resumed)
    last = max((b["after_s"] for b in finished.values()), default=float("nan"))
    tries = sorted(a for _, a in task_states(db, args.key_prefix, ids).values())
    print(f"attempts per task: {tries}")
    delays = sorted(round(d) for d in resumed.values())
    print(f"cut tasks restarted (or finished) after, s: {delays}")
    print("| killed | completed | failed | lost | cut tasks restarted within "
          "| all finished after |")
    print("|---|---|---|---|---|---|")
    print(f"| {' + '.join(args.kill)} | {statuses['completed']} | {statuses['failed']} | {lost} "
          f"| {slowest:.0f} s ({len(cut)} cut{f', {unresumed} never' if unresumed else ''}) "
          f"| {last:.0f} s |")
    return 1 if statuses["failed"] or lost else 0


if __name__ == "__main__":
    sys.exit(main())
