"""Who may load the resident register. Plain functions shared by API, pages, admin, commands."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import require_citizen
from civic.errors import Forbidden, NotAuthenticated

CENSUS_PERMISSION = "residents.import_census"


def can_import_census(user) -> bool:
    """Officials granted the census permission explicitly (a group or the user), or superusers."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.has_perm(CENSUS_PERMISSION)


def require_census_importer(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not can_import_census(user):
        raise Forbidden(
            _("Only officials with the census permission can load the resident register."),
            code="census_permission_required",
        )


def require_can_verify(user) -> None:
    """A signed-in citizen (verified e-mail) verifies their own account."""
    require_citizen(user)


IN_PERSON_PERMISSION = "residents.verify_in_person"


def can_verify_in_person(user) -> bool:
    """Officials granted the desk permission explicitly (a group or the user), or superusers."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.has_perm(IN_PERSON_PERMISSION)


def require_in_person_verifier(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not can_verify_in_person(user):
        raise Forbidden(
            _("Only officials with the service-desk permission can verify residents in person."),
            code="in_person_permission_required",
        )
