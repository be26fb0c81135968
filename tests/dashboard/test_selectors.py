"""What the akimat dashboard shows: tallies, turnout, timeline, districts, pipeline, Q&A."""

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from communities.services import support_add
from dashboard.selectors import (
    dashboard_payload,
    dialogue_summary,
    district_participation,
    pipeline_summary,
    poll_summary,
    turnout_timeline,
)
from dialogue.services import question_ask, question_moderate
from polls.models import Ballot, BallotChoice, Poll
from polls.services import event_codes_generate, vote_cast
from tests.factories import (
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    choice_ids,
    district,
    make_initiative,
    make_poll,
    make_resident,
    make_session,
    make_thread,
)

pytestmark = pytest.mark.django_db


def _minute(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(second=0, microsecond=0)


def _later(minutes: int = 10) -> datetime:
    """A moment a little ahead, frozen at 15 s past a minute: votes placed there are
    still before the poll's closing time by the database's own clock."""
    return (timezone.now() + timedelta(minutes=minutes)).replace(second=15, microsecond=0)


# --- Polls ------------------------------------------------------------------------------------


def test_totals_and_choices_equal_the_votes_cast():
    official = OfficialFactory()
    poll = make_poll(
        official=official, kind="multiple", max_choices=2, choices=4, ballot_mode="both"
    )
    a, b, c, d = choice_ids(poll)
    picks = [[a], [a, b], [b, c], [a], [c], [a, c]]
    results = [vote_cast(poll_id=poll.pk, choice_ids=pick, user=UserFactory()) for pick in picks]
    code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
    results.append(vote_cast(poll_id=poll.pk, choice_ids=[d], code=code))
    expected = Counter(choice for r in results for choice in r.choices)

    summary = poll_summary(Poll.objects.get(pk=poll.pk))

    assert summary["total_votes"] == len(results) == Ballot.objects.filter(poll=poll).count()
    assert summary["results_visible"] is True
    assert [(ch["id"], ch["votes"]) for ch in summary["choices"]] == [
        (x, expected[x]) for x in (a, b, c, d)
    ]
    for ch in summary["choices"]:
        assert ch["votes"] == BallotChoice.objects.filter(choice_id=ch["id"]).count()
    assert summary["choices"][0]["labels"] == {
        "kk": "Таңдау 1",
        "ru": "Вариант 1",
        "en": "Choice 1",
    }
    assert summary["title"]["en"] == "Most pressing problems of Almaty"


def test_turnout_is_ballots_over_verified_active_users():
    official = OfficialFactory()
    poll = make_poll(official=official)
    a = choice_ids(poll)[0]
    voters = [UserFactory() for _ in range(3)]
    UserFactory.create_batch(3)  # verified, did not vote
    UserFactory(verified=False)
    UserFactory(is_active=False)
    for voter in voters:
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=voter)

    summary = poll_summary(poll)

    assert summary["eligible"] == 1 + 3 + 3  # the official, the voters, the others
    assert summary["turnout_pct"] == round(100 * 3 / 7, 1)


def test_turnout_of_a_district_poll_counts_only_its_verified_residents():
    # No register loaded: the accounts of the district are the denominator (with a register,
    # its residents are: tests/residents/test_eligibility.py).
    medeu = district("medeu")
    poll = make_poll(district_id=medeu.pk)
    a = choice_ids(poll)[0]
    residents = [make_resident(slug="medeu", district=medeu) for _ in range(3)]
    UserFactory(district=medeu, verified=False)
    UserFactory.create_batch(4, district=district("almaly"))
    UserFactory.create_batch(2)
    for resident in residents[:2]:
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=resident)

    summary = poll_summary(poll)

    assert summary["eligible"] == 3
    assert summary["total_votes"] == 2
    assert summary["turnout_pct"] == 66.7


