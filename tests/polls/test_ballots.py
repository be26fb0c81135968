"""One person, one ballot, with accounts and with codes; throttled code guessing; a poll's
rules frozen past draft (admin included); counters checked by the vote; one visibility rule."""

import json
import re
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from civic.errors import Conflict
from polls.models import Ballot, Choice, ChoiceTally, EventCode, Participation, Poll
from polls.permissions import results_visible
from polls.selectors import compute_results_push, poll_counts, poll_results_for, voter_state
from polls.services import (
    AlreadyVoted,
    ChoiceInput,
    PollInput,
    PollNotDraft,
    _meta_cache,
    event_codes_generate,
    poll_close,
    poll_update,
    tallies_fold,
    tallies_verify,
    vote_cast,
)
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll
from tests.polls.test_services import counts

pytestmark = pytest.mark.django_db


def post_vote(client, poll, payload, **extra):
    return client.post(
        f"/api/v1/polls/{poll.pk}/votes",
        json.dumps(payload),
        content_type="application/json",
        **extra,
    )


def a_code(poll, official) -> str:
    return event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code


# --- One person, one ballot --------------------------------------------------------------------


def test_finding_account_then_code_is_409(client, citizen):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    a, b, _ = choice_ids(poll)
    code = a_code(poll, official)
    client.force_login(citizen)
    assert post_vote(client, poll, {"choices": [a]}).status_code == 201

    response = post_vote(client, poll, {"choices": [b], "code": code})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "You have already voted in this poll.",
        "code": "AlreadyVoted",
    }
    # The page says the same, in the reader's language.
    page = client.post(f"/ru/polls/{poll.pk}/", {"choice": [str(b)], "code": code})
    assert page.status_code == 409
    assert "Вы уже участвовали в этом голосовании" in page.content.decode()
    # One ballot; the code refused with it is still good for someone else.
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert poll_counts(Poll.objects.get(pk=poll.pk))["total_votes"] == 1
    assert EventCode.objects.get(code=code).used_at is None
    guest = Client()
    assert post_vote(guest, poll, {"choices": [b], "code": code}).status_code == 201


def test_finding_account_then_code_is_409_in_a_secret_ballot(citizen):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both", secret_ballot=True)
    a = choice_ids(poll)[0]
    code = a_code(poll, official)
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen)
    with pytest.raises(AlreadyVoted):
        vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen, code=code)
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert EventCode.objects.get(code=code).used_at is None


@pytest.mark.parametrize("secret", [False, True])
def test_finding_code_while_signed_in_counts_as_account_ballot(client, citizen, secret):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both", secret_ballot=secret)
    a, b, _ = choice_ids(poll)
    first, second = (c.code for c in event_codes_generate(actor=official, poll_id=poll.pk, count=2))
    client.force_login(citizen)

    assert post_vote(client, poll, {"choices": [a], "code": first}).status_code == 201
    assert EventCode.objects.get(code=first).used_at is not None  # the code is spent
    if secret:
        # Who took part is recorded as for an account's secret ballot; the ballot stays bare.
        assert Participation.objects.filter(poll=poll, voter=citizen).count() == 1
        assert Ballot.objects.get(poll=poll).voter is None
    else:
        ballot = Ballot.objects.get(poll=poll)
        assert ballot.voter == citizen and ballot.code.code == first
    assert voter_state(poll, citizen)["voted"] is True

    # Now the account has voted: neither the account nor another code adds a ballot.
    response = post_vote(client, poll, {"choices": [b]})
    assert response.status_code == 409 and response.json()["code"] == "AlreadyVoted"
    response = post_vote(client, poll, {"choices": [b], "code": second})
    assert response.status_code == 409
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert poll_counts(Poll.objects.get(pk=poll.pk))["total_votes"] == 1
    assert EventCode.objects.get(code=second).used_at is None


