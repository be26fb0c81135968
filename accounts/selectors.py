"""Reads of accounts data."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from civic.errors import InvalidInput

from .models import District, User


def district_list():
    return District.objects.all()


def district_id_clean(value) -> int | None:
    """A district id from input (a number, its text, or empty for none): the id, or None;
    InvalidInput for anything that is not one of the city's districts. Polls, initiatives and
    Q&A sessions all take their district through this."""
    if value in (None, ""):
        return None
    try:
        district_id = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("Unknown district.")) from None
    if not District.objects.filter(pk=district_id).exists():
        raise InvalidInput(_("Unknown district."))
    return district_id


def session_user(session_key: str | None):
    """The user `session_key` signs in now, or None: the session deleted, expired, or no
    longer valid for its user (the password changed since; Django then ends it, as the next
    page would). Websocket consumers ask this to follow their user's rights."""
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    return user if user.is_authenticated else None


SESSION_ENGINES_IN_DATABASE = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def session_fingerprints(sessions: dict[str, int]) -> dict[str, str | None]:
    """For each session key (signed in as the user id given): a digest of what its user may do
    now (their roles, administrator or not), or None if the session may no longer sign them
    in (deleted, expired, password changed, user deactivated) or that is not certain.

    One batch of queries for any number of sessions: the websocket consumers of a process
    ask it every few seconds for all their signed-in sockets, and check one socket in full
    (session_user and its authorization) only when its digest changed.
    """
    if settings.SESSION_ENGINE not in SESSION_ENGINES_IN_DATABASE:
        users = {key: session_user(key) for key in sessions}
        return {
            key: _fingerprint(user, roles=set(user.groups.values_list("name", flat=True)))
            if user is not None and user.pk == sessions[key]
            else None
            for key, user in users.items()
        }
    # Both engines write every session to the database, which is the truth for both.
    rows = Session.objects.filter(session_key__in=list(sessions), expire_date__gt=timezone.now())
    data = {row.session_key: row.get_decoded() for row in rows}
    user_ids = set(sessions.values())
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids, is_active=True)}
    roles: dict[int, set[str]] = {}
    for user_id, name in Group.objects.filter(user__in=user_ids).values_list("user", "name"):
        roles.setdefault(user_id, set()).add(name)
    prints: dict[str, str | None] = {}
    for key, user_id in sessions.items():
        session, user = data.get(key, {}), users.get(user_id)
        valid = (
            user is not None
            and str(session.get(SESSION_KEY)) == str(user_id)
            and session.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
            and constant_time_compare(
                session.get(HASH_SESSION_KEY) or "", user.get_session_auth_hash()
            )
        )
        prints[key] = _fingerprint(user, roles=roles.get(user_id, set())) if valid else None
    return prints


def _fingerprint(user: User, *, roles: set[str]) -> str:
    return "|".join([*sorted(roles), f"superuser={user.is_superuser}"])
