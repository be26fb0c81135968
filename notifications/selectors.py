"""Reads of notifications."""

from __future__ import annotations

from .messages import render
from .models import Notification


def notifications_for(user, *, limit: int = 50) -> list[dict]:
    rows = Notification.objects.filter(user=user)[:limit]
    return [
        {
            "id": n.pk,
            "subject": render(n.kind, n.params)[0],
            "response": n.params.get("response", ""),
            "url": n.url,
            "created_at": n.created_at,
            "read": n.read_at is not None,
        }
        for n in rows
    ]


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
