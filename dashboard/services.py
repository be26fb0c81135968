"""Exports: requested by an official, made by a Celery task, recorded in the audit log."""

from __future__ import annotations

import csv
import io
import json
import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import require_official
from audit.services import audit_record
from civic.errors import Conflict, InvalidInput, NotFound
from communities.models import FocusArea, Initiative
from communities.selectors import initiative_list
from notifications.services import enqueue_on_commit
from polls.models import Poll
from polls.selectors import poll_counts

from .models import Export
from .permissions import exports_visible_to, require_exports
from .selectors import district_participation, officials_see_results

logger = logging.getLogger(__name__)
CHUNK = 500
INITIATIVE_FILTERS = ("status", "category", "district", "community", "q")


def export_create(
    *, actor, kind: str, format: str, poll_id: int | None = None, filters: dict | None = None
) -> Export:
    require_official(actor)
    if kind not in Export.Kind.values:
        raise InvalidInput(_("Unknown kind of export."))
    if format not in Export.Format.values:
        raise InvalidInput(_("Unknown export format."))
    poll = None
    if kind == Export.Kind.POLL_RESULTS:
        try:
            poll = Poll.objects.get(pk=int(poll_id))
        except (Poll.DoesNotExist, TypeError, ValueError, OverflowError):
            raise NotFound(_("No such poll.")) from None
        if not officials_see_results(poll):
            raise Conflict(_("The results of this poll are hidden until it closes."))
    clean = {}
    for key, value in (filters or {}).items():
        if key not in INITIATIVE_FILTERS or value in (None, ""):
            continue
        if key == "status" and value not in Initiative.Status.values:
            raise InvalidInput(_("Unknown status."))
        if key == "category" and value not in FocusArea.values:
            raise InvalidInput(_("Unknown category."))
        if key in ("district", "community"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise InvalidInput(_("Unknown district.")) from None
        clean[key] = str(value)[:200] if key == "q" else value
    with transaction.atomic():
        export = Export.objects.create(
            kind=kind, format=format, poll=poll, filters=clean, requested_by=actor
        )
        audit_record(
            actor=actor,
            action="export.create",
            target=export,
            data={"kind": kind, "format": format, "poll": poll_id, "filters": clean},
        )
        # The one enqueue path: an export whose task the broker lost is handed over again.
        enqueue_on_commit("dashboard.run_export", str(export.pk))
    return export


def export_open(*, actor, public_id):
    """Its requester (or an administrator) downloads a finished export: recorded in the audit
    log. Returns the export and its open file. Anyone else's export is not found."""
    require_exports(actor)
    export = exports_visible_to(actor).filter(public_id=public_id, state=Export.State.DONE).first()
    if export is None or not export.file:
        raise NotFound(_("No such export."))
    try:
        handle = export.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise NotFound(_("No such export.")) from None
    try:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="export.download",
                target=export,
                data={"kind": export.kind, "format": export.format, "poll": export.poll_id},
            )
    except Exception:
        handle.close()
        raise
    return export, handle


def _safe_cell(value):
    """Text that a spreadsheet would run as a formula is shown as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _poll_rows(poll: Poll):
    counts = poll_counts(poll)
    labels = {c.pk: c for c in poll.choices.all()}
    header = ["section", "id", "label_kk", "label_ru", "label_en", "votes"]
    rows = [["total", poll.pk, poll.title_kk, poll.title_ru, poll.title_en, counts["total_votes"]]]
    for r in counts["choices"]:
        c = labels[r["id"]]
        rows.append(["choice", c.pk, c.label_kk, c.label_ru, c.label_en, r["votes"]])
    for d in district_participation(poll) or []:
        names = d["names"] or {"kk": "", "ru": "", "en": ""}
        rows.append(
            ["district", d["district"] or "", names["kk"], names["ru"], names["en"], d["votes"]]
        )
    return header, rows


INITIATIVE_COLUMNS = [
    "id", "title", "community", "category", "district", "status", "supports_count",
    "budget_kzt", "submitted_at", "decided_at", "official_response",
]  # fmt: skip


def _initiative_row(i: Initiative) -> list:
    return [
        i.pk,
        i.title,
        i.community.name,
        i.category,
        i.district.slug if i.district else "",
        i.status,
        i.supports_count,
        str(i.budget_kzt) if i.budget_kzt is not None else "",
        i.submitted_at.isoformat() if i.submitted_at else "",
        i.decided_at.isoformat() if i.decided_at else "",
        i.official_response,
    ]


def export_run(*, export_id: int) -> Export:
    """Make the file. Running it again for a finished export does nothing."""
    export = Export.objects.select_related("poll").get(pk=export_id)
    if export.state == Export.State.DONE:
        return export
    Export.objects.filter(pk=export.pk).update(state=Export.State.RUNNING, progress=0)
    try:
        if export.kind == Export.Kind.POLL_RESULTS:
            header, rows = _poll_rows(export.poll)
        else:
            header, rows = INITIATIVE_COLUMNS, []
            qs = initiative_list(**export.filters, sort="newest")
            total = qs.count() or 1
            for i in qs.iterator(chunk_size=CHUNK):
                rows.append(_initiative_row(i))
                if len(rows) % CHUNK == 0:
                    Export.objects.filter(pk=export.pk).update(
                        progress=min(99, 100 * len(rows) // total)
                    )
        content = _render(export.format, header, rows)
        export.file.save(export.filename, ContentFile(content), save=False)
        export.state, export.progress, export.rows = Export.State.DONE, 100, len(rows)
        export.finished_at = timezone.now()
        export.save(update_fields=["file", "state", "progress", "rows", "finished_at"])
    except Exception as exc:
        logger.exception("export %s failed", export.pk)
        Export.objects.filter(pk=export.pk).update(
            state=Export.State.FAILED, error=type(exc).__name__
        )
        raise
    return export


def _render(fmt: str, header: list, rows: list) -> bytes:
    if fmt == Export.Format.XLSX:
        return _xlsx(header, rows)
    if fmt == Export.Format.JSON:
        return json.dumps(
            [dict(zip(header, row, strict=True)) for row in rows], ensure_ascii=False, indent=1
        ).encode()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([[_safe_cell(v) for v in row] for row in rows])
    return ("\ufeff" + buf.getvalue()).encode()  # BOM: Excel opens Cyrillic UTF-8 right


def _xlsx(header: list, rows: list) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    # Text stays text: nothing a citizen typed becomes a formula, a number or a link.
    book = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    sheet = book.add_worksheet()
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    for n, row in enumerate(rows, start=1):
        sheet.write_row(n, 0, row)
    sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()
