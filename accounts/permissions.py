"""Who may act as what. Plain functions shared by views, the API and consumers."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from civic.errors import Forbidden, NotAuthenticated

from .models import Role


def has_role(user, role: Role) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cache = getattr(user, "_birge_roles", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._birge_roles = cache
    return role.value in cache


def is_official(user) -> bool:
    return has_role(user, Role.OFFICIAL)


def is_moderator(user) -> bool:
    return has_role(user, Role.MODERATOR)


def is_staff_role(user) -> bool:
    """Officials and moderators: the people who run Birge for the city."""
    return is_official(user) or is_moderator(user)


VERIFIED_CACHE_SECONDS = 300


def verified_cache_key(user_id: int) -> str:
    return f"accounts:verified:{user_id}"


def is_citizen(user) -> bool:
    """A citizen is any active user with a verified e-mail address.

    Asked on every vote, so the answer is cached (the cache entry is dropped whenever one of
    the user's addresses changes, see accounts.signals).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    cached = getattr(user, "_birge_verified", None)
    if cached is None:
        key = verified_cache_key(user.pk)
        cached = cache.get(key)
        if cached is None:
            cached = EmailAddress.objects.filter(user=user, verified=True).exists()
            cache.set(key, cached, VERIFIED_CACHE_SECONDS)
        user._birge_verified = cached
    return cached


def require_citizen(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not is_citizen(user):
        raise Forbidden(_("Confirm your e-mail address to take part."), code="email_unverified")


def require_official(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not is_official(user):
        raise Forbidden(_("Only akimat officials can do this."), code="not_official")


def require_moderator(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not (is_moderator(user) or is_official(user)):
        raise Forbidden(_("Only moderators can do this."), code="not_moderator")


def require_staff_role(user, *, message, code: str | None = None) -> None:
    """Officials and moderators only (the dashboard, the audit log, community review)."""
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not is_staff_role(user):
        raise Forbidden(message, code=code)


def can_grant_roles(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_superuser)


def can_read_api_docs(user) -> bool:
    """The API's interactive docs and OpenAPI schema: public unless API_DOCS_PUBLIC is off
    (production's default), then only for Birge's staff roles and Django admin staff."""
    if settings.API_DOCS_PUBLIC:
        return True
    return is_staff_role(user) or bool(getattr(user, "is_staff", False) and user.is_active)
