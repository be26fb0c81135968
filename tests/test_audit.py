"""The audit log: decisions, poll opening and closing and role changes are recorded with
who and when; entries cannot be changed or deleted, by the ORM nor (on PostgreSQL) by SQL."""

import re

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Role
from accounts.services import role_grant, role_revoke
from audit.models import AppendOnly, AuditEntry
from communities.services import community_decide, initiative_transition
from polls.services import poll_close
from tests.factories import (
    CommunityFactory,
    OfficialFactory,
    UserFactory,
    make_initiative,
    make_poll,
)

pytestmark = pytest.mark.django_db


def _actions(**filters):
    return list(
        AuditEntry.objects.filter(**filters)
        .order_by("pk")
        .values_list("action", "actor_id", "target_id")
    )


def test_decisions_polls_and_roles_are_recorded(moderator):
    official = OfficialFactory()
    community = CommunityFactory(status="pending")
    community_decide(actor=moderator, community_id=community.pk, action="approve")
    assert _actions(target_type="communities.community") == [
        ("community.approve", moderator.pk, str(community.pk))
    ]
    initiative = make_initiative(status="under_review")
    initiative_transition(
        actor=official, initiative_id=initiative.pk, to="rejected", response="No budget."
    )
    entry = AuditEntry.objects.get(action="initiative.decide", target_id=str(initiative.pk))
    assert entry.actor == official
    assert entry.data == {"from": "under_review", "to": "rejected", "response": "No budget."}
    poll = make_poll(official=official)
    poll_close(actor=official, poll_id=poll.pk)
    assert [a for a, *_ in _actions(target_type="polls.poll", target_id=str(poll.pk))] == [
        "poll.open",
        "poll.close",
    ]
    user = UserFactory()
    role_grant(actor=None, user=user, role=Role.MODERATOR)
    role_revoke(actor=None, user=user, role=Role.MODERATOR)
    assert _actions(target_type="accounts.user", target_id=str(user.pk)) == [
        ("role.grant", None, str(user.pk)),
        ("role.revoke", None, str(user.pk)),
    ]


def test_entries_cannot_be_changed_or_deleted_through_the_orm(moderator):
    community = CommunityFactory(status="pending")
    community_decide(actor=moderator, community_id=community.pk, action="approve")
    entry = AuditEntry.objects.get()
    entry.action = "community.reject"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "community.approve"


