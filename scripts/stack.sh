#!/usr/bin/env bash
# The full stack without Docker: several ASGI workers, a Celery worker and Celery beat against
# a local PostgreSQL and Redis. The same processes docker-compose.yml describes.
#   DATABASE_URL (default postgres://postgres@127.0.0.1:5432/birge)
#   REDIS_URL    (default redis://127.0.0.1:6379/0)
#   WEB_WORKERS  (default 3), HOST/PORT (default 127.0.0.1:8000)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/birge}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DJANGO_DEBUG="${DJANGO_DEBUG:-false}"
WEB_WORKERS="${WEB_WORKERS:-3}"
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8000}"
mkdir -p var

"$BIN/python" scripts/wait_for_services.py --create-database
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput -v0
"$BIN/python" manage.py seed_demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping Birge stack (${pids[*]})"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$BIN/celery" -A civic worker --loglevel=INFO --concurrency=2 -Q birge &
pids+=($!)
"$BIN/celery" -A civic beat --loglevel=INFO --schedule var/celerybeat-schedule &
pids+=($!)
"$BIN/uvicorn" civic.asgi:application --ws-per-message-deflate false --host "$HOST" --port "$PORT" --workers "$WEB_WORKERS" \
  --proxy-headers --no-access-log &
pids+=($!)

echo "Birge full stack: http://$HOST:$PORT/ ($WEB_WORKERS ASGI workers, Celery worker and beat)"
wait -n "${pids[@]}"
