"""Roles: official and moderator as groups, granted by command, admin action or service."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Role
from accounts.permissions import (
    is_citizen,
    is_moderator,
    is_official,
    require_citizen,
    require_moderator,
    require_official,
)
from accounts.services import role_grant, role_revoke
from civic.errors import Forbidden, NotAuthenticated
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_role_checks(citizen, official, moderator, unverified_user):
    assert is_citizen(citizen) and not is_official(citizen) and not is_moderator(citizen)
    assert is_official(official) and not is_moderator(official)
    assert is_moderator(moderator) and not is_official(moderator)
    assert not is_citizen(unverified_user)


def test_anonymous_has_no_role():
    from django.contrib.auth.models import AnonymousUser

    anon = AnonymousUser()
    assert not is_citizen(anon) and not is_official(anon) and not is_moderator(anon)
    with pytest.raises(NotAuthenticated):
        require_citizen(anon)


def test_require_functions(citizen, official, moderator, unverified_user):
    with pytest.raises(Forbidden):
        require_official(citizen)
    with pytest.raises(Forbidden):
        require_moderator(citizen)
    with pytest.raises(Forbidden) as exc:
        require_citizen(unverified_user)
    assert exc.value.code == "email_unverified"
    require_official(official)
    require_moderator(moderator)
    require_moderator(official)  # officials may moderate


def test_inactive_user_loses_roles(official):
    official.is_active = False
    official.save()
    assert not is_official(official)


def test_role_grant_and_revoke_service(citizen):
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert role_grant(actor=admin, user=citizen, role=Role.OFFICIAL) is True
    assert role_grant(actor=admin, user=citizen, role=Role.OFFICIAL) is False
    assert is_official(citizen)
    assert role_revoke(actor=admin, user=citizen, role=Role.OFFICIAL) is True
    assert not is_official(citizen)
    assert role_revoke(actor=admin, user=citizen, role=Role.OFFICIAL) is False


def test_only_superusers_grant_roles(citizen, official):
    with pytest.raises(Forbidden):
        role_grant(actor=official, user=citizen, role=Role.OFFICIAL)
    assert not is_official(citizen)


def test_grant_role_command(citizen, capsys):
    call_command("grant_role", citizen.email.upper(), role="moderator")
    assert is_moderator(citizen)
    assert "granted" in capsys.readouterr().out
    call_command("grant_role", citizen.email, role="moderator", revoke=True)
    citizen.refresh_from_db()
    assert not is_moderator(type(citizen).objects.get(pk=citizen.pk))


def test_grant_role_command_unknown_user():
    with pytest.raises(CommandError):
        call_command("grant_role", "nobody@example.kz", role="official")


def test_admin_action_grants_role(client, citizen):
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "grant_official", "_selected_action": [citizen.pk]},
    )
    assert response.status_code == 302
    assert is_official(type(citizen).objects.get(pk=citizen.pk))
