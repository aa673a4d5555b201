"""Serving benchmarks: dynamic batching, replicas, serving overhead, status polling.

Starts a throwaway Redis and a local Ray (``--cpus``, default 2) with the service
deployed from a config (the same ``deploy_apps`` call ``serve run`` makes), then
measures, in one run, on the same files:

* ``batching``: throughput (files/min) and p50/p95 latency of the ASR and OCR model
  deployments at concurrency 1, 4 and 16, with batching off and on (two model
  applications with the same weights, called through their Serve handles).
* ``replicas``: 16 concurrent 10-second recordings through 1, then 2 ASR replicas.
* ``overhead``: warm end-to-end latency of one audio-vs-image comparison through
  the HTTP API (create task, poll every ``--poll-s``, fetch result) divided by the same
  work done in this process by the same ``TaskRunner`` with the plugins loaded
  locally (OCR, page text, primed ASR, assessment, audio cuts).
* ``status``: requests/s and p50/p99 of ``GET /v1/task/status`` with 16 concurrent
  clients for ``--status-seconds``.

The load generator runs on the same machine and takes CPU from the service;
figures are for this machine only.

The service (Redis, Ray, the deployments) is set up by ``bench/serving_service.py``;
the helpers shared with ``bench/speed.py`` are in ``bench/harness.py``.

    .venv/bin/python -m bench.serving --out bench/results/serving.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.harness import percentile
from bench.serving_service import ROOT, Service, model_app, stage_means

DATA = ROOT / "tests" / "data"
CONCURRENCY = (1, 4, 16)
CLIP_S = 10.0


# --- the files -----------------------------------------------------------------------


def ten_second_clips(folder: Path, count: int) -> list[tuple[Path, str]]:
    """``count`` mp3 clips of exactly 10 s and the text of the passage each comes from:
    cut from the benchmark set's recordings (``bench/data``) when built, else the
    test recording looped."""
    from pydub import AudioSegment

    manifest = ROOT / "bench" / "data" / "manifest.json"
    if manifest.is_file():
        items = json.loads(manifest.read_text())["items"]
        sources = [(ROOT / "bench" / "data" / i["audio"], i["reference"]) for i in items]
    else:
        fixture = json.loads((DATA / "miscue.json").read_text())
        sources = [(DATA / "miscue.mp3", fixture["reference"])]
    clips = []
    for index in range(count):
        source, reference = sources[index % len(sources)]
        audio = AudioSegment.from_file(source)
        while len(audio) < CLIP_S * 1000:
            audio += audio
        clip = folder / f"clip{index:02d}.mp3"
        audio[: int(CLIP_S * 1000)].export(clip, format="mp3")
        clips.append((clip, reference))
    return clips


def page_images(count: int) -> list[Path]:
    """Page photos: the benchmark set's pages when built, else the test images."""
    sources = sorted((ROOT / "bench" / "data" / "images").glob("*.png"))
    if not sources:
        sources = [DATA / "miscue.png", DATA / "every_path.jpg"]
    return [sources[i % len(sources)] for i in range(count)]

# --- measurements --------------------------------------------------------------------


def drive(call: Callable[[int], Any], requests: int, concurrency: int) -> dict[str, float]:
    """Run ``call(i)`` for i < requests with ``concurrency`` threads; time each."""
    latencies: list[float] = []

    def one(index: int) -> None:
        started = time.perf_counter()
        call(index)
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    return {
        "requests": requests,
        "wall_s": round(wall, 3),
        "per_min": round(requests / wall * 60, 1),
        "p50_s": round(percentile(latencies, 50), 3),
        "p95_s": round(percentile(latencies, 95), 3),
    }