def test_finding_poll_mode_accounts_only_refuses_codes(client, citizen):
    official = OfficialFactory()
    accounts_only = make_poll(official=official)  # the default for a new poll
    assert accounts_only.ballot_mode == Poll.BallotMode.ACCOUNTS
    with pytest.raises(Conflict) as exc:
        event_codes_generate(actor=official, poll_id=accounts_only.pk, count=1)
    assert exc.value.code == "codes_not_accepted"
    a = choice_ids(accounts_only)[0]
    response = post_vote(Client(), accounts_only, {"choices": [a], "code": "ABCDEFGHJK"})
    assert response.status_code == 403
    assert response.json()["code"] == "codes_not_accepted"
    assert "does not take ballot codes" in response.json()["detail"]
    page = Client().post(f"/ru/polls/{accounts_only.pk}/", {"choice": [a], "code": "ABCDEFGHJK"})
    assert page.status_code == 403
    assert "не принимает кодов бюллетеней" in page.content.decode()

    # And the other way round: a poll for codes only takes no account's ballot.
    codes_only = make_poll(official=official, ballot_mode="codes")
    b = choice_ids(codes_only)[0]
    client.force_login(citizen)
    response = post_vote(client, codes_only, {"choices": [b]})
    assert response.status_code == 403 and response.json()["code"] == "accounts_not_accepted"
    assert post_vote(Client(), codes_only, {"choices": [b]}).status_code == 401
    code = a_code(codes_only, official)
    assert post_vote(client, codes_only, {"choices": [b], "code": code}).status_code == 201
    assert not Ballot.objects.filter(poll=accounts_only).exists()
    assert Ballot.objects.filter(poll=codes_only).count() == 1
    assert EventCode.objects.filter(poll=accounts_only).count() == 0


def test_the_ballot_mode_is_one_of_three_in_the_database():
    poll = make_poll()
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.filter(pk=poll.pk).update(ballot_mode="everyone")


@pytest.mark.django_db(transaction=True)
def test_existing_polls_with_codes_keep_taking_both_after_the_migration():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("polls", "0003_dashboard_indexes")], [("polls", "0004_ballot_mode")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        OldPoll, OldCode = old.get_model("polls", "Poll"), old.get_model("polls", "EventCode")
        texts = {f"title_{lang}": "Q" for lang in ("kk", "ru", "en")}
        festival, plain = OldPoll.objects.create(**texts), OldPoll.objects.create(**texts)
        OldCode.objects.create(poll=festival, code="ABCDEFGHJK")
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        # The model as it is right after the migration (later migrations add columns).
        NewPoll = executor.loader.project_state(after).apps.get_model("polls", "Poll")
        assert NewPoll.objects.get(pk=festival.pk).ballot_mode == "both"
        assert NewPoll.objects.get(pk=plain.pk).ballot_mode == "accounts"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_page_offers_the_code_field_only_where_codes_are_taken(client):
    accounts_only = make_poll()
    both = make_poll(ballot_mode="both")
    assert 'name="code"' not in client.get(f"/en/polls/{accounts_only.pk}/").content.decode()
    assert 'name="code"' in client.get(f"/en/polls/{both.pk}/").content.decode()


# --- Code guessing -----------------------------------------------------------------------------


@pytest.fixture
def three_failures(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "ballot_code_failures": 3}
    settings.BALLOT_CODE_FAILURES_WINDOW = 300


def test_finding_code_guessing_throttled_429(three_failures):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    other = make_poll(official=official, ballot_mode="both")
    a = choice_ids(poll)[0]
    good = a_code(poll, official)
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    for guess in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"):
        assert post_vote(guesser, poll, {"choices": [a], "code": guess}).status_code == 403
    response = post_vote(guesser, poll, {"choices": [a], "code": "DDDDDDDDDD"})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 300
    # Past the limit even a valid code is refused from there: guessing learns nothing.
    response = post_vote(guesser, poll, {"choices": [a], "code": good})
    assert response.status_code == 429
    page = guesser.post(f"/ru/polls/{poll.pk}/", {"choice": [a], "code": good})
    assert page.status_code == 429 and page["Retry-After"]
    assert "Слишком много неверных кодов" in page.content.decode()
    assert EventCode.objects.get(code=good).used_at is None
    # Per address and per poll: another address, or another poll, is not held back.
    wrong_elsewhere = {"choices": choice_ids(other)[:1], "code": "EEEEEEEEEE"}
    assert post_vote(guesser, other, wrong_elsewhere).status_code == 403
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert post_vote(elsewhere, poll, {"choices": [a], "code": good}).status_code == 201


@pytest.mark.redis
def test_code_failures_are_counted_in_redis_for_every_worker(three_failures, settings):
    import redis

    poll = make_poll(ballot_mode="both")
    a = choice_ids(poll)[0]
    guesser = Client(REMOTE_ADDR="203.0.113.8")
    for guess in ("AAAAAAAAAA", "BBBBBBBBBB"):
        assert post_vote(guesser, poll, {"choices": [a], "code": guess}).status_code == 403
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(
            client.scan_iter(
                match=f"{settings.CACHE_KEY_PREFIX}:*ballot_code_failures*203.0.113.8*"
            )
        )
        assert len(keys) == 1 and int(client.get(keys[0])) == 2
        client.incr(keys[0])  # a wrong code sent to another worker
    finally:
        client.close()
    assert post_vote(guesser, poll, {"choices": [a], "code": "CCCCCCCCCC"}).status_code == 429


def test_ipv6_guessers_count_per_64_block(three_failures):
    poll = make_poll(ballot_mode="both")
    a = choice_ids(poll)[0]
    for i in range(3):
        guesser = Client(REMOTE_ADDR=f"2001:db8:1:2::{i + 1}")
        assert post_vote(guesser, poll, {"choices": [a], "code": "AAAAAAAAAA"}).status_code == 403
    rotated = Client(REMOTE_ADDR="2001:db8:1:2:ffff::99")
    assert post_vote(rotated, poll, {"choices": [a], "code": "AAAAAAAAAA"}).status_code == 429


def test_finding_other_poll_code_same_answer_as_invalid():
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    other = make_poll(official=official, ballot_mode="both")
    foreign = a_code(other, official)
    a = choice_ids(poll)[0]

    def attempt(code):
        guest = Client(REMOTE_ADDR="192.0.2.10")
        with CaptureQueriesContext(connection) as queries:
            response = post_vote(guest, poll, {"choices": [a], "code": code})
        shapes = [re.sub(r"'[^']*'|\b\d+\b", "?", q["sql"]) for q in queries.captured_queries]
        return response.status_code, response.content, shapes

    attempt("YYYYYYYYYY")  # the poll's fixed rules are now in this process's memory
    invalid = attempt("ZZZZZZZZZZ")
    other_poll = attempt(foreign)
    assert other_poll[0] == invalid[0] == 403
    assert other_poll[1] == invalid[1]  # the same body, byte for byte
    assert json.loads(invalid[1])["code"] == "bad_code"
    # The same work on the way: the same queries, so no visibly different timing either.
    assert other_poll[2] == invalid[2]
    assert EventCode.objects.get(code=foreign).used_at is None


# --- Rules frozen past draft, admin included ---------------------------------------------------


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True, roles=[Role.OFFICIAL])


