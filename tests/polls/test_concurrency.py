"""Races on PostgreSQL with real, separate connections (one thread, one connection)."""

import pytest
from django.db import connection

from polls.models import Ballot, BallotChoice, Poll
from polls.selectors import poll_counts
from polls.services import poll_close, tallies_verify, vote_cast
from tests.concurrency import race
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_200_voters_submitting_twice_at_once_make_200_votes():
    poll = make_poll(kind=Poll.Kind.MULTIPLE, max_choices=2, choices=4)
    a, b, c, _ = choice_ids(poll)
    voters = [UserFactory() for _ in range(200)]
    jobs = []
    for i, voter in enumerate(voters):
        picks = [a, b] if i % 2 else [c]
        jobs += [lambda v=voter, p=picks: vote_cast(poll_id=poll.pk, choice_ids=p, user=v)] * 2
    outcomes = race(jobs, at_once=100)  # 50 voters, twice each, per round
    accepted = [o for o in outcomes if o[0] == "ok"]
    refused = [o for o in outcomes if o[0] == "refused"]
    assert len(accepted) == 200
    assert len(refused) == 200 and {code for _, code in refused} == {"AlreadyVoted"}
    assert Ballot.objects.filter(poll=poll).count() == 200
    assert BallotChoice.objects.filter(poll=poll).count() == 100 * 2 + 100
    counts = poll_counts(Poll.objects.get(pk=poll.pk))
    assert counts["total_votes"] == 200
    assert [r["votes"] for r in counts["choices"]] == [100, 100, 100, 0]
    assert tallies_verify(poll_id=poll.pk) == []


def test_same_idempotency_key_at_once_gives_one_ballot_and_one_answer():
    poll = make_poll()
    voter = UserFactory()
    a = choice_ids(poll)[0]
    jobs = [
        lambda: vote_cast(poll_id=poll.pk, choice_ids=[a], user=voter, idempotency_key="same")
    ] * 10
    outcomes = race(jobs)
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    assert len({str(r.as_json()) for _, r in outcomes}) == 1
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_50_votes_racing_a_close():
    official = OfficialFactory()
    poll = make_poll(official=official)
    a = choice_ids(poll)[0]
    voters = [UserFactory() for _ in range(50)]
    jobs = [lambda v=v: vote_cast(poll_id=poll.pk, choice_ids=[a], user=v) for v in voters]
    jobs.insert(25, lambda: poll_close(actor=official, poll_id=poll.pk) and "closed")
    outcomes = race(jobs)
    accepted_votes = sum(1 for kind, r in outcomes if kind == "ok" and r != "closed")
    refused = [code for kind, code in outcomes if kind == "refused"]
    assert set(refused) <= {"poll_closed"}
    assert accepted_votes + len(refused) == 50
    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED
    # Every accepted vote is in the frozen result, and nothing landed after it.
    assert poll.final_result["total_votes"] == accepted_votes
    assert poll.final_result["choices"][0]["votes"] == accepted_votes
    assert Ballot.objects.filter(poll=poll).count() == accepted_votes
    assert connection.vendor == "postgresql"


def test_event_code_used_at_once_counts_once():
    official = OfficialFactory()
    poll = make_poll(official=official)
    from polls.services import event_codes_generate

    code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
    a = choice_ids(poll)[0]
    outcomes = race([lambda: vote_cast(poll_id=poll.pk, choice_ids=[a], code=code)] * 20)
    assert sum(1 for kind, _ in outcomes if kind == "ok") == 1
    assert Ballot.objects.filter(poll=poll).count() == 1