def test_timeline_places_votes_in_their_minute_with_zeros_between():
    poll = make_poll(minutes=180)
    a = choice_ids(poll)[0]
    voters = UserFactory.create_batch(4)
    base = _later()
    for offset, batch in (
        (timedelta(0), voters[:1]),
        (timedelta(minutes=3, seconds=40), voters[1:3]),
    ):
        with time_machine.travel(base + offset, tick=False):
            for voter in batch:
                vote_cast(poll_id=poll.pk, choice_ids=[a], user=voter)
    now = base + timedelta(minutes=20)
    with time_machine.travel(now, tick=False):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=voters[3])

    timeline = turnout_timeline(poll, now=now)

    assert len(timeline) == 30
    minutes = [datetime.fromisoformat(entry["minute"]) for entry in timeline]
    assert minutes == [_minute(now) - timedelta(minutes=29 - i) for i in range(30)]
    votes = {m: entry["votes"] for m, entry in zip(minutes, timeline, strict=True)}
    assert votes[_minute(base)] == 1
    assert votes[_minute(base) + timedelta(minutes=3)] == 2  # 3:40 later is the 4th minute
    assert votes[_minute(now)] == 1
    assert sum(votes.values()) == 4
    assert list(votes.values()).count(0) == 27

    # Half an hour on, only the last vote is still inside the window.
    later = turnout_timeline(poll, now=base + timedelta(minutes=40))
    assert len(later) == 30 and sum(e["votes"] for e in later) == 1


def test_districts_count_ballots_by_the_voters_district_and_guests_apart():
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    a = choice_ids(poll)[0]
    almaly, medeu = district("almaly"), district("medeu")
    voters = [
        *UserFactory.create_batch(2, district=almaly),
        UserFactory(district=medeu),
        UserFactory(),  # no district given
    ]
    for voter in voters:
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=voter)
    for event_code in event_codes_generate(actor=official, poll_id=poll.pk, count=3)[:2]:
        vote_cast(poll_id=poll.pk, choice_ids=[a], code=event_code.code)

    rows = district_participation(poll)

    by_key = {row["district"]: row["votes"] for row in rows}
    assert by_key["almaly"] == 2
    assert by_key["medeu"] == 1
    assert by_key[None] == 1
    assert by_key["guests"] == 2
    assert sum(by_key.values()) == Ballot.objects.filter(poll=poll).count() == 6
    named = next(row for row in rows if row["district"] == "almaly")
    assert set(named["names"]) == {"kk", "ru", "en"}


def test_a_secret_ballot_has_no_districts_and_its_timeline_counts_participations():
    official = OfficialFactory()
    poll = make_poll(official=official, secret_ballot=True, minutes=180, ballot_mode="both")
    a, b = choice_ids(poll)[:2]
    base = _later()
    with time_machine.travel(base, tick=False):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory(district=district("medeu")))
    with time_machine.travel(base + timedelta(minutes=2), tick=False):
        vote_cast(poll_id=poll.pk, choice_ids=[b], user=UserFactory())
        code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
        vote_cast(poll_id=poll.pk, choice_ids=[a], code=code)
    assert not Ballot.objects.filter(poll=poll, cast_at__isnull=False).exists()

    summary = poll_summary(poll, now=base + timedelta(minutes=5))

    assert summary["secret_ballot"] is True
    assert summary["districts"] is None
    assert summary["total_votes"] == 3
    votes = {datetime.fromisoformat(e["minute"]): e["votes"] for e in summary["timeline"]}
    assert votes[_minute(base)] == 1
    assert votes[_minute(base) + timedelta(minutes=2)] == 2  # a participation and a code
    assert sum(votes.values()) == 3


def test_hidden_results_hide_the_choices_but_not_the_turnout():
    poll = make_poll(results_visibility=Poll.Visibility.HIDDEN)
    a, b = choice_ids(poll)[:2]
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory())
    vote_cast(poll_id=poll.pk, choice_ids=[b], user=UserFactory())

    summary = poll_summary(poll)

    assert summary["results_visible"] is False
    assert summary["total_votes"] == 2
    assert all(ch["votes"] is None for ch in summary["choices"])
    assert all(ch["labels"] for ch in summary["choices"])


def test_results_live_for_officials_are_shown_on_the_dashboard():
    poll = make_poll(results_visibility=Poll.Visibility.OFFICIALS)
    a = choice_ids(poll)[0]
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory())

    summary = poll_summary(poll)

    assert summary["results_visible"] is True
    assert summary["choices"][0]["votes"] == 1


# --- Initiatives ------------------------------------------------------------------------------


def test_pipeline_counts_initiatives_by_status():
    for status, n in (("submitted", 2), ("under_review", 1), ("accepted", 1), ("draft", 1)):
        for _ in range(n):
            make_initiative(status=status)

    counts = pipeline_summary()["counts"]

    assert counts == {
        "draft": 1,
        "submitted": 2,
        "under_review": 1,
        "changes_requested": 0,
        "accepted": 1,
        "rejected": 0,
        "in_progress": 0,
        "implemented": 0,
        "withdrawn": 0,
    }


