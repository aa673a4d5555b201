"""Soak test: locust on the main flow for minutes, with task accounting and worker RSS.

    .venv/bin/python load_tests/soak.py --minutes 5 --users 4 \\
        --host http://127.0.0.1:8000 --out .data/load/soak.json

Runs ``load_tests/locustfile.py`` headless (loopback only; bounded by ``--users`` and
``--minutes``) against a running service (``scripts/serve.sh``), and meanwhile
samples every ``--sample-s`` seconds the resident set size (RSS) of each Ray worker
process on this machine (processes titled ``ray::...``: replicas, proxy, controller).
When locust stops it waits for the tasks still running, then reads every task
created during the run from Redis (server side, so nothing a client missed is
hidden) and prints:

* requests and failed requests, p50/p99 of status polls and of task turnaround
  (creation to ``ready``, locust's ``TASK`` entries);
* tasks created, completed, failed, and *lost* (still ``pending``/``in_progress``
  ``--drain-s`` seconds after the load stopped);
* per Ray process: RSS at the first sample after ``--warmup-s``, max, last, and the
  growth from the first post-warm-up sample to the last, in MiB; a process whose
  RSS grows by more than ``--growth-limit-mib`` over the measured window is
  flagged.

Exit code 1 when a request failed, a task was lost or failed, or RSS grew past the
limit. Needs ``REDIS_URL`` (or ``--redis-url``) and the service's key prefix
(``FMR_KEY_PREFIX``, default ``fmr:``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import redis

HERE = Path(__file__).resolve().parent
TERMINAL = {"completed", "failed"}


def sample_ray_rss(samples: list[dict], stop: threading.Event, period_s: float) -> None:
    """Append ``{"t": seconds, "rss": {"title pid": MiB}}`` every ``period_s``."""
    started = time.monotonic()
    while not stop.is_set():
        rss: dict[str, float] = {}
        for proc in psutil.process_iter(["pid", "cmdline", "memory_info"]):
            cmdline = proc.info["cmdline"] or []
            title = cmdline[0] if cmdline else ""
            if title.startswith("ray::") and proc.info["memory_info"] is not None:
                # Ray appends the running method to the title ("...:Ingress.handle_request");
                # keep the actor's name so one process stays one series.
                actor = title.split()[0].split(".")[0]
                rss[f"{actor} {proc.info['pid']}"] = proc.info["memory_info"].rss / 2**20
        samples.append({"t": time.monotonic() - started, "rss": rss})
        stop.wait(period_s)


def memory_report(samples: list[dict], warmup_s: float, limit_mib: float) -> dict:
    """Per process: first RSS after warm-up, max, last, growth (MiB), and a flag."""
    report: dict[str, dict] = {}
    names = {name for s in samples for name in s["rss"]}
    for name in sorted(names):
        series = [(s["t"], s["rss"][name]) for s in samples if name in s["rss"]]
        measured = [rss for t, rss in series if t >= warmup_s] or [series[-1][1]]
        growth = measured[-1] - measured[0]
        report[name] = {
            "first_mib": round(measured[0], 1),
            "max_mib": round(max(rss for _, rss in series), 1),
            "last_mib": round(measured[-1], 1),
            "growth_mib": round(growth, 1),
            "grows": growth > limit_mib,
        }
    return report


def read_stats(prefix: Path) -> dict[str, dict]:
    """Locust's ``{prefix}_stats.csv`` rows by (type, name)."""
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return {f"{row['Type']} {row['Name']}": row for row in csv.DictReader(handle)}