def _admin_form(poll, **overrides):
    data = {
        "title_kk": poll.title_kk,
        "title_ru": poll.title_ru,
        "title_en": poll.title_en,
        "description_kk": "",
        "description_ru": "",
        "description_en": "",
        "kind": poll.kind,
        "max_choices": str(poll.max_choices),
        "district": "",
        "opens_at_0": poll.opens_at.strftime("%Y-%m-%d") if poll.opens_at else "",
        "opens_at_1": poll.opens_at.strftime("%H:%M:%S") if poll.opens_at else "",
        "closes_at_0": poll.closes_at.strftime("%Y-%m-%d") if poll.closes_at else "",
        "closes_at_1": poll.closes_at.strftime("%H:%M:%S") if poll.closes_at else "",
        "results_visibility": poll.results_visibility,
        "ballot_mode": poll.ballot_mode,
        "eligibility": poll.eligibility,
        "choices-TOTAL_FORMS": str(poll.choices.count() + 1),
        "choices-INITIAL_FORMS": str(poll.choices.count()),
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, choice in enumerate(poll.choices.all()):
        data.update(
            {
                f"choices-{i}-id": str(choice.pk),
                f"choices-{i}-poll": str(poll.pk),
                f"choices-{i}-position": str(choice.position),
                f"choices-{i}-label_kk": choice.label_kk,
                f"choices-{i}-label_ru": choice.label_ru,
                f"choices-{i}-label_en": choice.label_en,
            }
        )
    n = poll.choices.count()
    data.update(
        {
            f"choices-{n}-poll": str(poll.pk),
            f"choices-{n}-position": str(n),
            f"choices-{n}-label_kk": "Жаңа",
            f"choices-{n}-label_ru": "Новый",
            f"choices-{n}-label_en": "New",
        }
    )
    data.update(overrides)
    return data


def test_finding_admin_cannot_edit_open_poll(client, superuser):
    poll = make_poll()
    a = choice_ids(poll)[0]
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory())
    client.force_login(superuser)
    url = f"/admin/polls/poll/{poll.pk}/change/"

    page = client.get(url).content.decode()
    assert 'name="secret_ballot"' not in page and 'name="title_en"' not in page
    assert 'name="choices-0-label_en"' not in page  # the choices are shown, not editable

    response = client.post(url, _admin_form(poll, secret_ballot="on"))
    assert response.status_code == 403
    poll.refresh_from_db()
    assert poll.secret_ballot is False
    assert poll.choices.count() == 3
    assert tallies_verify(poll_id=poll.pk) == []
    # The service itself refuses, whoever calls it.
    data = PollInput("a", "b", "c", [ChoiceInput("x", "y", "z")] * 4, secret_ballot=True)
    with pytest.raises(PollNotDraft):
        poll_update(actor=superuser, poll_id=poll.pk, data=data)
    poll_close(actor=superuser, poll_id=poll.pk)
    assert client.post(url, _admin_form(poll, secret_ballot="on")).status_code == 403
    poll.refresh_from_db()
    assert poll.secret_ballot is False and poll.choices.count() == 3


