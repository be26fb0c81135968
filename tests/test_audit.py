"""The audit log: decisions, poll opening and closing and role changes are recorded with
who and when; entries cannot be changed or deleted, by the ORM nor (on PostgreSQL) by SQL."""

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
