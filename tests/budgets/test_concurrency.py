"""Budget ballots racing on PostgreSQL: separate connections released by one barrier."""

import pytest
from django.db import connection

from budgets.models import BudgetBallot, BudgetBallotProject, BudgetParticipation, BudgetRound
from budgets.selectors import project_votes
from budgets.services import ballot_cast, round_close
from tests.concurrency import race
from tests.factories import OfficialFactory, UserFactory

from .conftest import make_round, project_ids

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(jobs: int) -> int:
    """All jobs behind one barrier where the server has room for them; else the largest whole
    share of them that fits (a voter's two requests are neighbours, so they always race in
    the same round)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int")
        limit = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_stat_activity")
        in_use = cursor.fetchone()[0]
    room = limit - in_use - 5
    for size in (jobs, jobs // 2, jobs // 4):
        if size <= room:
            return size
    return jobs // 8


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
def test_200_voters_casting_twice_at_once_make_exactly_200_ballots(secret):
    budget_round = make_round(
        projects=[4_000_000, 3_000_000, 5_000_000], secret_ballot=secret, open_now=True
    )
    a, b, c = project_ids(budget_round)
    voters = [UserFactory() for _ in range(200)]
    jobs = []
    for i, voter in enumerate(voters):
        picks = [a, b] if i % 2 else [c]
        jobs += [
            lambda v=voter, p=picks: ballot_cast(actor=v, round_id=budget_round.pk, project_ids=p)
        ] * 2
    outcomes = race(jobs, at_once=_at_once(len(jobs)))
    accepted = [o for o in outcomes if o[0] == "ok"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(accepted) == 200
    assert len(refused) == 200 and {code for _, code in refused} == {"already_voted"}
    for first, second in zip(outcomes[::2], outcomes[1::2], strict=True):
        assert sorted([first[0], second[0]]) == ["ok", "refused"]
    assert BudgetBallot.objects.filter(round=budget_round).count() == 200
    assert BudgetParticipation.objects.filter(round=budget_round).count() == 200
    assert BudgetBallotProject.objects.filter(round=budget_round).count() == 100 * 2 + 100
    assert project_votes(budget_round) == {a: 100, b: 100, c: 100}
    if secret:
        assert not BudgetBallot.objects.filter(round=budget_round, voter__isnull=False).exists()
    assert connection.vendor == "postgresql"


def test_200_voters_casting_twice_at_once_where_ballots_may_change():
    """The second request of a voter either changes the first ballot (it came after its
    commit) or is refused (it raced it): never a second ballot."""
    budget_round = make_round(
        projects=[4_000_000, 3_000_000, 5_000_000], allow_ballot_change=True, open_now=True
    )
    a, b, c = project_ids(budget_round)
    voters = [UserFactory() for _ in range(200)]
    jobs = []
    for voter in voters:
        jobs += [
            lambda v=voter: ballot_cast(actor=v, round_id=budget_round.pk, project_ids=[a, b]),
            lambda v=voter: ballot_cast(actor=v, round_id=budget_round.pk, project_ids=[c]),
        ]
    outcomes = race(jobs, at_once=_at_once(len(jobs)))
    assert {code for kind, code in outcomes if kind == "refused"} <= {"already_voted"}
    for first, second in zip(outcomes[::2], outcomes[1::2], strict=True):
        assert "ok" in (first[0], second[0])
    assert BudgetBallot.objects.filter(round=budget_round).count() == 200
    assert BudgetParticipation.objects.filter(round=budget_round).count() == 200
    # Each ballot is one request's picks, whole: [a, b] or [c], never a mix.
    for ballot in BudgetBallot.objects.filter(round=budget_round):
        assert sorted(ballot.picks.values_list("project_id", flat=True)) in ([a, b], [c])


def test_ballots_racing_a_close_are_in_the_frozen_count_or_refused():
    official = OfficialFactory()
    budget_round = make_round(official=official, projects=[1_000_000], open_now=True)
    a = project_ids(budget_round)[0]
    voters = [UserFactory() for _ in range(50)]
    jobs = [
        lambda v=v: ballot_cast(actor=v, round_id=budget_round.pk, project_ids=[a]) for v in voters
    ]
    jobs.insert(25, lambda: round_close(actor=official, round_id=budget_round.pk) and "closed")
    outcomes = race(jobs)
    accepted = sum(1 for kind, r in outcomes if kind == "ok" and r != "closed")
    refused = [code for kind, code in outcomes if kind == "refused"]
    assert set(refused) <= {"round_closed"}
    assert accepted + len(refused) == 50
    budget_round = BudgetRound.objects.get(pk=budget_round.pk)
    assert budget_round.status == "closed"
    assert budget_round.final_ballots == accepted
    assert BudgetBallot.objects.filter(round=budget_round).count() == accepted
