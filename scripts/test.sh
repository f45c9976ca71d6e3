#!/usr/bin/env bash
# One command to run every test (unit, integration, browser) against real PostgreSQL and Redis; `make
# test-fast` passes it a marker expression. The 25 slowest tests are listed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/uv.sh

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dialtone}"
# The tests own this Redis database and flush it: keep it apart from anything else.
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/9}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  echo "Installing Debian's chromium for the browser tests..." >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
fi

$UV sync --frozen --quiet
$UV run --frozen ruff check .
# As `make lint`: unformatted code fails the run (`ruff format .` fixes it).
$UV run --frozen ruff format --check .
# Apps depend downward only (the layers in pyproject.toml): an upward import fails the run.
$UV run --frozen lint-imports --no-logo --no-cache
exec $UV run --frozen pytest --durations=25 "$@"
