"""Reads of the audit log: entries newest first, filtered by action and by actor."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditEntry

SYSTEM = "system"  # the actor filter's value for entries the system made (no actor)


def audit_entries(*, action: str | None = None, actor_id: int | str | None = None) -> QuerySet:
    qs = AuditEntry.objects.all()
    if action:
        qs = qs.filter(action=action)
    if actor_id == SYSTEM:
        qs = qs.filter(actor__isnull=True)
    elif actor_id:
        qs = qs.filter(actor_id=actor_id)
    return qs.order_by("-created_at", "-pk")


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


def audit_actors():
    """The people who appear in the log as actors, for the filter."""
    from accounts.models import User

    ids = AuditEntry.objects.filter(actor__isnull=False).values("actor_id").distinct()
    return User.objects.filter(pk__in=ids).order_by("email")