def bench_batching(
    service: Service, clips: list[tuple[Path, str]], images: list[Path], args
) -> list[dict]:
    """Files/min and latency per concurrency, batching off and on, same files.

    Audio runs twice: without a reference text (audio processing tasks) and with
    each clip's own passage as the reference (comparisons prime Whisper with it).
    """
    from ray import serve

    service.deploy({
        "asr-plain": model_app("whisper", "whisper", False, 1),
        "asr-batched": model_app("whisper", "whisper_batched", True, 8),
        "ocr-plain": model_app("en_easyocr", "en_easyocr", False, 1),
        "ocr-batched": model_app("en_easyocr", "en_easyocr_batched", True, 8),
    })
    audio = [(p.read_bytes(), ".mp3", None) for p, _ in clips]
    primed = [(p.read_bytes(), ".mp3", reference) for p, reference in clips]
    pictures = [(p.read_bytes(), p.suffix, None) for p in images]
    rows = []
    for kind, apps, files, base in (
        ("audio", ("asr-plain", "asr-batched"), audio, args.requests),
        ("audio+reference", ("asr-plain", "asr-batched"), primed, args.requests),
        ("image", ("ocr-plain", "ocr-batched"), pictures, args.image_requests),
    ):
        for app in apps:
            handle = serve.get_deployment_handle("ModelHost", app)
            handle.process.remote(*files[0]).result()  # warm
            for concurrency in CONCURRENCY:
                n = max(base, 2 * concurrency if concurrency > 1 else 0)
                calls_before = len(handle.stats.remote().result()["batch_sizes"])
                figures = drive(
                    lambda i, h=handle, f=files: h.process.remote(*f[i % len(f)]).result(),
                    n, concurrency,
                )
                sizes = handle.stats.remote().result()["batch_sizes"][calls_before:]
                row = {"kind": kind, "batching": app.endswith("batched"),
                       "concurrency": concurrency, **figures,
                       "model_calls": len(sizes), "mean_batch": round(statistics.mean(sizes), 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def bench_replicas(service: Service, clips: list[Path]) -> list[dict]:
    from ray import serve

    audio = [p.read_bytes() for p, _ in clips]
    rows = []
    for replicas in (1, 2):
        service.deploy({"asr-plain": model_app(
            "whisper", "whisper", False, 1, deployment={"num_replicas": replicas})})
        handle = serve.get_deployment_handle("ModelHost", "asr-plain")
        for _ in range(replicas * 2):  # warm every replica
            handle.process.remote(audio[0], ".mp3").result()
        figures = drive(lambda i, h=handle: h.process.remote(audio[i % 16], ".mp3").result(),
                        16, 16)
        row = {"replicas": replicas, **figures}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


class LocalGateway:
    """``core.tasks.runner.ModelGateway`` over plugins loaded in this process."""

    def __init__(self, audio: Any, image: Any) -> None:
        self.audio, self.image = audio, image

    async def transcribe(self, model, path, reference_text=None, language=None, options=None):
        from core.plugins import AudioProcessingResult

        result = await asyncio.to_thread(
            self.audio.run_file, str(path), reference_text, language, options
        )
        return AudioProcessingResult.model_validate(result)

    async def recognise(self, model, path):
        from core.plugins import ImageProcessingResult

        result = await asyncio.to_thread(self.image.run_file, str(path))
        return ImageProcessingResult.model_validate(result)


class LocalMatcher:
    async def find_phrases(self, phrases, to_find, margin, score_cutoff):
        from core.reading.text_diff import find_phrases

        return find_phrases(phrases, to_find, margin=margin, score_cutoff=score_cutoff)

    async def assess(self, reference_text, reference, heard, duration, segment_lengths):
        from core.reading.assess import assess

        return assess(reference_text, reference, heard, duration, segment_lengths)


def bench_overhead(service: Service, args) -> dict:
    from bench.harness import Login

    service.deploy({
        "asr-plain": model_app("whisper", "whisper", False, 1),
        "ocr-plain": model_app("en_easyocr", "en_easyocr", False, 1),
    })
    audio_path, image_path = DATA / "miscue.mp3", DATA / "miscue.png"
    with httpx.Client(base_url=service.url, auth=Login(service.url), timeout=120) as client:
        audio = client.post("/v1/audio/upload", files={"upload_file": (
            audio_path.name, audio_path.read_bytes())}).json()["file_id"]
        image = client.post("/v1/image/upload", files={"upload_file": (
            image_path.name, image_path.read_bytes())}).json()["file_id"]
        body = {"audio_file": audio, "image_file": image,
                "audio_model": "whisper", "image_model": "en_easyocr"}

        def http_once() -> float:
            started = time.perf_counter()
            task = client.post("/v1/comparison/audio/image/task", json=body).json()["task_id"]
            while not client.get("/v1/task/status", params={"task_id": task}).json()["ready"]:
                time.sleep(args.poll_s)
            result = client.get("/v1/comparison/audio/image/result", params={"task_id": task})
            result.raise_for_status()
            return time.perf_counter() - started

        for _ in range(2):
            http_once()  # warm
        served = [http_once() for _ in range(args.overhead_runs)]
    # Metrics reach the agent every few seconds; the means include the warm-up runs.
    time.sleep(12)
    served_stages = stage_means(service.metrics_port)

    # The same work in this process: the pipeline's TaskRunner over local plugins.
    from redis.asyncio import Redis

    from api.settings import get_settings
    from core.plugins.host import PluginRunner
    from core.stores.files import FileStore
    from core.stores.tasks import Task, TaskKind, TaskStatus
    from core.tasks.runner import TaskRunner

    audio_runner = PluginRunner("whisper", {"compute_type": "int8"})
    image_runner = PluginRunner("en_easyocr")
    settings = get_settings()

    async def direct_runs() -> list[float]:
        redis = Redis.from_url(settings.redis_url, decode_responses=True)
        files = FileStore(redis, settings.key_prefix, settings.data_dir)
        owner = f"direct{uuid.uuid4().hex[:8]}"
        ids = {}
        for kind, path in (("audio", audio_path), ("image", image_path)):
            with path.open("rb") as source:
                ids[kind] = await files.save_upload(
                    kind, owner, source, path.name, max_bytes=settings.max_upload_bytes,
                    max_audio_duration_s=settings.max_audio_duration_s,
                    max_image_pixels=settings.max_image_pixels)
        runner = TaskRunner(files, LocalGateway(audio_runner, image_runner), LocalMatcher(),
                            observe_stage=lambda kind, stage, t: direct_stages.setdefault(
                                stage, []).append(t))
        task = Task(uuid.uuid4(), TaskKind.AUDIO_IMAGE_COMPARISON, owner, TaskStatus.IN_PROGRESS,
                    {"audio_file": str(ids["audio"]), "image_file": str(ids["image"]),
                     "audio_model": "whisper", "image_model": "en_easyocr"}, None, 1, 0, 0)
        times = []
        for run in range(args.overhead_runs + 2):
            started = time.perf_counter()
            await runner.run(task)
            if run >= 2:  # the first two warm up
                times.append(time.perf_counter() - started)
        await redis.aclose()
        return times

    direct_stages: dict[str, list[float]] = {}
    direct = asyncio.run(direct_runs())
    row = {
        "served_stage_mean_s": served_stages,
        "direct_stage_mean_s": {k: round(statistics.mean(v), 3) for k, v in direct_stages.items()},
        "runs": args.overhead_runs,
        "http_median_s": round(statistics.median(served), 3),
        "direct_median_s": round(statistics.median(direct), 3),
        "ratio": round(statistics.median(served) / statistics.median(direct), 3),
        "http_s": [round(t, 3) for t in served],
        "direct_s": [round(t, 3) for t in direct],
    }
    print(json.dumps(row), flush=True)
    return row


def bench_status(service: Service, args) -> dict:
    from bench.harness import Login

    service.deploy({"asr-plain": model_app("whisper", "whisper", False, 1)})
    with httpx.Client(base_url=service.url, auth=Login(service.url), timeout=60) as client:
        audio = client.post("/v1/audio/upload", files={"upload_file": (
            "a.mp3", (DATA / "every_path.mp3").read_bytes())}).json()["file_id"]
        task = client.post("/v1/audio/process/task", json={
            "audio_file": audio, "audio_model": "whisper"}).json()["task_id"]
        token = client.auth.token  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {token}"}

    async def poll() -> tuple[list[float], int, float]:
        latencies: list[float] = []
        errors = 0
        stop = time.perf_counter() + args.status_seconds
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        async with httpx.AsyncClient(base_url=service.url, headers=headers, limits=limits) as c:
            async def client_loop() -> None:
                nonlocal errors
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    response = await c.get("/v1/task/status", params={"task_id": task})
                    latencies.append(time.perf_counter() - started)
                    errors += response.status_code != 200

            started = time.perf_counter()
            await asyncio.gather(*(client_loop() for _ in range(16)))
            return latencies, errors, time.perf_counter() - started

    latencies, errors, wall = asyncio.run(poll())
    row = {
        "clients": 16,
        "seconds": round(wall, 1),
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / wall, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 99) * 1000, 1),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=["batching", "replicas", "overhead", "status"],
                        choices=["batching", "replicas", "overhead", "status"])
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--requests", type=int, default=16, help="audio requests per cell")
    parser.add_argument("--image-requests", type=int, default=8, help="image requests per cell")
    parser.add_argument("--overhead-runs", type=int, default=5)
    parser.add_argument("--poll-s", type=float, default=0.05,
                        help="status polling interval of the overhead run; polling every "
                        "10 ms took enough of 2 cores to slow the models down")
    parser.add_argument("--status-seconds", type=float, default=20)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "ray_cpus": args.cpus,
    }
    service = Service(args.cpus)
    folder = Path(tempfile.mkdtemp(prefix="fmr-clips-"))
    try:
        clips = ten_second_clips(folder, 16)
        if "batching" in args.only:
            report["batching"] = bench_batching(service, clips, page_images(8), args)
        if "replicas" in args.only:
            report["replicas"] = bench_replicas(service, clips)
        if "overhead" in args.only:
            report["overhead"] = bench_overhead(service, args)
        if "status" in args.only:
            report["status"] = bench_status(service, args)
    finally:
        service.close()
        shutil.rmtree(folder, ignore_errors=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
