"""Reads of residents: an account's verification level, the current register."""

from __future__ import annotations

from .models import CensusEntry, CensusImport, ResidentVerification


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


def register_residents_count(*, district_id: int | None = None) -> int:
    """Residents in the current register (of one district): the turnout's denominator."""
    rows = CensusEntry.objects.filter(census_import__is_current=True)
    if district_id is not None:
        rows = rows.filter(district_id=district_id)
    return rows.count()
