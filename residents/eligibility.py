"""Who may take part: the one eligibility rule of polls, initiative support and Q&A sessions.

Three levels, shared by every participation that has one:

- ``email``: any signed-in user with a verified e-mail address (Birge's rule before resident
  verification, kept for what is not binding);
- ``city``: verified residents of the city (a resident verification that is not stale);
- ``district``: verified residents of one district (the register's district, never the
  district a user picks in their profile).

``require_eligible`` is the check; ``eligibility_refusal`` is the same answer without
raising, for pages that explain before a form fails. Both ask ``resident_district_id``.
"""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.permissions import require_citizen
from civic.errors import DomainError, Forbidden, InvalidInput

from .selectors import resident_district_id


class Eligibility(models.TextChoices):
    EMAIL = "email", _("Signed-in users with a verified e-mail")
    CITY = "city", _("Verified residents of the city")
    DISTRICT = "district", _("Verified residents of the district")


RESIDENT_LEVELS = frozenset({Eligibility.CITY.value, Eligibility.DISTRICT.value})


def eligibility_clean(
    eligibility, district_id, *, district_required_message, district_only_message
) -> tuple[str, int | None]:
    """A vote's eligibility and district from input (polls, budget rounds): a district means
    its verified residents, no district the city's, unless said otherwise; "district" needs
    the district and only "district" names one. InvalidInput with a clear code otherwise."""
    from accounts.selectors import district_id_clean

    district_id = district_id_clean(district_id)
    eligibility = eligibility or (
        Eligibility.DISTRICT if district_id is not None else Eligibility.CITY
    )
    if eligibility not in Eligibility.values:
        raise InvalidInput(_("Unknown eligibility."), code="bad_eligibility")
    if eligibility == Eligibility.DISTRICT and district_id is None:
        raise InvalidInput(district_required_message, code="district_required")
    if eligibility != Eligibility.DISTRICT and district_id is not None:
        raise InvalidInput(district_only_message, code="district_needs_district_eligibility")
    return eligibility, district_id


def verify_url() -> str:
    """The page where a citizen verifies their residence, in the current language."""
    return reverse("residents:verify")


def _district_name(district_id) -> str:
    from accounts.models import District

    district = District.objects.filter(pk=district_id).first()
    return district.name if district is not None else str(district_id)


def eligibility_refusal(user, *, eligibility: str, district_id: int | None) -> Forbidden | None:
    """The refusal a signed-in citizen gets for this eligibility, or None if eligible.

    Does not look at the e-mail level: callers ask ``require_citizen`` first (or use
    ``require_eligible``, which does both).
    """
    if eligibility not in RESIDENT_LEVELS:
        return None
    resident_of = resident_district_id(user)
    url = verify_url()
    link = (url, _("Verify your residence"))
    extra = {"verify_url": url}
    if eligibility == Eligibility.DISTRICT:
        name = _district_name(district_id)
        if resident_of is None:
            return Forbidden(
                _(
                    "This is for verified residents of %(district)s. "
                    "Verify your residence to take part."
                )
                % {"district": name},
                code="verification_required",
                extra=extra,
                link=link,
            )
        if resident_of != district_id:
            return Forbidden(
                _(
                    "This is only for verified residents of %(district)s. The register lists "
                    "you in another district; if you have moved, verify your residence again."
                )
                % {"district": name},
                code="wrong_district",
                extra=extra,
                link=link,
            )
        return None
    # city: any district, as long as the register holds the resident now
    if resident_of is None:
        return Forbidden(
            _("This is for verified residents of the city. Verify your residence to take part."),
            code="verification_required",
            extra=extra,
            link=link,
        )
    return None


def require_eligible(user, *, eligibility: str, district_id: int | None) -> None:
    """Raise unless `user` may take part at this eligibility: NotAuthenticated or
    email_unverified (require_citizen), then Forbidden ``verification_required`` (no verified,
    current resident) or ``wrong_district`` (a resident of another district)."""
    require_citizen(user)
    refusal = eligibility_refusal(user, eligibility=eligibility, district_id=district_id)
    if refusal is not None:
        raise refusal


def eligibility_notice(user, *, eligibility: str, district_id: int | None) -> DomainError | None:
    """For pages: what stops this user taking part, explained before they try (None: nothing,
    or not signed in — the page asks them to sign in as before)."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        require_eligible(user, eligibility=eligibility, district_id=district_id)
    except DomainError as exc:
        return exc
    return None
