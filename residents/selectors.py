"""Reads of residents: an account's verification level, the current register, identity reports."""

from __future__ import annotations

import uuid

from .methods import method_label
from .models import CensusEntry, CensusImport, IdentityReport, ResidentVerification


def verification_of(user) -> dict:
    """What `GET /api/v1/me` shows: a stale verification (the register no longer holds the
    resident) counts as e-mail level, like none at all."""
    verification = None
    if getattr(user, "is_authenticated", False):
        verification = (
            ResidentVerification.objects.filter(user=user, stale_at__isnull=True)
            .only("district_id", "method", "verified_at")
            .order_by()[:1]
        )
        verification = next(iter(verification), None)
    if verification is None:
        return {"level": "email", "district": None, "method": None, "verified_at": None}
    return {
        "level": "resident",
        "district": verification.district_id,
        "method": verification.method,
        "verified_at": verification.verified_at,
    }


def resident_district_id(user) -> int | None:
    """The district a user is a verified (not stale) resident of, or None: the one rule that
    eligibility checks ask (never the profile's district)."""
    return verification_of(user)["district"]


def current_census_import() -> CensusImport | None:
    return CensusImport.objects.filter(is_current=True).first()


def census_import_get(import_id) -> CensusImport | None:
    """The import with this id (a UUID, as text or not), or None."""
    try:
        import_id = uuid.UUID(str(import_id))
    except (TypeError, ValueError, AttributeError):
        return None
    return CensusImport.objects.filter(pk=import_id).first()


def census_import_has_report(census: CensusImport) -> bool:
    """Whether the import's per-line error report exists (written once the import ran)."""
    if not census.error_report:
        return False
    try:
        return census.error_report.storage.exists(census.error_report.name)
    except Exception:  # a name the storage refuses (SuspiciousFileOperation) is no report
        return False


def register_residents_count(*, district_id: int | None = None) -> int:
    """Residents in the current register (of one district): the turnout's denominator."""
    rows = CensusEntry.objects.filter(census_import__is_current=True)
    if district_id is not None:
        rows = rows.filter(district_id=district_id)
    return rows.count()


# --- identity reports (moderators) -------------------------------------------------------------


def identity_reports(*, status: str | None = None):
    """Identity reports, the newest first, with both accounts loaded; `status` filters."""
    rows = IdentityReport.objects.select_related("reporter", "reported", "resolved_by")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-pk")


def identity_reports_open():
    """The open reports moderators have to look at, the oldest first."""
    return identity_reports(status=IdentityReport.Status.OPEN).order_by("created_at", "pk")


def identity_report_get(report_id) -> IdentityReport | None:
    try:
        report_id = int(report_id)
    except (TypeError, ValueError):
        return None
    return identity_reports().filter(pk=report_id).first()


def _account(user, verification) -> dict:
    return {
        "id": user.pk,
        "email": user.email,
        "display_name": user.display_name,
        "is_active": user.is_active,
        "verified_at": verification.verified_at if verification else None,
        "method": verification.method if verification else None,
        "method_label": method_label(verification.method) if verification else None,
        "district": verification.district_id if verification else None,
        "stale": bool(verification and verification.stale_at),
    }


def identity_report_rows(reports) -> list[dict]:
    """What moderators see of each report: both accounts (id, e-mail, name, when and how each
    was verified) and the report itself. Never the IIN, nor its last digits."""
    reports = list(reports)
    user_ids = {r.reporter_id for r in reports} | {r.reported_id for r in reports}
    verifications = {
        v.user_id: v
        for v in ResidentVerification.objects.filter(user_id__in=user_ids).only(
            "user_id", "verified_at", "method", "district_id", "stale_at"
        )
    }
    return [
        {
            "id": r.pk,
            "status": r.status,
            "status_label": str(r.get_status_display()),
            "created_at": r.created_at,
            "message": r.message,
            "note": r.note,
            "resolved_at": r.resolved_at,
            "resolved_by": r.resolved_by.email if r.resolved_by else None,
            "reporter": _account(r.reporter, verifications.get(r.reporter_id)),
            "reported": _account(r.reported, verifications.get(r.reported_id)),
        }
        for r in reports
    ]


def verification_detail(user) -> dict:
    """What the account's own pages (verify, profile) show of its verification, stale or not:
    `state` is "resident", "stale" (a newer register no longer lists them) or "none". The
    district is the register's; the IIN only as its last four digits."""
    row = None
    if getattr(user, "is_authenticated", False):
        row = (
            ResidentVerification.objects.filter(user=user)
            .select_related("district")
            .order_by()
            .first()
        )
    if row is None:
        return {"state": "none", "verification": None}
    return {
        "state": "stale" if row.stale_at else "resident",
        "verification": row,
        "district": row.district,
        "method_label": method_label(row.method),
        "verified_at": row.verified_at,
        "stale_at": row.stale_at,
        "iin_last4": row.iin_last4,
    }


# Per-district counts of a register never change once it is current: kept under its import id,
# so the live dashboard counts millions of rows once per import, not once per update.
REGISTER_COUNTS_CACHE_SECONDS = 24 * 3600


def register_residents_counts() -> dict | None:
    """Residents of the current register per district id, and "all": the turnout's
    denominator for resident polls. None while no register is loaded."""
    from django.core.cache import cache
    from django.db.models import Count

    current = (
        CensusImport.objects.filter(is_current=True).order_by().values_list("pk", flat=True)[:1]
    )
    current = next(iter(current), None)
    if current is None:
        return None
    key = f"residents:register_counts:{current}"
    counts = cache.get(key)
    if counts is None:
        rows = (
            CensusEntry.objects.filter(census_import_id=current)
            .order_by()
            .values_list("district_id")
            .annotate(n=Count("pk"))
        )
        counts = {district_id: n for district_id, n in rows}
        counts["all"] = sum(counts.values())
        cache.set(key, counts, REGISTER_COUNTS_CACHE_SECONDS)
    return counts
