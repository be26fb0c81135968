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
    poll = make_poll(official=official, ballot_mode="both")
    from polls.services import event_codes_generate

    code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
    a = choice_ids(poll)[0]
    outcomes = race([lambda: vote_cast(poll_id=poll.pk, choice_ids=[a], code=code)] * 20)
    assert sum(1 for kind, _ in outcomes if kind == "ok") == 1
    assert Ballot.objects.filter(poll=poll).count() == 1


@pytest.mark.parametrize("secret", [False, True])
def test_one_voter_with_account_and_code_at_once_makes_one_ballot(secret):
    """The same signed-in citizen votes with the account and with a ballot code at the same
    instant, on two connections: one ballot each, never two."""
    from polls.models import EventCode, Participation
    from polls.services import event_codes_generate

    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both", secret_ballot=secret)
    a, b, _ = choice_ids(poll)
    voters = [UserFactory() for _ in range(20)]
    codes = [c.code for c in event_codes_generate(actor=official, poll_id=poll.pk, count=20)]
    jobs = []
    for voter, code in zip(voters, codes, strict=True):
        jobs += [
            lambda v=voter: vote_cast(poll_id=poll.pk, choice_ids=[a], user=v),
            lambda v=voter, c=code: vote_cast(poll_id=poll.pk, choice_ids=[b], user=v, code=c),
        ]
    outcomes = race(jobs, at_once=10)  # five voters, both ways at once, per round
    for i in range(20):
        pair = outcomes[2 * i : 2 * i + 2]
        assert sorted(kind for kind, _ in pair) == ["ok", "refused"], pair
        assert [code for kind, code in pair if kind == "refused"] == ["AlreadyVoted"]
    assert Ballot.objects.filter(poll=poll).count() == 20
    if secret:
        assert Participation.objects.filter(poll=poll).count() == 20
    else:
        assert set(Ballot.objects.filter(poll=poll).values_list("voter", flat=True)) == {
            v.pk for v in voters
        }
    # A code is spent exactly when its ballot was the one kept.
    code_wins = sum(1 for i in range(20) if outcomes[2 * i + 1][0] == "ok")
    assert EventCode.objects.filter(poll=poll, used_at__isnull=False).count() == code_wins
    counts = poll_counts(Poll.objects.get(pk=poll.pk))
    assert counts["total_votes"] == 20
    assert tallies_verify(poll_id=poll.pk) == []
