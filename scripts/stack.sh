#!/usr/bin/env bash
# The full stack without Docker, on production settings: several ASGI workers, a Celery worker
# and Celery beat against a local PostgreSQL and Redis, kept running by supervisord
# (deploy/supervisord.conf): a process that exits is restarted alone, the others keep serving.
# Ctrl-C (or SIGTERM) stops them all.
#   DATABASE_URL (default postgres://postgres@127.0.0.1:5432/birge)
#   REDIS_URL    (default redis://127.0.0.1:6379/0)
#   WEB_WORKERS  (default 3), HOST/PORT (default 127.0.0.1:8000)
#   FORWARDED_ALLOW_IPS (default 127.0.0.1): the reverse proxy whose X-Forwarded-For and
#                X-Forwarded-Proto are believed; nobody else's.
# A deployment sets DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and CENSUS_PEPPER (.env.example).
# BIRGE_LOCAL_TRIAL=true tries it out on this machine instead: plain HTTP on localhost, no
# secure-only cookies, and a random secret key and census pepper kept in var/secret_key and
# var/census_pepper.
# Demo accounts and data only with BIRGE_DEMO_MODE=true.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="$ROOT/.venv/bin"
mkdir -p var

export DJANGO_SETTINGS_MODULE=civic.settings.production
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/birge}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export WEB_WORKERS="${WEB_WORKERS:-3}"
export HOST="${HOST:-127.0.0.1}"
export PORT="${PORT:-8000}"
export FORWARDED_ALLOW_IPS="${FORWARDED_ALLOW_IPS:-127.0.0.1}"
export CELERY_BEAT_SCHEDULE_FILENAME="${CELERY_BEAT_SCHEDULE_FILENAME:-$ROOT/var/celerybeat-schedule}"
export BIRGE_BIN="$BIN" BIRGE_VAR="$ROOT/var"

# Values from .env count as set (Django reads .env too).
env_value() { [ -n "${!1:-}" ] || { [ -f .env ] && grep -qE "^$1=.+" .env; }; }

case "${BIRGE_LOCAL_TRIAL:-false}" in
  true|1|yes|on)
    if ! env_value DJANGO_SECRET_KEY; then
      if [ ! -s var/secret_key ]; then
        (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(50))' >var/secret_key)
      fi
      DJANGO_SECRET_KEY=$(cat var/secret_key)
      export DJANGO_SECRET_KEY
    fi
    if ! env_value CENSUS_PEPPER; then
      if [ ! -s var/census_pepper ]; then
        (umask 077; "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))' >var/census_pepper)
      fi
      CENSUS_PEPPER=$(cat var/census_pepper)
      export CENSUS_PEPPER
    fi
    export DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-localhost,127.0.0.1,[::1]}"
    export DJANGO_SECURE_SSL_REDIRECT="${DJANGO_SECURE_SSL_REDIRECT:-false}"
    export DJANGO_SECURE_COOKIES="${DJANGO_SECURE_COOKIES:-false}"
    export DJANGO_SECURE_HSTS_SECONDS="${DJANGO_SECURE_HSTS_SECONDS:-0}"
    echo "Local trial: plain HTTP on $HOST:$PORT, secret key in var/secret_key unless DJANGO_SECRET_KEY is set, census pepper in var/census_pepper unless CENSUS_PEPPER is set."
    ;;
  *)
    missing=()
    for name in DJANGO_SECRET_KEY DJANGO_ALLOWED_HOSTS CENSUS_PEPPER; do
      env_value "$name" || missing+=("$name")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      cat >&2 <<MSG
make stack runs Birge on production settings and needs: ${missing[*]}
  Set them (in the environment or .env; see .env.example), serve it behind a TLS proxy,
  or try it out on this machine over plain HTTP with:  BIRGE_LOCAL_TRIAL=true make stack
MSG
      exit 2
    fi
    ;;
esac

"$BIN/python" scripts/wait_for_services.py --create-database
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput -v0
case "${BIRGE_DEMO_MODE:-false}" in
  true|1|yes|on) "$BIN/python" manage.py seed_demo ;;
esac

echo "Birge full stack: http://$HOST:$PORT/ ($WEB_WORKERS ASGI workers, Celery worker and beat under supervisord)"
exec "$BIN/supervisord" -c deploy/supervisord.conf
