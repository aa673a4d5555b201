"""Serving speed of one source tree, or of an old commit and the new tree side by side.

For each tree the service runs as users run it (``serve run configs/serve.yaml`` with the
tree as the working directory, a throwaway Redis, rate limits off), and one client on
this machine measures, on ``/work/shared/samples/every_path.{jpg,mp3}`` with the image
model ``en_easyocr`` and the audio model ``whisper``, after one warm-up comparison and in
this order (the burst last: the ASR replica it may add would carry over into the others):

* ``single_task_median_s``: a warm audio/image comparison alone, create -> poll the status
  every 0.05 s -> fetch the result, in seconds (median of ``--single-runs``; each run in
  ``single_task_runs_s``).
* ``status_rps``, ``status_p50_ms``, ``status_p99_ms``: ``GET /v1/task/status`` of a
  finished task from 16 concurrent clients for ``--status-seconds``: requests per second
  and the response wait, in milliseconds.
* ``burst_tasks_per_min``: ``--burst`` comparisons created at once (each polled every
  0.5 s): tasks / (first create -> last seen finished) * 60.
* ``burst_poll_p50_ms``, ``burst_poll_p99_ms``: during that burst, an unrelated client
  asks for the status of a finished task, the next request ``--poll-interval`` s after
  the previous answer: its response wait, in milliseconds.

Every comparison must end ``completed``, else the run fails. One JSON line per measured
tree goes to stdout (and is appended to ``--out``); progress goes to stderr. Trees are
measured one after another, each on a fresh service; ``--rounds N`` alternates base/new N
times. The client shares the machine with the service and anything else running on it
(``loadavg_1m`` is recorded at the start of each tree's measurement). ERROR lines and
tracebacks in the Serve logs are counted (``serve_log_errors``, the first ones go to
stderr); ``--keep-logs DIR`` keeps the logs.

``--base REV`` measures REV from a git worktree at ``/tmp/fmr-speed-<sha>`` (created, or
reused, with this repository's ``.venv`` linked in), so old commits stay measurable after
modules move. This script imports nothing from the project's packages (``core``, ``api``,
``serve_app``, ``plugins``), and neither do the two ``bench`` modules it uses.

    .venv/bin/python -m bench.speed --base b3ce718   # base, then this tree
    .venv/bin/python -m bench.speed                  # this tree only
    .venv/bin/python bench/speed.py --base b3ce718 --tree /tmp/other-worktree --rounds 2
    # files in a local folder, then in an S3 store (README "Files in S3"), alternating:
    .venv/bin/python -m bench.speed --rounds 2 --variant-env FMR_STORAGE_URL=s3://b/p \
        --variant-env FMR_S3_ENDPOINT_URL=http://127.0.0.1:8333 --variant-env AWS_...

The service machinery (worktrees, the service's processes, their CPU time) is in
``bench/tree_service.py``, the helpers shared with ``bench/serving.py`` in
``bench/harness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

if not __package__:  # run as `python bench/speed.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Login, log, percentile  # noqa: E402
from bench.tree_service import (  # noqa: E402
    REPO,
    Service,
    cpu_seconds,
    cpu_used,
    git,
    worktree,
)

SAMPLES = Path("/work/shared/samples")
AUDIO = SAMPLES / "every_path.mp3"
IMAGE = SAMPLES / "every_path.jpg"
AUDIO_MODEL, IMAGE_MODEL = "whisper", "en_easyocr"
STATUS_CLIENTS = 16
BURST_POLL_S = 0.5  # a burst task's own status is asked no more often than this
SINGLE_POLL_S = 0.05
TASK_DEADLINE_S = 1800.0


# --- the client ----------------------------------------------------------------------


def check_completed(status: dict[str, Any], task: str) -> None:
    """Raise unless a finished task's status says ``completed``."""
    if status.get("status") != "completed":
        raise RuntimeError(f"task {task} finished {status.get('status')!r}: {status}")


# --- measurements --------------------------------------------------------------------


def upload(client: httpx.Client) -> dict[str, str]:
    """The comparison request body for the sample pair, uploaded once."""
    ids = {}
    for kind, path in (("audio", AUDIO), ("image", IMAGE)):
        response = client.post(f"/v1/{kind}/upload",
                               files={"upload_file": (path.name, path.read_bytes())})
        response.raise_for_status()
        ids[kind] = response.json()["file_id"]
    return {"audio_file": ids["audio"], "image_file": ids["image"],
            "audio_model": AUDIO_MODEL, "image_model": IMAGE_MODEL}