def task_accounting(client: redis.Redis, prefix: str, since: float) -> dict[str, int]:
    """Statuses of the tasks created at or after ``since`` (Unix seconds)."""
    counts = {"created": 0, "completed": 0, "failed": 0, "pending": 0, "in_progress": 0}
    for key in client.scan_iter(match=f"{prefix}task:*", count=1000):
        created, status = client.hmget(key, ["created", "status"])
        if created is None or float(created) < since:
            continue
        counts["created"] += 1
        counts[status] = counts.get(status, 0) + 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="http://127.0.0.1:8000")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--spawn-rate", type=float, default=1)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--sample-s", type=float, default=10)
    parser.add_argument("--warmup-s", type=float, default=60)
    parser.add_argument("--drain-s", type=float, default=300)
    parser.add_argument("--growth-limit-mib", type=float, default=100)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL",
                                                              "redis://127.0.0.1:6379/0"))
    parser.add_argument("--key-prefix", default=os.environ.get("FMR_KEY_PREFIX", "fmr:"))
    parser.add_argument("--out", type=Path, default=Path(".data/load/soak.json"))
    args = parser.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    csv_prefix = args.out.with_suffix("")
    client = redis.Redis.from_url(args.redis_url, decode_responses=True)
    client.ping()
    started_at = time.time()

    samples: list[dict] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_ray_rss, args=(samples, stop, args.sample_s),
                               daemon=True)
    sampler.start()
    locust = [
        str(Path(sys.executable).with_name("locust")), "-f", str(HERE / "locustfile.py"),
        "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
        "-t", f"{int(args.minutes * 60)}s", "--host", args.host, "--csv", str(csv_prefix),
        "--only-summary", "--stop-timeout", "120",
    ]
    print("+", " ".join(locust), flush=True)
    locust_rc = subprocess.call(locust)

    # Tasks created just before the stop are still running: wait for them.
    deadline = time.monotonic() + args.drain_s
    tasks = task_accounting(client, args.key_prefix, started_at)
    while tasks["pending"] + tasks["in_progress"] and time.monotonic() < deadline:
        time.sleep(2)
        tasks = task_accounting(client, args.key_prefix, started_at)
    stop.set()
    sampler.join()

    stats = read_stats(csv_prefix)
    aggregated = stats["Aggregated"] if "Aggregated" in stats else stats[" Aggregated"]
    status_polls = stats.get("GET /v1/task/status?task_id=[id]", {})
    turnaround = [row for key, row in stats.items() if key.startswith("TASK ")]
    lost = tasks["pending"] + tasks["in_progress"]
    memory = memory_report(samples, args.warmup_s, args.growth_limit_mib)
    summary = {
        "users": args.users,
        "minutes": args.minutes,
        "requests": int(aggregated["Request Count"]),
        "failed_requests": int(aggregated["Failure Count"]),
        "requests_per_s": float(aggregated["Requests/s"]),
        "status_poll_p50_ms": status_polls.get("50%"),
        "status_poll_p99_ms": status_polls.get("99%"),
        "turnaround": {
            row["Name"]: {"count": int(row["Request Count"]), "p50_ms": row["50%"],
                          "p99_ms": row["99%"], "failures": int(row["Failure Count"])}
            for row in turnaround
        },
        "tasks": {**tasks, "lost": lost},
        "tasks_per_minute": round(tasks["completed"] / args.minutes, 1),
        "ray_rss_mib": memory,
        "ray_rss_max_mib": max((m["max_mib"] for m in memory.values()), default=0),
        "samples": len(samples),
        "locust_exit_code": locust_rc,
    }
    args.out.write_text(json.dumps(summary, indent=2))

    print(f"\nrequests {summary['requests']}, failed {summary['failed_requests']}, "
          f"{summary['requests_per_s']:.1f}/s")
    print(f"status polls p50 {summary['status_poll_p50_ms']} ms, "
          f"p99 {summary['status_poll_p99_ms']} ms")
    for name, row in summary["turnaround"].items():
        print(f"turnaround {name}: {row['count']} tasks, p50 {row['p50_ms']} ms, "
              f"p99 {row['p99_ms']} ms")
    print("tasks (server side): " + ", ".join(f"{k} {v}" for k, v in summary["tasks"].items())
          + f"; {summary['tasks_per_minute']} completed/min")
    print(f"Ray worker RSS over {len(samples)} samples (MiB; growth after {args.warmup_s:g} s):")
    for name, row in memory.items():
        flag = "  GROWS" if row["grows"] else ""
        print(f"  {name:60} first {row['first_mib']:8.1f}  max {row['max_mib']:8.1f}  "
              f"last {row['last_mib']:8.1f}  growth {row['growth_mib']:+7.1f}{flag}")
    print(f"written to {args.out}")
    bad = (summary["failed_requests"] or lost or tasks["failed"]
           or any(m["grows"] for m in memory.values()))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