@pytest.mark.postgres
def test_postgresql_refuses_sql_that_changes_entries(moderator):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    community = CommunityFactory(status="pending")
    community_decide(actor=moderator, community_id=community.pk, action="approve")
    for sql in ("UPDATE audit_auditentry SET action = 'x'", "DELETE FROM audit_auditentry"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AuditEntry.objects.get().action == "community.approve"


# --- The log page for officials and moderators ------------------------------------------------


def _audit_url(name: str = "index", lang: str = "en") -> str:
    from django.urls import reverse
    from django.utils import translation

    with translation.override(lang):
        return reverse(f"audit:{name}")


def _grants(n: int, actor=None):
    users = [UserFactory() for _ in range(n)]
    for user in users:
        role_grant(actor=actor, user=user, role=Role.MODERATOR)
    return users


def test_anonymous_visitors_go_to_login_and_citizens_get_403(client, citizen):
    response = client.get(_audit_url())
    assert response.status_code == 302
    assert response["Location"].startswith("/en/accounts/login/?next=")
    assert client.post(_audit_url("export"), {"format": "csv"}).status_code == 302
    client.force_login(citizen)
    response = client.get(_audit_url())
    assert response.status_code == 403
    assert "officials and moderators" in response.content.decode()
    assert client.post(_audit_url("export"), {"format": "csv"}).status_code == 403
    assert not AuditEntry.objects.filter(action="audit.export").exists()


@pytest.mark.parametrize("role", ["official", "moderator"])
def test_staff_read_the_log_newest_first(client, request, role):
    user = request.getfixturevalue(role)
    community = CommunityFactory(status="pending")
    community_decide(actor=request.getfixturevalue("moderator"), community_id=community.pk,
                     action="approve")  # fmt: skip
    (granted,) = _grants(1)
    client.force_login(user)
    response = client.get(_audit_url())
    assert response.status_code == 200
    html = response.content.decode()
    newest = AuditEntry.objects.order_by("-created_at", "-pk")
    rows = [int(x) for x in re.findall(r'data-entry="(\d+)"', html)]
    assert rows == list(newest.values_list("pk", flat=True))
    # Sentences, not keys: who did what to whom, linked.
    assert 'data-action="role.grant"' in html and 'data-action="community.approve"' in html
    assert f"made {granted.public_name}: Moderator" in html
    assert f'approved the community “<a href="{community.get_absolute_url()}">' in html
    assert "accounts.user:" not in html and "<code>" not in html
    assert "The system" in html  # role_grant with actor None
    # Read-only: nothing to post to the list.
    assert client.post(_audit_url()).status_code == 405


def test_the_log_filters_by_action_and_actor_and_pages(client, official, moderator):
    community = CommunityFactory(status="pending")
    community_decide(actor=moderator, community_id=community.pk, action="approve")
    _grants(60)  # by the system
    client.force_login(official)

    by_action = client.get(_audit_url(), {"action": "community.approve"}).content.decode()
    assert by_action.count("data-entry=") == 1
    assert 'data-action="community.approve"' in by_action
    by_actor = client.get(_audit_url(), {"actor": moderator.pk}).content.decode()
    assert by_actor.count("data-entry=") == 1
    system = client.get(_audit_url(), {"actor": "system"}).content.decode()
    assert system.count("data-entry=") == 50  # a page
    assert "Page 1 of 2" in system
    assert "actor=system&amp;page=2" in system
    second = client.get(_audit_url(), {"actor": "system", "page": 2}).content.decode()
    assert second.count("data-entry=") == 10
    assert 'data-action="community.approve"' not in second
    # Nonsense filters show everything, not an error.
    assert client.get(_audit_url(), {"actor": "x", "page": "z"}).status_code == 200
    for huge in (str(2**63), str(10**20), str(-(2**63) - 1)):
        page = client.get(_audit_url(), {"actor": huge}).content.decode()
        assert page.count("data-entry=") == 50  # no filter, and no database overflow


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_of_the_log_is_recorded_in_it(client, moderator, fmt):
    import csv
    import io
    import json

    community = CommunityFactory(status="pending")
    community_decide(actor=moderator, community_id=community.pk, action="approve")
    _grants(2)
    client.force_login(moderator)

    response = client.post(_audit_url("export"), {"format": fmt, "action": "role.grant"})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="birge-audit-')
    assert response["Content-Disposition"].endswith(f'.{fmt}"')
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    rows = json.loads(text) if fmt == "json" else list(csv.DictReader(io.StringIO(text)))
    assert [r["action"] for r in rows] == ["role.grant", "role.grant"]
    entry = AuditEntry.objects.get(action="audit.export")
    assert entry.actor == moderator
    assert entry.data == {"format": fmt, "action": "role.grant", "actor": None}
    # The unfiltered export contains its own entry.
    everything = client.post(_audit_url("export"), {"format": "json"})
    actions = [r["action"] for r in json.loads(everything.content)]
    assert actions[0] == "audit.export" and actions.count("audit.export") == 2
    assert client.post(_audit_url("export"), {"format": "xls"}).status_code == 400
    assert AuditEntry.objects.filter(action="audit.export").count() == 2


# --- The user admin cannot bypass role_grant --------------------------------------------------


def test_the_user_admin_shows_groups_read_only_and_audits_staff_flags(client):
    from django.contrib.auth.models import Group

    from accounts.models import User

    admin = User.objects.create_superuser("root@birge.kz", "a-long-admin-password")
    client.force_login(admin)
    target = UserFactory()
    moderators, _ = Group.objects.get_or_create(name=Role.MODERATOR.value)
    change = f"/admin/accounts/user/{target.pk}/change/"
    page = client.get(change).content.decode()
    assert 'name="groups"' not in page and 'name="user_permissions"' not in page
    assert 'name="is_staff"' in page

    form = {
        "email": target.email,
        "display_name": target.display_name,
        "district": "",
        "preferred_language": target.preferred_language or "",
        "is_active": "on",
        "is_staff": "on",
        "groups": [moderators.pk],  # ignored: read-only
        "_save": "Save",
    }
    response = client.post(change, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    target.refresh_from_db()
    assert target.is_staff
    assert not target.groups.exists()
    entry = AuditEntry.objects.get(action="user.flags")
    assert (entry.actor, entry.target_id, entry.data) == (admin, str(target.pk), {"is_staff": True})
    # Saving again without a change records nothing more.
    client.post(change, form)
    assert AuditEntry.objects.filter(action="user.flags").count() == 1


def test_staff_who_are_not_superusers_cannot_change_staff_flags(client):
    from django.contrib.auth.models import Permission

    from accounts.models import User

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    target = UserFactory()
    page = client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="is_staff"' not in page
    assert 'name="display_name"' in page
