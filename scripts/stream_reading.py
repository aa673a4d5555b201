"""Stream a recording to ``WS /v1/audio/stream`` at real-time pace and print what comes back.

Usage::

    python scripts/stream_reading.py RECORDING --token TOKEN \\
        [--url ws://127.0.0.1:8000] [--model whisper] [--text "The page's text"]

The recording (any format ffmpeg reads) is sent as 16-kHz 16-bit mono PCM in 0.25-s
chunks, as a microphone would; ``--fast`` sends it as fast as the server takes it.
Partial results print as they come (tentative ones in brackets), then with ``--text``
each miscue as the reader passes it (from the transcript alone: provisional), the
summary, and the verified check of the whole recording (the reading check, as for an
upload: the answer to keep). The token is sent in the first message, not the
URL, so it stays out of access logs.

``--latency`` prints, for the partials, the time from the end of their last word in
the audio (the stream's clock: when that audio was sent, at real-time pace) to their
arrival: median, 90th percentile and maximum, for tentative and for final partials.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from websockets.sync.client import connect

#: Bytes per second of 16-kHz 16-bit mono PCM.
PCM_BYTES_PER_S = 16000 * 2


def pcm(path: str) -> bytes:
    """The recording as 16-kHz mono s16le PCM (ffmpeg)."""
    command = ["ffmpeg", "-v", "error", "-i", path, "-f", "s16le", "-ac", "1", "-ar", "16000", "-"]
    return subprocess.run(command, check=True, capture_output=True).stdout


def show(message: dict) -> None:
    kind = message["type"]
    if kind == "partial":
        text = message["text"] if message["final"] else f"[{message['text']}]"
        print(f"{message['start']:6.2f}-{message['end']:6.2f}s  {text}", flush=True)
    elif kind == "miscue":
        heard = f' (heard "{message["found"]}")' if message["found"] else ""
        print(f"  {message['miscue'].upper()}: \"{message['expected']}\"{heard}"
              f" at {message['start']:.2f}s", flush=True)
    elif kind == "summary":
        summary = message["summary"]
        print(f"accuracy {summary['accuracy']:.1f} %, WCPM {summary.get('wcpm')}")
    elif kind == "check":
        if message["state"] != "SUCCESS":
            print(f"checked: {message['state']} {message.get('error') or ''} "
                  f"(task {message.get('task_id')})")
            return
        print(f"checked (task {message['task_id']}): {len(message['errors'])} miscues")
        for error in message["errors"]:
            heard = f' (heard "{error["found"]}")' if error["found"] else ""
            print(f"  {error['type'].upper()}: \"{error['expected']}\"{heard}"
                  f" at {error['start']:.2f}s, confidence {error['confidence']}")
        summary = message["summary"] or {}
        print(f"checked accuracy {summary.get('accuracy')} %, WCPM {summary.get('wcpm')}")
    elif kind == "done":
        print(f"final text: {message['text']}")
    elif kind == "error":
        print(f"error {message['code']}: {message['message']}", file=sys.stderr)


def report_latency(arrivals: list[tuple[float, dict]], began: float) -> None:
    """Seconds from each partial's audio end (sent at ``began + end``) to its arrival."""
    for final in (False, True):
        delays = sorted(
            at - (began + m["end"]) for at, m in arrivals
            if m["type"] == "partial" and m["final"] is final and m["text"]
        )
        if not delays:
            continue
        p90 = delays[min(len(delays) - 1, int(0.9 * len(delays)))]
        print(f"latency, {'final' if final else 'tentative'} partials ({len(delays)}): "
              f"median {statistics.median(delays):.2f} s, p90 {p90:.2f} s, max {delays[-1]:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording")
    parser.add_argument("--token", required=True, help="an access token (POST /v1/auth/token)")
    parser.add_argument("--url", default="ws://127.0.0.1:8000")
    parser.add_argument("--model", default="whisper")
    parser.add_argument("--text", help="the text being read: miscues are reported")
    parser.add_argument("--fast", action="store_true", help="do not pace the audio")
    parser.add_argument("--latency", action="store_true", help="print partials' latency")
    args = parser.parse_args()

    audio = pcm(args.recording)
    chunk = PCM_BYTES_PER_S // 4
    start = {"type": "start", "token": args.token, "model": args.model, "format": "pcm_s16le"}
    if args.text:
        start["reference_text"] = args.text
    arrivals: list[tuple[float, dict]] = []

    def receive(raw: str | bytes) -> dict:
        message = json.loads(raw)
        arrivals.append((time.monotonic(), message))
        show(message)
        return message

    with connect(f"{args.url}/v1/audio/stream", open_timeout=30) as ws:
        ws.send(json.dumps(start))
        receive(ws.recv(timeout=30))  # ready (or an error)
        began = time.monotonic()
        for offset in range(0, len(audio), chunk):
            ws.send(audio[offset:offset + chunk])
            if not args.fast:
                due = began + (offset + chunk) / PCM_BYTES_PER_S
                time.sleep(max(0.0, due - time.monotonic()))
            while True:
                try:
                    receive(ws.recv(timeout=0))
                except TimeoutError:
                    break
        finalized = time.monotonic()
        ws.send("finalize")
        failed = any(m["type"] == "error" for _, m in arrivals)
        for raw in ws:
            failed |= receive(raw)["type"] == "error"
    if args.latency:
        # Partials sent after "finalize" wait for it, not for the audio.
        report_latency([(at, m) for at, m in arrivals if at < finalized], began)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