def test_review_queue_is_longest_waiting_first_with_supported_submissions(settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 2
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    made = {}
    for minutes, name, status in (
        (0, "oldest review", "under_review"),
        (10, "supported submission", "submitted"),
        (20, "newer review", "under_review"),
        (30, "unsupported submission", "submitted"),
        (35, "decided", "accepted"),
    ):
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            made[name] = make_initiative(status=status, title=name)
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        for supporter in UserFactory.create_batch(2):
            support_add(actor=supporter, initiative_id=made["supported submission"].pk)
        support_add(actor=UserFactory(), initiative_id=made["unsupported submission"].pk)

    pipeline = pipeline_summary(now=start + timedelta(minutes=60))

    queue = pipeline["queue"]
    assert [item["title"] for item in queue] == [
        "oldest review",
        "supported submission",
        "newer review",
    ]
    assert pipeline["queue_total"] == 3
    assert [item["waiting_minutes"] for item in queue] == [60, 50, 40]
    assert [item["threshold_reached"] for item in queue] == [False, True, False]
    supported = queue[1]
    assert supported["status"] == "submitted"
    assert (supported["supports_count"], supported["threshold"]) == (2, 2)
    assert datetime.fromisoformat(supported["waiting_since"]) == start + timedelta(minutes=10)


# --- Q&A sessions ------------------------------------------------------------------------------


def test_dialogue_counts_waiting_questions_of_live_sessions_only():
    moderator = ModeratorFactory()
    with time_machine.travel(timezone.now() - timedelta(hours=3)):
        ended = make_session(actor=moderator, title="Yesterday's hour")
        question_ask(actor=UserFactory(), session_id=ended.pk, text="Still waiting?")
    make_session(actor=moderator, starts_in=30, title="Not yet")
    live = make_session(actor=moderator, minutes=60, title="Open hour")
    premoderated = make_session(actor=moderator, moderation="pre", minutes=90, title="Pre")
    asked = [
        question_ask(actor=UserFactory(), session_id=live.pk, text=f"Question {i}?")
        for i in range(3)
    ]
    question_moderate(actor=moderator, question_id=asked[0].pk, action="answer")
    question_moderate(actor=moderator, question_id=asked[1].pk, action="hide", reason="Spam")
    pending = [
        question_ask(actor=UserFactory(), session_id=premoderated.pk, text=f"Pre {i}?")
        for i in range(3)
    ]
    question_moderate(actor=moderator, question_id=pending[0].pk, action="approve")

    summary = dialogue_summary()

    assert summary == {
        "sessions": [
            # Every language's title: each reader's payload picks its own (localize).
            {"id": live.pk, "title": {"kk": "", "ru": "", "en": "Open hour"}, "waiting": 1, "pending": 0},
            {"id": premoderated.pk, "title": {"kk": "", "ru": "", "en": "Pre"}, "waiting": 1, "pending": 2},
        ],
        "threads_waiting": 0,
        "open_flags": 0,
    }


# --- The whole payload ------------------------------------------------------------------------

PERSONAL_KEYS = {
    "user", "user_id", "voter", "voter_id", "author", "author_id", "email", "display_name",
    "created_by", "responded_by", "requested_by", "hosts",
}  # fmt: skip


def _keys(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def test_the_payload_names_no_one(settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 1
    people = [
        UserFactory(email=f"person{i}@private.kz", display_name=f"Aigerim Private{i}")
        for i in range(6)
    ]
    official = OfficialFactory(email="akim@private.kz", display_name="Official Ermekov")
    moderator = ModeratorFactory(email="mod@private.kz", display_name="Moderator Sultanova")
    people += [official, moderator]
    open_poll = make_poll(official=official)
    secret = make_poll(official=official, secret_ballot=True)
    for voter in people[:3]:
        vote_cast(poll_id=open_poll.pk, choice_ids=choice_ids(open_poll)[:1], user=voter)
        vote_cast(poll_id=secret.pk, choice_ids=choice_ids(secret)[:1], user=voter)
    initiative = make_initiative(status="submitted")
    support_add(actor=people[3], initiative_id=initiative.pk)
    make_initiative(status="under_review")
    session = make_session(actor=moderator)
    question_ask(actor=people[4], session_id=session.pk, text="When is the tram back?")
    question_ask(actor=people[5], session_id=session.pk, text="Anonymous one", anonymous=True)

    payload = dashboard_payload()

    assert len(payload["polls"]) == 2 and len(payload["pipeline"]["queue"]) == 2
    assert payload["dialogue"]["sessions"][0]["waiting"] == 2
    text = json.dumps(payload, ensure_ascii=False)
    from accounts.models import User

    for user in User.objects.all():
        assert user.email not in text
        if user.display_name:
            assert user.display_name not in text
    assert "private" not in text.lower()
    assert not PERSONAL_KEYS & set(_keys(payload))


# --- Turnout with guests, the cheap per-tick path, and the compact payload ---------------------


def test_turnout_counts_registered_voters_only_and_never_exceeds_100():
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    a = choice_ids(poll)[0]
    voter = UserFactory()  # with the official: 2 eligible
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=voter)
    for event_code in event_codes_generate(actor=official, poll_id=poll.pk, count=5):
        vote_cast(poll_id=poll.pk, choice_ids=[a], code=event_code.code)

    summary = poll_summary(Poll.objects.get(pk=poll.pk))

    assert summary["total_votes"] == 6
    assert summary["eligible"] == 2
    assert (summary["registered_votes"], summary["guest_votes"]) == (1, 5)
    assert summary["turnout_pct"] == 50.0  # 1 of 2, not 6 of 2 = 300 %
    # Everyone eligible votes: 100 %, however many guests came.
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=official)
    assert poll_summary(Poll.objects.get(pk=poll.pk))["turnout_pct"] == 100.0


def test_turnout_is_capped_when_voters_left_the_district_after_voting():
    from dashboard.selectors import turnout

    assert turnout(total=12, guests=2, eligible=8) == {
        "registered_votes": 10,
        "guest_votes": 2,
        "turnout_pct": 100.0,
    }
    assert turnout(total=3, guests=0, eligible=0)["turnout_pct"] is None


def test_the_fast_timeline_equals_the_exact_one_and_counts_the_current_minute_live():
    from dashboard.selectors import _timeline_fast

    poll = make_poll(minutes=180)
    a = choice_ids(poll)[0]
    voters = UserFactory.create_batch(4)
    base = _later()
    with time_machine.travel(base, tick=False):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=voters[0])
    now = base + timedelta(minutes=5)
    with time_machine.travel(now, tick=False):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=voters[1])
        assert _timeline_fast(poll, now) == turnout_timeline(poll, now=now)
        # Within the same minute the finished minutes come from the cache, the current one
        # from the database: a new vote shows at once.
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=voters[2])
        fast = _timeline_fast(poll, now)
    assert fast == turnout_timeline(poll, now=now)
    assert fast[-1]["votes"] == 2 and sum(e["votes"] for e in fast) == 3


