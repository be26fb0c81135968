"""GET /healthz (liveness: the process answers; 503 only without a database) and GET /readyz
(readiness: 503 while any dependency this deployment needs is down, so a proxy or an
orchestrator sends no traffic to a worker that cannot serve it)."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .realtime import channel_layer_status

logger = logging.getLogger(__name__)


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("healthz: database unavailable: %s", exc)
        return f"error: {type(exc).__name__}"
    return "ok"


def _cache_status() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
    except Exception as exc:
        logger.warning("healthz: cache unavailable: %s", exc)
        return f"error: {type(exc).__name__}"
    return "ok" if ok else "error: value not returned"


@never_cache
@require_GET
def healthz(request):
    checks = {
        "database": _database_status(),
        "cache": _cache_status(),
        "channel_layer": channel_layer_status(),
    }
    failing = [name for name, state in checks.items() if state != "ok"]
    # Only the database is fatal: without Redis votes are still taken (pushes resume later).
    status = "error" if "database" in failing else ("degraded" if failing else "ok")
    body = {
        "status": status,
        "checks": checks,
        "failing": failing,
        "database_vendor": connection.vendor,
    }
    return JsonResponse(body, status=503 if status == "error" else 200)


def _broker_status() -> str:
    """The Celery broker, where tasks go to a worker (not used when tasks run in-process)."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "ok"
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://")):
        return "ok"
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        client.close()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@never_cache
@require_GET
def readyz(request):
    checks = {
        "database": _database_status(),
        "cache": _cache_status(),
        "channel_layer": channel_layer_status(),
        "broker": _broker_status(),
    }
    failing = [name for name, state in checks.items() if state != "ok"]
    body = {"status": "not ready" if failing else "ready", "checks": checks, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)
