#!/usr/bin/env bash
# Set everything up and run the service on its embedded default:
# a local Redis (unless REDIS_URL is set), the bundled models, files in .data/files.
# The API is on http://127.0.0.1:8000 (docs at /docs). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

started_redis=""
if [[ -z ${REDIS_URL:-} ]]; then
  port=${FMR_LOCAL_REDIS_PORT:-6379}
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    mkdir -p .data/redis
    # Append-only persistence, fsync on every write: users, file records and tasks
    # survive a restart or a crash (docs/reliability.md).
    redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/.data/redis" \
      --appendonly yes --appendfsync always --daemonize yes --pidfile "$PWD/.data/redis/redis.pid" \
      --logfile "$PWD/.data/redis/redis.log"
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    started_redis=$port
    echo "Started a local Redis on 127.0.0.1:$port (data in .data/redis)"
  fi
  export REDIS_URL="redis://127.0.0.1:$port/0"
fi
export FMR_DATA_DIR=${FMR_DATA_DIR:-$PWD/.data/files}

cleanup() { [[ -n $started_redis ]] && redis-cli -p "$started_redis" shutdown >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
# Serve's HTTP proxy (uvicorn) takes the client address from X-Forwarded-For when the
# peer is 127.0.0.1 unless told to trust nobody; Ray's processes inherit this
# environment (docs/operations.md, "Rate limits").
export FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS-}"
# stdin from /dev/null: no replica's subprocess (ffmpeg...) may read the terminal, which
# stops it when it is in the background (SIGTTIN). Ctrl-C still reaches serve run.
.venv/bin/serve run configs/serve.yaml < /dev/null
