"""GET /healthz: the state of the database, the cache and the channel layer."""

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
