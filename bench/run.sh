#!/usr/bin/env bash
# Run the accuracy benchmark end to end: build the set if missing, start a throwaway
# Redis and the service with bench/serve_bench.yaml, score it over HTTP, stop both.
#   bash bench/run.sh [extra args for bench.run_benchmark]
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
[[ -f bench/data/manifest.json ]] || $py -m bench.build_set --out bench/data --seed 7

work=$(mktemp -d)
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --daemonize yes \
  --pidfile "$work/redis.pid" --logfile "$work/redis.log"
export REDIS_URL="redis://127.0.0.1:$port/0" FMR_DATA_DIR="$work/files"
export FMR_JWT_SECRET=${FMR_JWT_SECRET:-$($py -c 'import secrets; print(secrets.token_hex(32))')}
.venv/bin/serve run bench/serve_bench.yaml > "$work/serve.log" 2>&1 &
serve_pid=$!
cleanup() {
  # TERM, not INT: a background job of a non-interactive shell ignores SIGINT.
  kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# bench.run_benchmark waits (deadline --wait seconds) until every model it uses is listed.
$py -m bench.run_benchmark \
  --audio-models whisper,whisper_context,whisper_unprompted,whisper_greedy,whisper_fallback,whisper_vad \
  --image-model en_easyocr --image-audio-models whisper,whisper_unprompted --wait 600 "$@"
