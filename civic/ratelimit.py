"""Per-user rate limits on the shared cache (Redis on the full stack, so every worker counts
together). A fixed window: at most `limit` actions per `window` seconds."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from .errors import RateLimited


def rate_limit(*, scope: str, user_id: int, limit: int | None = None, window: int = 60) -> None:
    """Count one action of `user_id` in `scope`; raise RateLimited (429) over the limit."""
    limit = limit if limit is not None else settings.RATE_LIMITS.get(scope, 30)
    bucket = int(time.time() // window)
    key = f"ratelimit:{scope}:{user_id}:{bucket}"
    if cache.add(key, 1, timeout=window + 5):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 5)
            count = 1
    if not isinstance(count, int):  # the cache is down: let people speak rather than refuse
        return
    if count > limit:
        raise RateLimited(
            _("You are doing this too often. Please wait a minute and try again."),
            code="rate_limited",
        )
