"""Writing the audit log. Called by other apps' services inside their transaction."""

from __future__ import annotations

from .models import AuditEntry


def audit_record(*, actor, action: str, target, data: dict | None = None) -> AuditEntry:
    """Record `actor` (None: the system) doing `action` to `target` (a model instance)."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=data or {},
    )
