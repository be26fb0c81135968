"""Writing the audit log. Called by other apps' services inside their transaction, and the
one change of the log's own: an export of it, which is itself recorded."""

from __future__ import annotations

import csv
import io
import json

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from civic.errors import InvalidInput

from .models import AuditEntry
from .permissions import require_audit_reader
from .selectors import audit_entries

EXPORT_FORMATS = ("csv", "json")
EXPORT_COLUMNS = ["id", "created_at", "action", "actor_id", "actor", "target_type", "target_id",
                  "data"]  # fmt: skip


def audit_record(*, actor, action: str, target=None, data: dict | None = None) -> AuditEntry:
    """Record `actor` (None: the system) doing `action` to `target` (a model instance, or
    None for an act on no one row, such as an export of the log itself)."""
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )


def _safe_cell(value):
    """Text that a spreadsheet would run as a formula is shown as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _row(entry: AuditEntry) -> list:
    return [
        entry.pk,
        entry.created_at.isoformat(),
        entry.action,
        entry.actor_id,
        entry.actor.email if entry.actor else "",
        entry.target_type,
        entry.target_id,
        entry.data,
    ]


def audit_log_export(
    *, actor, format: str, action: str | None = None, actor_id: int | str | None = None
) -> tuple[bytes, int]:
    """The log (filtered as on the page) as CSV or JSON, for an official or a moderator.

    The export is recorded first, in the same transaction, so it is in its own file: who
    read the log, with which filters, is part of the log.
    """
    require_audit_reader(actor)
    if format not in EXPORT_FORMATS:
        raise InvalidInput(_("Unknown export format."), code="unknown_format")
    filters = {"action": action or "", "actor": actor_id}
    with transaction.atomic():
        audit_record(actor=actor, action="audit.export", data={"format": format, **filters})
        entries = audit_entries(action=action, actor_id=actor_id).select_related("actor")
        rows = [_row(e) for e in entries.iterator(chunk_size=1000)]
    if format == "json":
        items = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in rows]
        return json.dumps(items, ensure_ascii=False, indent=1).encode(), len(rows)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        row[-1] = json.dumps(row[-1], ensure_ascii=False, sort_keys=True)
        writer.writerow([_safe_cell(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode(), len(rows)
