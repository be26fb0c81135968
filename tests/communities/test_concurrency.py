"""Support races on PostgreSQL with real, separate connections (one thread, one connection)."""

import pytest

from communities.models import Initiative, Support
from communities.services import support_add, support_remove, supports_verify
from tests.conftest import run_at_once
from tests.factories import UserFactory, make_initiative

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_50_users_supporting_twice_at_once_make_50_supports():
    initiative = make_initiative(status="submitted")
    users = [UserFactory() for _ in range(50)]
    jobs = []
    for user in users:
        jobs += [lambda u=user: support_add(actor=u, initiative_id=initiative.pk).changed] * 2
    outcomes = run_at_once(jobs, workers=50)  # 100 jobs: two full barrier rounds
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert sum(1 for _, changed in outcomes if changed) == 50  # the other 50 found theirs
    assert Support.objects.filter(initiative=initiative).count() == 50
    assert Initiative.objects.get(pk=initiative.pk).supports_count == 50
    assert supports_verify() == []


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
    outcomes = run_at_once(jobs, workers=41)
    refused = {code for kind, code in outcomes if kind == "refused"}
    assert refused <= {"not_open_for_support"}
    count = Initiative.objects.get(pk=initiative.pk).supports_count
    assert count == Support.objects.filter(initiative=initiative).count()
    assert supports_verify() == []
