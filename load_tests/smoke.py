"""Drive the main flow against a running service and print the figures.

    .venv/bin/python load_tests/smoke.py --url http://127.0.0.1:8000 --tasks 20 --concurrency 4

One user uploads the sample photo and recording once, then ``--tasks`` audio/image
comparison tasks are created from ``--concurrency`` threads, each polled every 0.25 s
until ready. Prints throughput (tasks/min), task turnaround p50/p95 (seconds, from
creation to ready) and how many tasks completed, failed or never finished. Loopback
only; every loop is bounded by --timeout.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def login(client: httpx.Client) -> dict[str, str]:
    username, password = f"load-{uuid.uuid4().hex[:8]}", "load-test-password"
    client.put("/v1/auth/register", params={"username": username, "password": password})
    token = client.post("/v1/auth/token", data={"username": username, "password": password})
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def upload(client: httpx.Client, headers: dict[str, str], kind: str, path: Path) -> str:
    response = client.post(f"/v1/{kind}/upload", headers=headers,
                           files={"upload_file": (path.name, path.read_bytes())})
    response.raise_for_status()
    return response.json()["file_id"]


def run_one(client: httpx.Client, headers: dict[str, str], body: dict, timeout_s: float):
    started = time.monotonic()
    response = client.post("/v1/comparison/audio/image/task", json=body, headers=headers)
    if response.status_code != 200:
        return "rejected", time.monotonic() - started
    task_id = response.json()["task_id"]
    while time.monotonic() - started < timeout_s:
        status = client.get("/v1/task/status", params={"task_id": task_id}, headers=headers)
        if status.status_code == 200 and status.json()["ready"]:
            return status.json()["status"], time.monotonic() - started
        time.sleep(0.25)
    return "unfinished", time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--image-model", default="eng_tesseract")
    parser.add_argument("--timeout", type=float, default=300.0, help="per task, seconds")
    args = parser.parse_args()

    with httpx.Client(base_url=args.url, timeout=60) as client:
        headers = login(client)
        body = {"audio_file": upload(client, headers, "audio", DATA / "every_path.mp3"),
                "image_file": upload(client, headers, "image", DATA / "every_path.jpg"),
                "audio_model": "whisper", "image_model": args.image_model}
        started = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as pool:
            outcomes = list(pool.map(lambda _: run_one(client, headers, body, args.timeout),
                                     range(args.tasks)))
        elapsed = time.monotonic() - started

    times = sorted(t for status, t in outcomes if status == "completed")
    counts = {s: sum(1 for status, _ in outcomes if status == s)
              for s in ("completed", "failed", "rejected", "unfinished")}
    print(f"tasks={args.tasks} concurrency={args.concurrency} image_model={args.image_model}")
    print(f"outcomes: {counts}")
    print(f"throughput: {len(times) / elapsed * 60:.1f} tasks/min over {elapsed:.1f} s")
    if times:
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"turnaround: p50={statistics.median(times):.2f} s p95={p95:.2f} s "
              f"max={times[-1]:.2f} s")


if __name__ == "__main__":
    main()