def test_fast_districts_are_reaggregated_only_when_the_total_moved(django_assert_num_queries):
    from dashboard.selectors import _districts_fast

    poll = make_poll()
    a = choice_ids(poll)[0]
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory(district=district("almaly")))
    rows = _districts_fast(poll, total=1, guests=0)
    assert {r["district"]: r["votes"] for r in rows}["almaly"] == 1
    with django_assert_num_queries(0):
        assert _districts_fast(poll, total=1, guests=0) == rows

    vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory(district=district("almaly")))
    # A moved total within a couple of seconds: the last aggregate still (no query) ...
    with django_assert_num_queries(0):
        assert _districts_fast(poll, total=2, guests=0) == rows
    # ... and a fresh one once it is older than that.
    with time_machine.travel(timezone.now() + timedelta(seconds=3), tick=False):
        again = _districts_fast(poll, total=2, guests=0)
    assert {r["district"]: r["votes"] for r in again}["almaly"] == 2


def test_eligible_counts_are_cached_for_the_live_payload(django_assert_num_queries):
    from dashboard.selectors import eligible_by_district

    UserFactory.create_batch(2)
    assert eligible_by_district(cached=True)["all"] == 2
    UserFactory()
    with django_assert_num_queries(0):
        assert eligible_by_district(cached=True)["all"] == 2
    assert eligible_by_district()["all"] == 3  # exact when asked