def single_task(client: httpx.Client, body: dict[str, str]) -> tuple[float, str]:
    """Seconds of one comparison, create -> poll -> result; and its task id."""
    started = time.perf_counter()
    response = client.post("/v1/comparison/audio/image/task", json=body)
    response.raise_for_status()
    task = response.json()["task_id"]
    while True:
        status = client.get("/v1/task/status", params={"task_id": task})
        status.raise_for_status()
        if status.json()["ready"]:
            break
        if time.perf_counter() - started > TASK_DEADLINE_S:
            raise TimeoutError(f"task {task} not finished in {TASK_DEADLINE_S} s")
        time.sleep(SINGLE_POLL_S)
    result = client.get("/v1/comparison/audio/image/result", params={"task_id": task})
    elapsed = time.perf_counter() - started
    check_completed(status.json(), task)
    result.raise_for_status()
    if "errors" not in result.json():
        raise RuntimeError(f"task {task}: result without errors list: {result.text[:200]}")
    return elapsed, task


def status_throughput(url: str, auth: Login, task: str, seconds: float) -> dict[str, Any]:
    """16 concurrent clients asking for a finished task's status for ``seconds``."""

    async def run() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=STATUS_CLIENTS,
                              max_keepalive_connections=STATUS_CLIENTS)
        async with httpx.AsyncClient(base_url=url, auth=auth, limits=limits, timeout=60) as c:
            stop = time.perf_counter() + seconds

            async def client_loop() -> None:
                nonlocal errors
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    response = await c.get("/v1/task/status", params={"task_id": task})
                    latencies.append(time.perf_counter() - started)
                    errors += response.status_code != 200

            started = time.perf_counter()
            await asyncio.gather(*(client_loop() for _ in range(STATUS_CLIENTS)))
            return latencies, errors, time.perf_counter() - started

    latencies, errors, wall = asyncio.run(run())
    if errors:
        log(f"WARNING: {errors} of {len(latencies)} status requests were not 200")
    return {
        "status_clients": STATUS_CLIENTS,
        "status_requests": len(latencies),
        "status_errors": errors,
        "status_rps": round(len(latencies) / wall, 1),
        "status_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "status_p99_ms": round(percentile(latencies, 99) * 1000, 1),
    }


def observe(url: str, token: str, task: str, interval_s: float, stop: Any, out: Any) -> None:
    """An unrelated client polling a finished task's status, one request at a time,
    ``interval_s`` after the previous answer, until ``stop`` is set; puts
    ``([(start, wait), ...], errors)`` on ``out`` (``time.perf_counter`` seconds).

    Run in a process of its own, so the load generator's threads and event loop (and
    its GIL) do not delay it: what it measures is the service's answer time.
    """
    samples: list[tuple[float, float]] = []
    errors = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = client.get("/v1/task/status", params={"task_id": task}).is_success
            except httpx.HTTPError:
                ok = False
            samples.append((started, time.perf_counter() - started))
            errors += not ok
            stop.wait(interval_s)
    out.put((samples, errors))


def burst(url: str, auth: Login, body: dict[str, str], count: int, finished_task: str,
          interval_s: float) -> dict[str, Any]:
    """``count`` comparisons created at once, each polled every 0.5 s until finished,
    while an observer polls ``finished_task``."""

    async def run() -> tuple[float, list[float]]:
        limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
        async with httpx.AsyncClient(base_url=url, auth=auth, limits=limits, timeout=120) as c:

            async def one() -> float:
                response = await c.post("/v1/comparison/audio/image/task", json=body)
                response.raise_for_status()
                task = response.json()["task_id"]
                while True:
                    await asyncio.sleep(BURST_POLL_S)
                    status = await c.get("/v1/task/status", params={"task_id": task})
                    status.raise_for_status()
                    if status.json()["ready"]:
                        check_completed(status.json(), task)
                        return time.perf_counter()
                    if time.perf_counter() - first > TASK_DEADLINE_S:
                        raise TimeoutError(f"task {task} not finished in {TASK_DEADLINE_S} s")

            first = time.perf_counter()
            finished = await asyncio.gather(*(one() for _ in range(count)))
            return first, finished

    spawn = multiprocessing.get_context("spawn")
    stop, out = spawn.Event(), spawn.Queue()
    observer = spawn.Process(
        target=observe, args=(url, auth.token, finished_task, interval_s, stop, out), daemon=True
    )
    observer.start()
    try:
        first, finished = asyncio.run(run())
    finally:
        stop.set()
        samples, errors = out.get(timeout=70)
        observer.join(10)
    wall = max(finished) - first
    latencies = [wait for _, wait in samples]
    if errors:
        log(f"WARNING: {errors} observer status requests failed")
    slowest = sorted(samples, key=lambda sample: -sample[1])[:3]
    log("slowest observer polls (s into the burst: ms): " + ", ".join(
        f"{start - first:.1f}: {wait * 1000:.0f}" for start, wait in slowest))
    return {
        "burst_tasks": count,
        "burst_wall_s": round(wall, 2),
        "burst_tasks_per_min": round(count / wall * 60, 2),
        "burst_poll_requests": len(latencies),
        "burst_poll_errors": errors,
        "burst_poll_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "burst_poll_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "burst_poll_max_ms": round(max(latencies) * 1000, 1),
    }


