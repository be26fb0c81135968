"""State changes of accounts: profile, language, roles. One function each."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit.services import audit_record
from civic.errors import Forbidden, InvalidInput
from civic.realtime import rights_changed_on_commit

from .models import District, Role, User
from .permissions import can_grant_roles

logger = logging.getLogger(__name__)

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}
DISPLAY_NAME_MAX = 80


def _clean_display_name(display_name: str) -> str:
    name = " ".join((display_name or "").split())
    if len(name) > DISPLAY_NAME_MAX:
        raise InvalidInput(_("The display name is too long."), code="display_name_too_long")
    if "\x00" in name:
        raise InvalidInput(_("The display name contains invalid characters."))
    return name


def user_set_language(*, user: User, language: str) -> User:
    """Remember the language a signed-in user chose."""
    if language not in LANGUAGE_CODES:
        raise InvalidInput(_("Unknown language."), code="unknown_language")
    if user.preferred_language != language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    return user


def user_update_profile(
    *,
    user: User,
    display_name: str,
    district: District | None,
    preferred_language: str,
) -> User:
    """Change what a user tells Birge about themselves."""
    if preferred_language and preferred_language not in LANGUAGE_CODES:
        raise InvalidInput(_("Unknown language."), code="unknown_language")
    user.display_name = _clean_display_name(display_name)
    user.district = district
    user.preferred_language = preferred_language
    user.save(update_fields=["display_name", "district", "preferred_language"])
    return user


def user_complete_signup(
    *, user: User, display_name: str, district: District | None, language: str
) -> User:
    """Fill in what the sign-up form asked beyond e-mail and password."""
    user.display_name = _clean_display_name(display_name)
    user.district = district
    user.preferred_language = language if language in LANGUAGE_CODES else ""
    user.save(update_fields=["display_name", "district", "preferred_language"])
    return user


def _who(actor: User | None) -> str:
    return f"user {actor.pk}" if actor is not None else "system"


def role_grant(*, actor: User | None, user: User, role: Role) -> bool:
    """Give `user` a role. `actor` None means the system (a management command).

    Returns True if the user did not have the role before.
    """
    if actor is not None and not can_grant_roles(actor):
        raise Forbidden(_("Only administrators can grant roles."), code="cannot_grant")
    with transaction.atomic():
        group, _created = Group.objects.get_or_create(name=role.value)
        had = user.groups.filter(pk=group.pk).exists()
        if not had:
            user.groups.add(group)
            audit_record(actor=actor, action="role.grant", target=user, data={"role": role.value})
            rights_changed_on_commit(user.pk)  # open sockets move to what the role shows
    user.__dict__.pop("_birge_roles", None)
    if not had:
        logger.info("role %s granted to user %s by %s", role.value, user.pk, _who(actor))
    return not had


def role_revoke(*, actor: User | None, user: User, role: Role) -> bool:
    """Take a role away. Returns True if the user had it."""
    if actor is not None and not can_grant_roles(actor):
        raise Forbidden(_("Only administrators can grant roles."), code="cannot_grant")
    with transaction.atomic():
        group = Group.objects.filter(name=role.value).first()
        had = bool(group) and user.groups.filter(pk=group.pk).exists()
        if had:
            user.groups.remove(group)
            audit_record(actor=actor, action="role.revoke", target=user, data={"role": role.value})
            rights_changed_on_commit(user.pk)  # open sockets showing what it allowed close
    user.__dict__.pop("_birge_roles", None)
    if had:
        logger.info("role %s revoked from user %s by %s", role.value, user.pk, _who(actor))
    return had