def test_the_admin_edits_a_draft_through_the_service(client, superuser):
    poll = make_poll(open_now=False)
    client.force_login(superuser)
    response = client.post(
        f"/admin/polls/poll/{poll.pk}/change/", _admin_form(poll, secret_ballot="on")
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    poll.refresh_from_db()
    assert poll.secret_ballot is True
    assert [c.label_en for c in poll.choices.all()] == ["Choice 1", "Choice 2", "Choice 3", "New"]
    # Every choice has its counter rows, so the poll can be opened and voted on at once.
    new = poll.choices.get(label_en="New")
    assert ChoiceTally.objects.filter(choice=new).exists()
    # A bad edit is refused by the service and changes nothing.
    response = client.post(
        f"/admin/polls/poll/{poll.pk}/change/",
        _admin_form(poll, kind="multiple", max_choices="9"),
    )
    assert response.status_code == 302
    poll.refresh_from_db()
    assert poll.kind == "single" and poll.choices.count() == 4


def test_admin_actions_open_and_close_through_the_services(client, superuser):
    draft = make_poll(open_now=False)
    client.force_login(superuser)
    client.post(
        "/admin/polls/poll/",
        {"action": "open_polls", "_selected_action": [str(draft.pk)]},
    )
    draft.refresh_from_db()
    assert draft.status == Poll.Status.OPEN and draft.opened_at is not None
    client.post(
        "/admin/polls/poll/",
        {"action": "delete_drafts", "_selected_action": [str(draft.pk)]},
    )
    assert Poll.objects.filter(pk=draft.pk).exists()  # an open poll is never deleted


def test_the_admin_revokes_codes_through_the_service_and_edits_none(client, superuser):
    poll = make_poll(official=superuser, ballot_mode="both")
    used, unused = event_codes_generate(actor=superuser, poll_id=poll.pk, count=2)
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], code=used.code)
    client.force_login(superuser)
    response = client.post(
        f"/admin/polls/eventcode/{unused.pk}/change/", {"code": "MINE234567", "poll": poll.pk}
    )
    assert response.status_code == 403
    assert client.get("/admin/polls/eventcode/add/").status_code == 403
    client.post(
        "/admin/polls/eventcode/",
        {"action": "revoke_codes", "_selected_action": [str(used.pk), str(unused.pk)]},
    )
    used.refresh_from_db()
    unused.refresh_from_db()
    assert unused.code != "MINE234567" and unused.revoked_at is not None
    assert used.revoked_at is None  # a used code stays as it was


# --- The counters follow the ballots outside the vote's transaction ------------------------------


def test_a_vote_for_a_choice_without_counter_rows_is_still_counted(citizen):
    poll = make_poll(kind="multiple", max_choices=2)
    a = choice_ids(poll)[0]
    # A choice added behind the services' back (as the admin could): no counter rows.
    sneaked = Choice.objects.create(poll=poll, label_kk="x", label_ru="x", label_en="x")
    _meta_cache.clear()
    vote_cast(poll_id=poll.pk, choice_ids=[a, sneaked.pk], user=citizen)
    live = poll_counts(Poll.objects.get(pk=poll.pk))
    assert live["total_votes"] == 1
    assert {c["id"]: c["votes"] for c in live["choices"]}[sneaked.pk] == 1
    # The fold (on SQLite, the vote itself) creates the missing counter, and the counters
    # agree with the ballots.
    tallies_fold(poll_ids=[poll.pk])
    assert ChoiceTally.objects.get(choice=sneaked).votes == 1
    assert tallies_verify(poll_id=poll.pk) == []