def measure(
    label: str, tree: Path, round_: int, args: argparse.Namespace, variant: list[str] = ()
) -> dict[str, Any]:
    """One JSON row: every phase of the module docstring on a fresh service of ``tree``."""
    commit = git("rev-parse", "HEAD", cwd=tree)
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", cwd=tree))
    log(f"{label}: {tree} at {commit[:10]}{' (uncommitted changes)' if dirty else ''}")
    row: dict[str, Any] = {"label": label, "commit": commit, "dirty": dirty, "tree": str(tree),
                           "round": round_, "loadavg_1m": round(os.getloadavg()[0], 2)}
    extra_env = dict(item.split("=", 1) for item in [*args.env, *variant])
    if extra_env:
        row["env"] = extra_env
    service = Service(tree, args.ready_timeout, extra_env)
    try:
        auth = Login(service.url, prefix="speed")
        with httpx.Client(base_url=service.url, auth=auth, timeout=120) as client:
            body = upload(client)
            warmup_s, finished_task = single_task(client, body)
            log(f"warm-up task {warmup_s:.2f} s")
            runs = []
            for _ in range(args.single_runs):
                runs.append(single_task(client, body)[0])
                log(f"single task {runs[-1]:.2f} s")
        row.update({
            "single_task_median_s": round(statistics.median(runs), 3),
            "single_task_runs_s": [round(t, 3) for t in runs],
            "warmup_task_s": round(warmup_s, 3),
        })
        log(f"status polling, {STATUS_CLIENTS} clients for {args.status_seconds} s")
        before = cpu_seconds(service.marker)
        row.update(status_throughput(service.url, auth, finished_task, args.status_seconds))
        row["status_cpu_s"] = cpu_used(before, cpu_seconds(service.marker))
        log(f"burst of {args.burst} tasks")
        before = cpu_seconds(service.marker)
        row.update(burst(service.url, auth, body, args.burst, finished_task, args.poll_interval))
        row["burst_cpu_s"] = cpu_used(before, cpu_seconds(service.marker))
        row.update({"startup_s": service.startup_s, "http_port": service.port,
                    "replicas_checked": service.replicas_checked})
    finally:
        errors = service.error_lines()
        row["serve_log_errors"] = len(errors)
        for line in errors[:10]:
            log(f"serve log: {line[:300]}")
        if args.keep_logs:
            service.keep_logs(args.keep_logs / f"{label}-{round_}-{commit[:10]}")
        service.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="commit to measure first (from a git worktree)")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="the new tree (default: this repository's checkout)")
    parser.add_argument("--rounds", type=int, default=1, help="base/new alternations")
    parser.add_argument("--status-seconds", type=float, default=20)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--single-runs", type=int, default=5)
    parser.add_argument("--poll-interval", type=float, default=0.25,
                        help="seconds between the burst observer's status requests")
    parser.add_argument("--ready-timeout", type=float, default=900,
                        help="seconds for the service to become ready")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment of the service (both trees), repeatable")
    parser.add_argument("--variant-env", action="append", default=[], metavar="KEY=VALUE",
                        help="also measure each tree with this extra environment, right "
                        "after it without (label suffix '+env'), repeatable; e.g. the "
                        "FMR_STORAGE_URL of an S3 store against the local folder")
    parser.add_argument("--out", type=Path, help="append the JSON lines to this file")
    parser.add_argument("--keep-logs", type=Path,
                        help="copy each service's Serve logs into a subfolder of this folder")
    args = parser.parse_args()
    for path in (AUDIO, IMAGE):
        if not path.is_file():
            parser.error(f"sample {path} missing")
    # A plain `kill` of this script still runs the finally blocks that stop the service.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    trees = [("base", worktree(args.base))] if args.base else []
    trees.append(("new", args.tree.resolve()))
    started = time.monotonic()
    for round_ in range(args.rounds):
        for label, tree in trees:
            variants = [(label, [])]
            if args.variant_env:
                variants.append((f"{label}+env", args.variant_env))
            for name, variant in variants:
                line = json.dumps(measure(name, tree, round_, args, variant))
                print(line, flush=True)
                if args.out:
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    with args.out.open("a") as out:
                        out.write(line + "\n")
    log(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