def test_the_pipeline_costs_the_same_queries_for_1_or_20_items(django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from communities.models import CategoryThreshold

    CategoryThreshold.objects.create(category="transport", threshold=7)
    make_initiative(status="under_review", category="transport")
    with CaptureQueriesContext(connection) as one:
        first = pipeline_summary()
    for _ in range(19):
        make_initiative(status="under_review", category="ecology")
    with CaptureQueriesContext(connection) as many:
        pipeline = pipeline_summary()
    assert len(many.captured_queries) == len(one.captured_queries)
    assert first["queue"][0]["threshold"] == 7
    assert {i["threshold"] for i in pipeline["queue"][1:]} == {100}


def test_new_submissions_list_what_came_in_below_the_threshold_with_a_summary(settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 1
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        older = make_initiative(status="submitted", title="Older", summary="S" * 400)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        newer = make_initiative(status="submitted", title="Newer", summary="Trees, please.")
        supported = make_initiative(status="submitted", title="Supported")
        make_initiative(status="under_review", title="In review")
        make_initiative(status="draft", title="Draft")
    support_add(actor=UserFactory(), initiative_id=supported.pk)

    pipeline = pipeline_summary()

    assert [i["id"] for i in pipeline["new"]] == [newer.pk, older.pk]
    assert pipeline["new_total"] == 2
    assert supported.pk in [i["id"] for i in pipeline["queue"]]
    assert pipeline["new"][0]["summary"] == "Trees, please."
    assert len(pipeline["new"][1]["summary"]) <= 240 and pipeline["new"][1]["summary"][-1] == "…"
    assert pipeline["queue"][0]["summary"]  # the queue's items carry theirs too


def test_dialogue_counts_threads_waiting_for_an_official_and_open_flags():
    from dialogue.services import comment_mark_answer, comment_post, flag_create, flag_dismiss

    official, moderator = OfficialFactory(), ModeratorFactory()
    waiting = make_thread(title="Buses at night")
    comment_post(actor=UserFactory(), thread_id=waiting.pk, body="When?")
    answered = make_thread(title="Parks")
    asked = comment_post(actor=UserFactory(), thread_id=answered.pk, body="Which one?")
    comment_mark_answer(
        actor=official,
        comment_id=comment_post(actor=official, thread_id=answered.pk, body="Gorky").pk,
    )
    replied = make_thread(title="Snow")
    comment_post(actor=UserFactory(), thread_id=replied.pk, body="Who clears it?")
    comment_post(actor=official, thread_id=replied.pk, body="The akimat, tonight.")
    make_thread(title="Empty")  # nobody wrote yet: nothing to answer
    flagged = [flag_create(actor=UserFactory(), reason="Rude", comment_id=asked.pk)]
    flagged.append(flag_create(actor=UserFactory(), reason="Spam", comment_id=asked.pk))
    flag_dismiss(actor=moderator, flag_id=flagged[1].pk)

    summary = dialogue_summary()

    assert summary["threads_waiting"] == 1
    assert summary["open_flags"] == 1


def test_the_payload_for_a_socket_is_compact_and_in_one_language():
    from dashboard.selectors import localize

    official = OfficialFactory()
    poll = make_poll(official=official)
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    neutral = dashboard_payload()

    for lang, title in (("kk", poll.title_kk), ("ru", poll.title_ru), ("en", poll.title_en)):
        summary = localize(neutral, lang)["polls"][0]
        assert summary["title"] == title
        first = poll.choices.order_by("position", "pk").first()
        assert summary["choices"][0]["label"] == getattr(first, f"label_{lang}")
        text = json.dumps(summary, ensure_ascii=False)
        for other in {"kk", "ru", "en"} - {lang}:
            assert getattr(poll, f"title_{other}") not in text
        assert summary["timeline"]["votes"][-1] == 1 and len(summary["timeline"]["votes"]) == 30
        assert datetime.fromisoformat(summary["timeline"]["start"]) == datetime.fromisoformat(
            neutral["polls"][0]["timeline"][0]["minute"]
        )
        assert ["guests", 0] in summary["districts"] and [None, 1] in summary["districts"]
        assert "names" not in text
    whole = len(json.dumps(neutral, ensure_ascii=False))
    assert len(json.dumps(localize(neutral, "ru"), ensure_ascii=False)) < whole / 2