def test_votes_wait_as_pending_rows_until_the_fold(citizen):
    from polls.models import BallotTally, PendingTally

    poll = make_poll(kind="multiple", max_choices=2)
    a, b = choice_ids(poll)[:2]
    vote_cast(poll_id=poll.pk, choice_ids=[a, b], user=citizen)
    if connection.vendor == "postgresql":
        # The vote locked no counter: its +1s wait beside the ballot...
        assert PendingTally.objects.filter(poll=poll).count() == 3
        assert sum(ChoiceTally.objects.filter(poll=poll).values_list("votes", flat=True)) == 0
    else:
        # ...except on SQLite, one writer at a time, where the vote folds them itself.
        assert not PendingTally.objects.filter(poll=poll).exists()
    # ...and the live totals count them either way.
    assert counts(poll) == (1, [1, 1, 0])
    tallies_fold()
    assert not PendingTally.objects.filter(poll=poll).exists()
    assert BallotTally.objects.get(poll=poll).ballots == 1
    assert counts(poll) == (1, [1, 1, 0])
    assert tallies_verify(poll_id=poll.pk) == []


def test_a_changed_vote_moves_the_counters_down_and_up(citizen):
    poll = make_poll(allow_vote_change=True)
    a, b = choice_ids(poll)[:2]
    vote_cast(poll_id=poll.pk, choice_ids=[a], user=citizen)
    tallies_fold()
    vote_cast(poll_id=poll.pk, choice_ids=[b], user=citizen)
    assert counts(poll) == (1, [0, 1, 0])
    tallies_fold()
    assert {t.choice_id: t.votes for t in ChoiceTally.objects.filter(poll=poll)}[a] == 0
    assert counts(poll) == (1, [0, 1, 0])
    assert tallies_verify(poll_id=poll.pk) == []


# --- One results-visibility rule ---------------------------------------------------------------


def test_finding_results_visibility_one_rule(citizen):
    from dashboard.selectors import for_moderators, poll_summary

    official = OfficialFactory()
    seen = []
    for visibility in Poll.Visibility.values:
        for close in (False, True):
            poll = make_poll(official=official, results_visibility=visibility)
            vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
            if close:
                poll_close(actor=official, poll_id=poll.pk)
            poll = Poll.objects.get(pk=poll.pk)
            public, officials = (
                results_visible(poll, official=False),
                results_visible(poll, official=True),
            )
            seen.append((visibility, close, public, officials))
            # Pages, the API and the socket's snapshot.
            assert poll_results_for(poll, citizen, seq=1)["results_visible"] is public
            assert poll_results_for(poll, None, seq=1)["results_visible"] is public
            assert poll_results_for(poll, official, seq=1)["results_visible"] is officials
            # The socket's pushes, per audience.
            (_, to_public), (_, to_officials) = compute_results_push(poll.pk, 1)
            assert to_public["results_visible"] is public
            assert to_officials["results_visible"] is officials
            # The dashboard: officials, and moderators (who see what the public sees).
            summary = poll_summary(poll)
            assert summary["results_visible"] is officials
            moderators = for_moderators({"polls": [summary]})["polls"][0]
            assert moderators["results_visible"] is public
    assert seen == [
        ("live", False, True, True),
        ("live", True, True, True),
        ("officials", False, False, True),
        ("officials", True, True, True),
        ("hidden", False, False, False),
        ("hidden", True, True, True),
    ]
    # And the rule is written once: no other module decides on results_visibility.
    root = Path(__file__).resolve().parents[2]
    deciding = re.compile(r"results_visibility\s*(==|!=|in\b)|Visibility\.(LIVE|OFFICIALS)\b")
    copies = [
        f"{path.relative_to(root)}: {line.strip()}"
        for app in ("polls", "dashboard", "civic", "communities", "dialogue", "accounts", "audit")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        and path.relative_to(root).as_posix() not in ("polls/permissions.py", "polls/models.py")
        for line in path.read_text().splitlines()
        if deciding.search(line) and "results_visibility: str =" not in line  # a field default
    ]
    assert copies == []
