#!/usr/bin/env bash
# Set everything up and run the checks: ruff, then the whole test suite (unit tests
# and the API tests against a real Ray Serve application, real Redis, real models).
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/core -k text`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
