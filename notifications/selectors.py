"""Reads of notifications."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import translation

from .links import url_in_language
from .messages import render
from .models import Notification


def notifications_of(user) -> QuerySet:
    """All of a user's notifications, newest first (page through them)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def notification_row(n: Notification) -> dict:
    # The link in the reader's language (the row keeps it without one); only a path on this
    # site becomes a link: never another host, never a scheme.
    link = url_in_language(n.url or "", translation.get_language() or "")
    return {
        "id": n.pk,
        "subject": render(n.kind, n.params)[0],
        "response": n.params.get("response", ""),
        "url": link,
        "link": link,
        "created_at": n.created_at,
        "read": n.read_at is not None,
    }


def notifications_for(user, *, limit: int = 50) -> list[dict]:
    return [notification_row(n) for n in notifications_of(user)[:limit]]


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
