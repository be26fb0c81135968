"""Support races on PostgreSQL with real, separate connections (one thread, one connection)."""

import pytest

from communities.models import Initiative, Support
from communities.services import support_add, support_remove, supports_verify
from tests.concurrency import race
from tests.factories import UserFactory, make_initiative

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_50_users_supporting_twice_at_once_make_50_supports():
    initiative = make_initiative(status="submitted")
    users = [UserFactory() for _ in range(50)]
    jobs = []
    for user in users:
        jobs += [lambda u=user: support_add(actor=u, initiative_id=initiative.pk).changed] * 2
    assert len(jobs) == 100
    outcomes = race(jobs)  # 100 threads, one barrier, one connection each
    assert [kind for kind, _ in outcomes] == ["ok"] * 100, outcomes
    assert sum(1 for _, changed in outcomes if changed) == 50  # the other 50 found theirs
    for n in range(50):  # each user: exactly one of their two attempts made the support
        assert sorted([outcomes[2 * n][1], outcomes[2 * n + 1][1]]) == [False, True]
    assert Support.objects.filter(initiative=initiative).count() == 50
    assert set(Support.objects.values_list("user_id", flat=True)) == {u.pk for u in users}
    assert Initiative.objects.get(pk=initiative.pk).supports_count == 50
    assert supports_verify() == []


def test_a_broken_barrier_fails_the_race_instead_of_trickling_in(monkeypatch):
    import threading

    from tests import concurrency

    monkeypatch.setattr(concurrency, "BARRIER_SECONDS", 0.2)
    real = threading.Barrier

    class OneShort(real):  # waits for one more thread than will ever come
        def __init__(self, parties, *args, **kwargs):
            super().__init__(parties + 1, *args, **kwargs)

    monkeypatch.setattr(concurrency.threading, "Barrier", OneShort)
    with pytest.raises(threading.BrokenBarrierError):
        concurrency.race([lambda: 1, lambda: 2])


def test_supports_and_withdrawals_racing_a_decision_keep_the_count_exact():
    from communities.services import initiative_transition
    from tests.factories import OfficialFactory

    initiative = make_initiative(status="under_review")
    official = OfficialFactory()
    early = [UserFactory() for _ in range(20)]
    for user in early:
        support_add(actor=user, initiative_id=initiative.pk)
    late = [UserFactory() for _ in range(20)]
    jobs = [lambda u=u: support_add(actor=u, initiative_id=initiative.pk) for u in late]
    jobs += [lambda u=u: support_remove(actor=u, initiative_id=initiative.pk) for u in early[:10]]
    jobs.insert(
        15,
        lambda: initiative_transition(
            actor=official, initiative_id=initiative.pk, to="accepted", response="Adopted."
        ),
    )
    outcomes = race(jobs)
    assert {kind for kind, _ in outcomes} <= {"ok", "refused"}, outcomes
    refused = {code for kind, code in outcomes if kind == "refused"}
    assert refused <= {"not_open_for_support"}
    count = Initiative.objects.get(pk=initiative.pk).supports_count
    assert count == Support.objects.filter(initiative=initiative).count()
    assert supports_verify() == []


def test_finding_concurrent_patch_keeps_both_fields(monkeypatch):
    """Two members PATCH different fields of one proposal at the same moment: both edits stay.

    Each request's validation is slowed down so that both have read the proposal before
    either writes; a merge on an unlocked read then writes back the other's field as it was.
    """
    import json
    import time

    from django.test import Client

    import communities.services
    from tests.factories import make_member

    initiative = make_initiative(status="draft", title="Old title", summary="Old summary")
    editors = [make_member(initiative.community) for _ in range(2)]
    clients = []
    for editor in editors:
        client = Client()
        client.force_login(editor)
        clients.append(client)
    real_validate = communities.services._validate_initiative

    def slow_validate(data):
        time.sleep(0.3)
        return real_validate(data)

    monkeypatch.setattr(communities.services, "_validate_initiative", slow_validate)
    url = f"/api/v1/initiatives/{initiative.pk}"

    def patch(client, payload):
        def job():
            response = client.patch(url, json.dumps(payload), content_type="application/json")
            return response.status_code

        return job

    outcomes = race(
        [patch(clients[0], {"title": "New title"}), patch(clients[1], {"summary": "New summary"})]
    )
    assert outcomes == [("ok", 200), ("ok", 200)]
    initiative.refresh_from_db()
    assert (initiative.title, initiative.summary) == ("New title", "New summary")
