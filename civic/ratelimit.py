"""Rate limits on the shared cache (Redis on the full stack, so every worker counts together).
A fixed window: at most `limit` actions per `window` seconds, per user or per address."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from .errors import RateLimited


def _window(scope: str, key, window: int) -> tuple[str, int]:
    """The cache key of the current window and the seconds until it ends."""
    now = time.time()
    bucket = int(now // window)
    return f"ratelimit:{scope}:{key}:{bucket}", max(1, int((bucket + 1) * window - now + 0.999))


def rate_limit_count(*, scope: str, key, window: int = 60) -> int | None:
    """Count one action of `key` in `scope`; the count so far in this window (None: the cache
    is down)."""
    cache_key = _window(scope, key, window)[0]
    if cache.add(cache_key, 1, timeout=window + 5):
        return 1
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window + 5)
        return 1
    return count if isinstance(count, int) else None


def rate_limit_check(*, scope: str, key, limit: int, window: int = 60, message=None) -> None:
    """Refuse (429, with the seconds to wait) once `key` has used up `limit` in this window,
    without counting: for limits on failures, counted with rate_limit_count when they happen."""
    cache_key, retry_after = _window(scope, key, window)
    count = cache.get(cache_key)
    if isinstance(count, int) and count >= limit:
        raise RateLimited(message, code="rate_limited", retry_after=retry_after)


def rate_limit(*, scope: str, user_id: int, limit: int | None = None, window: int = 60) -> None:
    """Count one action of `user_id` in `scope`; raise RateLimited (429) over the limit."""
    limit = limit if limit is not None else settings.RATE_LIMITS.get(scope, 30)
    count = rate_limit_count(scope=scope, key=user_id, window=window)
    if count is None:  # the cache is down: let people speak rather than refuse
        return
    if count > limit:
        raise RateLimited(
            _("You are doing this too often. Please wait a minute and try again."),
            code="rate_limited",
            retry_after=_window(scope, user_id, window)[1],
        )


def client_address(request) -> str:
    """The address a limit counts a request against: the peer the server saw (the trusted
    proxy's forwarded address, where one is configured). IPv6 counts per /64, the block one
    subscriber usually holds, so rotating addresses inside it gains nothing."""
    raw = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64] or "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
