"""vote_cast and the poll lifecycle: one ballot per voter, exact tallies, bad input refused."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from civic.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from polls.models import Ballot, BallotChoice, EventCode, Participation, Poll
from polls.selectors import poll_counts
from polls.services import (
    AlreadyVoted,
    ChoiceInput,
    PollInput,
    PollNotOpen,
    event_codes_generate,
    event_codes_revoke,
    poll_close,
    poll_create,
    poll_open,
    poll_schedule,
    polls_advance_schedule,
    tallies_fold,
    tallies_verify,
    vote_cast,
)
from tests.factories import (
    OfficialFactory,
    UserFactory,
    choice_ids,
    district,
    make_poll,
    make_resident,
)

pytestmark = pytest.mark.django_db


def counts(poll):
    poll.refresh_from_db()
    c = poll_counts(poll)
    return c["total_votes"], [row["votes"] for row in c["choices"]]


def test_vote_is_counted_once(citizen):
    poll = make_poll()
    a, b, _c = choice_ids(poll)
    result = vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen)
    assert result.as_json() == {
        "poll": poll.pk,
        "status": "recorded",
        "choices": [a],
        "secret": False,
    }
    assert counts(poll) == (1, [1, 0, 0])
    with pytest.raises(AlreadyVoted):
        vote_cast(poll_id=poll.pk, choice_ids=[b], user=citizen)
    assert counts(poll) == (1, [1, 0, 0])
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_multiple_choice_up_to_max(citizen):
    poll = make_poll(kind=Poll.Kind.MULTIPLE, max_choices=2)
    a, b, c = choice_ids(poll)
    with pytest.raises(InvalidInput) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=[a, b, c], user=citizen)
    assert exc.value.code == "too_many_choices"
    vote_cast(poll_id=poll.pk, choice_ids=[a, c], user=citizen)
    assert counts(poll) == (1, [1, 0, 1])


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ([], "no_choice"),
        (None, "no_choice"),
        ("1", "no_choice"),
        ([True], "bad_choice"),
        ([1.5], "bad_choice"),
        (["abc"], "bad_choice"),
        ([{"id": 1}], "bad_choice"),
        ([0], "foreign_choice"),
        ([-1], "foreign_choice"),
        ([2**70], "foreign_choice"),
    ],
)
def test_bad_choices_are_refused(citizen, choices, code):
    poll = make_poll()
    with pytest.raises(InvalidInput) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=choices, user=citizen)
    assert exc.value.code == code
    assert counts(poll) == (0, [0, 0, 0])


def test_duplicate_and_foreign_choices(citizen):
    poll = make_poll(kind=Poll.Kind.MULTIPLE, max_choices=3)
    other = make_poll()
    a = choice_ids(poll)[0]
    with pytest.raises(InvalidInput) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=[a, a], user=citizen)
    assert exc.value.code == "duplicate_choice"
    with pytest.raises(InvalidInput) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(other)[0]], user=citizen)
    assert exc.value.code == "foreign_choice"
    assert not Ballot.objects.exists()


def test_anonymous_and_unverified_cannot_vote(unverified_user):
    poll = make_poll()
    with pytest.raises(NotAuthenticated):
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=None)
    with pytest.raises(Forbidden) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=unverified_user)
    assert exc.value.code == "email_unverified"
    assert not Ballot.objects.exists()


def test_district_restriction(citizen):
    # The register's district decides, never the profile's (residents.eligibility).
    poll = make_poll(district_id=district("medeu").pk)
    with pytest.raises(Forbidden) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=citizen)
    assert exc.value.code == "verification_required"
    elsewhere = make_resident(slug="almaly", district=district("medeu"))
    with pytest.raises(Forbidden) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=elsewhere)
    assert exc.value.code == "wrong_district"
    resident = make_resident(slug="medeu")
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=resident)
    assert counts(poll)[0] == 1


def test_draft_scheduled_closed_and_missing_polls_refuse_votes(citizen):
    draft = make_poll(open_now=False)
    with pytest.raises(NotFound):
        vote_cast(poll_id=draft.pk, choice_ids=choice_ids(draft)[:1], user=citizen)
    scheduled = make_poll(
        open_now=False,
        opens_at=timezone.now() + timedelta(hours=1),
        closes_at=timezone.now() + timedelta(hours=2),
    )
    poll_schedule(actor=OfficialFactory(), poll_id=scheduled.pk)
    with pytest.raises(PollNotOpen) as exc:
        vote_cast(poll_id=scheduled.pk, choice_ids=choice_ids(scheduled)[:1], user=citizen)
    assert exc.value.code == "poll_not_open"
    closed = make_poll()
    poll_close(actor=OfficialFactory(), poll_id=closed.pk)
    with pytest.raises(PollNotOpen) as exc:
        vote_cast(poll_id=closed.pk, choice_ids=choice_ids(closed)[:1], user=citizen)
    assert exc.value.code == "poll_closed"
    for missing in (999999, 2**80, "abc", None):
        with pytest.raises(NotFound):
            vote_cast(poll_id=missing, choice_ids=[1], user=citizen)
    assert not Ballot.objects.exists()


def test_vote_refused_after_closes_at_even_if_beat_is_late(citizen):
    poll = make_poll()
    # Time is up but the scheduler has not closed the poll yet.
    Poll.objects.filter(pk=poll.pk).update(
        opens_at=timezone.now() - timedelta(minutes=5),
        closes_at=timezone.now() - timedelta(seconds=1),
    )
    assert Poll.objects.get(pk=poll.pk).status == Poll.Status.OPEN
    with pytest.raises(PollNotOpen) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=citizen)
    assert exc.value.code == "poll_closed"
    assert not Ballot.objects.exists()


def test_vote_change_when_allowed(citizen):
    poll = make_poll(allow_vote_change=True, kind=Poll.Kind.MULTIPLE, max_choices=2)
    a, b, c = choice_ids(poll)
    vote_cast(poll_id=poll.pk, choice_ids=[a, b], user=citizen)
    result = vote_cast(poll_id=poll.pk, choice_ids=[b, c], user=citizen)
    assert result.changed
    assert counts(poll) == (1, [0, 1, 1])
    assert Ballot.objects.get(poll=poll).changed_at is not None


def test_idempotency_key_replays_the_original_answer(citizen):
    poll = make_poll()
    a, b, _ = choice_ids(poll)
    first = vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen, idempotency_key="k-1")
    again = vote_cast(poll_id=poll.pk, choice_ids=[b], user=citizen, idempotency_key="k-1")
    assert again.replayed and again.as_json() == first.as_json()
    assert counts(poll) == (1, [1, 0, 0])
    with pytest.raises(InvalidInput):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen, idempotency_key="x" * 200)
    other = make_poll()
    with pytest.raises(Conflict):
        vote_cast(
            poll_id=other.pk, choice_ids=choice_ids(other)[:1], user=citizen, idempotency_key="k-1"
        )


def test_secret_ballot_keeps_voter_and_choice_apart(citizen):
    poll = make_poll(secret_ballot=True)
    a = choice_ids(poll)[0]
    result = vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen, idempotency_key="s-1")
    assert result.as_json()["choices"] is None
    assert Participation.objects.filter(poll=poll, voter=citizen).exists()
    ballot = Ballot.objects.get(poll=poll)
    assert (
        ballot.voter_id is None
        and ballot.cast_at is None
        and ballot.changed_at is None
        and ballot.code_id is None
    )
    # Nothing else on record ties the citizen to the choice.
    from polls.models import IdempotencyRecord

    assert IdempotencyRecord.objects.get(key="s-1").response["choices"] is None
    assert counts(poll) == (1, [1, 0, 0])
    with pytest.raises(AlreadyVoted):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen)
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_secret_ballot_selections_do_not_keep_the_order_of_voting():
    from polls.models import BallotChoice

    poll = make_poll(secret_ballot=True, choices=2)
    a, b = choice_ids(poll)
    # Voters one after another; who voted when is on record (participations).
    pattern = [a, b, b, a, b, a, a, a, b, b, a, b, b, b, a, a, b, a, b, a]
    for choice in pattern:
        vote_cast(poll_id=poll.pk, choice_ids=[choice], user=UserFactory())
    by_id = list(
        BallotChoice.objects.filter(poll=poll).order_by("id").values_list("choice_id", flat=True)
    )
    assert sorted(by_id) == sorted(pattern)
    # Ordered by id the selections are shuffled: the order of voting cannot be read back
    # (a random order matches this pattern by chance once in about 185,000 runs).
    assert by_id != pattern
    open_poll = make_poll(choices=2)
    c, d = choice_ids(open_poll)
    for choice in [c, d, d, c]:
        vote_cast(poll_id=open_poll.pk, choice_ids=[choice], user=UserFactory())
    assert list(
        BallotChoice.objects.filter(poll=open_poll)
        .order_by("id")
        .values_list("choice_id", flat=True)
    ) == [c, d, d, c]  # an open ballot keeps its order (and its voter) on record anyway


def test_dates_outside_2000_2100_are_refused(official):
    from datetime import UTC, datetime, timezone

    timezone_now = globals()["timezone"].now
    for opens_at, closes_at in (
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), None),
        (datetime(2150, 1, 1, tzinfo=UTC), datetime(2150, 1, 2, tzinfo=UTC)),
        (timezone_now(), datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))),
    ):
        with pytest.raises(InvalidInput, match="2000 and 2100"):
            make_poll(official=official, open_now=False, opens_at=opens_at, closes_at=closes_at)
    assert not Poll.objects.exists()


def test_secret_ballot_cannot_allow_changes():
    with pytest.raises(InvalidInput):
        make_poll(secret_ballot=True, allow_vote_change=True)


def test_event_codes(official):
    poll = make_poll(official=official, ballot_mode="both")
    codes = event_codes_generate(actor=official, poll_id=poll.pk, count=5)
    assert len(codes) == 5 and len({c.code for c in codes}) == 5
    assert all(len(c.code) == 10 for c in codes)
    a = choice_ids(poll)[0]
    vote_cast(poll_id=poll.pk, choice_ids=[a], code=codes[0].code.lower())
    assert counts(poll) == (1, [1, 0, 0])
    with pytest.raises(AlreadyVoted):
        vote_cast(poll_id=poll.pk, choice_ids=[a], code=codes[0].code)
    assert event_codes_revoke(actor=official, poll_id=poll.pk, code_ids=[codes[1].pk]) == 1
    with pytest.raises(Forbidden) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=[a], code=codes[1].code)
    assert exc.value.code == "code_revoked"
    other = make_poll(official=official, ballot_mode="both")
    with pytest.raises(Forbidden) as exc:
        vote_cast(poll_id=other.pk, choice_ids=choice_ids(other)[:1], code=codes[2].code)
    assert exc.value.code == "bad_code"  # the same answer as a code that does not exist
    with pytest.raises(Forbidden):
        vote_cast(poll_id=poll.pk, choice_ids=[a], code="NOPE234567")
    assert counts(poll) == (1, [1, 0, 0])
    assert EventCode.objects.filter(used_at__isnull=False).count() == 1


def test_only_officials_manage(citizen):
    poll = make_poll()
    with pytest.raises(Forbidden):
        poll_close(actor=citizen, poll_id=poll.pk)
    with pytest.raises(Forbidden):
        event_codes_generate(actor=citizen, poll_id=poll.pk, count=3)
    with pytest.raises(Forbidden):
        poll_create(actor=citizen, data=PollInput("a", "b", "c", [ChoiceInput("x", "y", "z")] * 2))
    assert Poll.objects.get(pk=poll.pk).status == Poll.Status.OPEN


@pytest.mark.parametrize(
    "overrides",
    [
        # The original language's title is required (the others are optional translations).
        {"original_language": "en", "title_en": ""},
        {"original_language": "fr"},
        {"title_en": "x" * 201},
        {"title_ru": "x" * 201},
        {"title_kk": "a\x00b"},
        {"choices": [ChoiceInput("a", "b", "c")]},
        {"kind": "ranked"},
        {"kind": Poll.Kind.MULTIPLE, "max_choices": 5},
        {"opens_at": timezone.now(), "closes_at": timezone.now() - timedelta(hours=1)},
    ],
)
def test_poll_create_rejects_bad_input(official, overrides):
    data = {
        "title_kk": "kk",
        "title_ru": "ru",
        "title_en": "en",
        "choices": [ChoiceInput("a", "b", "c"), ChoiceInput("d", "e", "f")],
        **overrides,
    }
    with pytest.raises(InvalidInput):
        poll_create(actor=official, data=PollInput(**data))
    assert not Poll.objects.exists()


def test_close_freezes_the_exact_result(official):
    poll = make_poll(official=official)
    a, b, _ = choice_ids(poll)
    for i in range(3):
        vote_cast(poll_id=poll.pk, choice_ids=[a if i else b], user=UserFactory())
    poll_close(actor=official, poll_id=poll.pk)
    poll.refresh_from_db()
    assert poll.final_result == {
        "total_votes": 3,
        "choices": [
            {"id": a, "votes": 2},
            {"id": b, "votes": 1},
            {"id": choice_ids(poll)[2], "votes": 0},
        ],
    }
    with pytest.raises(Conflict):
        poll_close(actor=official, poll_id=poll.pk)


def test_schedule_opens_and_closes_on_time(official):
    now = timezone.now()
    due = make_poll(
        official=official,
        open_now=False,
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=2),
    )
    poll_schedule(actor=official, poll_id=due.pk)
    Poll.objects.filter(pk=due.pk).update(opens_at=now - timedelta(seconds=1))
    ending = make_poll(official=official)
    Poll.objects.filter(pk=ending.pk).update(
        opens_at=now - timedelta(minutes=5), closes_at=now - timedelta(seconds=1)
    )
    assert polls_advance_schedule() == {"opened": 1, "closed": 1}
    assert Poll.objects.get(pk=due.pk).status == Poll.Status.OPEN
    assert Poll.objects.get(pk=ending.pk).status == Poll.Status.CLOSED
    assert polls_advance_schedule() == {"opened": 0, "closed": 0}  # idempotent


def test_verify_tallies_finds_and_repairs_drift(citizen):
    from polls.models import ChoiceTally

    poll = make_poll()
    a = choice_ids(poll)[0]
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen)
    assert tallies_verify() == []
    tallies_fold()
    # Corrupt the counter the vote went to.
    assert ChoiceTally.objects.filter(choice_id=a, votes=1).update(votes=F("votes") + 7) == 1
    drifts = tallies_verify(poll_id=poll.pk)
    assert [(d.what, d.counted, d.actual) for d in drifts] == [(f"choice {a}", 8, 1)]
    assert tallies_verify(poll_id=poll.pk, repair=True)
    assert tallies_verify(poll_id=poll.pk) == []
    assert counts(poll) == (1, [1, 0, 0])
    assert BallotChoice.objects.filter(poll=poll).count() == 1


def test_open_requires_future_close(official):
    poll = make_poll(official=official, open_now=False)
    Poll.objects.filter(pk=poll.pk).update(
        closes_at=timezone.now() - timedelta(minutes=1),
        opens_at=timezone.now() - timedelta(minutes=2),
    )
    with pytest.raises(InvalidInput):
        poll_open(actor=official, poll_id=poll.pk)
    assert connection.vendor in ("sqlite", "postgresql")


def test_a_choice_may_point_to_a_public_initiative(official):
    from communities.models import Initiative
    from polls.services import poll_create
    from tests.factories import make_initiative

    public = make_initiative(status="under_review")
    draft = make_initiative(status="draft")

    def data(initiative_id):
        return PollInput(
            title_kk="Қай жоба бірінші?",
            title_ru="Какой проект первым?",
            title_en="Which project first?",
            choices=[
                ChoiceInput("Веложол", "Велодорожка", "Bike lane", initiative_id=initiative_id),
                ChoiceInput("Басқа", "Другое", "Other"),
            ],
        )

    poll = poll_create(actor=official, data=data(public.pk))
    assert [c.initiative_id for c in poll.choices.all()] == [public.pk, None]
    for bad in (draft.pk, 10**12, "x"):
        with pytest.raises(InvalidInput):
            poll_create(actor=official, data=data(bad))
    assert Poll.objects.count() == 1
    assert Initiative.objects.get(pk=public.pk).poll_choices.count() == 1
