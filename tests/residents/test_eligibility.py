"""Who may take part (residents.eligibility): polls, initiative support and Q&A sessions ask
the resident register, never the profile's district; refusals say why and link to verify."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory

from civic.errors import Forbidden, InvalidInput
from civic.views import domain_error_response
from communities.services import support_add, support_remove
from dashboard.selectors import poll_summary
from dialogue.services import question_ask, question_vote
from polls.models import Ballot, Poll
from polls.services import PollInput, event_codes_generate, poll_create, vote_cast
from residents.eligibility import require_eligible
from residents.selectors import register_residents_counts
from residents.services import resident_verify_census
from tests.factories import (
    OfficialFactory,
    UserFactory,
    choice_ids,
    district,
    make_initiative,
    make_poll,
    make_session,
)

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db

# The register of these tests: residents 1-4 of Medeu, 5-6 of Almaly.
REGISTER = [person(n, "medeu") for n in range(1, 5)] + [person(n, "almaly") for n in (5, 6)]


@pytest.fixture
def register(load):
    census = load(register_csv(REGISTER))
    assert census.status == "done", census.message
    return census


def verified(n: int, **user_fields):
    """A citizen verified against the register as its resident number `n`."""
    iin, born, _slug = REGISTER[n - 1]
    user = UserFactory(**user_fields)
    resident_verify_census(actor=user, iin=iin, birth_date=born)
    return type(user).objects.get(pk=user.pk)


def post_vote(client, poll, payload):
    return client.post(
        f"/api/v1/polls/{poll.pk}/votes", json.dumps(payload), content_type="application/json"
    )


# --- The must-show: a district poll -------------------------------------------------------------


def test_district_poll_api_403s_then_201_for_the_right_resident(client, register):
    medeu, almaly = district("medeu"), district("almaly")
    poll = make_poll(district_id=medeu.pk)
    assert poll.eligibility == "district"
    a = choice_ids(poll)[0]

    # Not a verified resident (even with Medeu picked in the profile).
    unverified = UserFactory(district=medeu)
    client.force_login(unverified)
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "verification_required"
    assert body["verify_url"] == "/en/residents/"
    assert "Medeu" in body["detail"]
    assert set(body) == {"detail", "code", "verify_url"}

    # A verified resident of Almaly.
    elsewhere = verified(5, district=almaly)
    client.force_login(elsewhere)
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_district"
    assert response.json()["verify_url"] == "/en/residents/"

    # Editing the profile's district changes nothing: the register's district decides.
    elsewhere.district = medeu
    elsewhere.save(update_fields=["district"])
    client.force_login(elsewhere)
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_district"

    # A verified resident of Medeu whose profile says Almaly: the register decides again.
    resident = verified(1, district=almaly)
    client.force_login(resident)
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 201, response.content
    assert list(Ballot.objects.filter(poll=poll).values_list("voter_id", flat=True)) == [
        resident.pk
    ]


def test_district_poll_api_refusal_in_russian(client, register):
    poll = make_poll(district_id=district("medeu").pk)
    client.force_login(UserFactory())
    response = client.post(
        f"/api/v1/polls/{poll.pk}/votes",
        json.dumps({"choices": choice_ids(poll)[:1]}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "verification_required"
    assert body["verify_url"].endswith("/residents/")
    assert body["verify_url"].startswith("/")


def test_district_poll_page_explains_before_voting_and_refuses_a_post(client, register):
    medeu = district("medeu")
    poll = make_poll(district_id=medeu.pk)
    a = choice_ids(poll)[0]
    client.force_login(UserFactory(district=medeu))

    page = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "eligibility-refusal" in page
    assert "verified residents of Medeu" in page
    assert 'href="/en/residents/"' in page
    assert "Verify your residence" in page
    assert 'class="vote-form"' not in page  # no form that can only fail

    response = client.post(f"/en/polls/{poll.pk}/", {"choice": [a]})
    assert response.status_code == 403
    assert 'href="/en/residents/"' in response.content.decode()
    assert not Ballot.objects.exists()

    client.force_login(verified(6))  # Almaly
    response = client.post(f"/en/polls/{poll.pk}/", {"choice": [a]})
    assert response.status_code == 403
    assert "only for verified residents of Medeu" in response.content.decode()

    client.force_login(verified(2))  # Medeu
    page = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "eligibility-refusal" not in page
    assert 'class="vote-form"' in page
    response = client.post(f"/en/polls/{poll.pk}/", {"choice": [a]})
    assert response.status_code == 302
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_the_page_explains_in_the_users_language(client, register):
    poll = make_poll(district_id=district("medeu").pk)
    client.force_login(UserFactory())
    english = client.get(f"/en/polls/{poll.pk}/").content.decode()
    russian = client.get(f"/ru/polls/{poll.pk}/").content.decode()
    assert 'href="/ru/residents/"' in russian
    assert "eligibility-refusal" in russian
    # The district is named in the page's language.
    assert district("medeu").name_ru in russian
    assert english != russian


def test_a_stale_resident_must_verify_again(load, register):
    poll = make_poll(district_id=district("medeu").pk)
    moved = verified(3)
    stays = verified(4)
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=stays)
    # A new register without resident 3: their verification goes stale.
    census = load(register_csv([r for r in REGISTER if r != REGISTER[2]]))
    assert census.status == "done"
    with pytest.raises(Forbidden) as exc:
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=moved)
    assert exc.value.code == "verification_required"
    assert exc.value.extra == {"verify_url": "/en/residents/"}
    # Ballots already cast stay.
    assert Ballot.objects.filter(poll=poll, voter=stays).exists()


def test_ballot_codes_skip_eligibility(client, register):
    official = OfficialFactory()
    poll = make_poll(official=official, district_id=district("medeu").pk, ballot_mode="both")
    codes = event_codes_generate(actor=official, poll_id=poll.pk, count=2)
    a = choice_ids(poll)[0]
    # A guest without an account.
    response = post_vote(client, poll, {"choices": [a], "code": codes[0].code})
    assert response.status_code == 201, response.content
    # A signed-in citizen who is no resident: the code's ballot, as before.
    client.force_login(UserFactory())
    assert post_vote(client, poll, {"choices": [a]}).json()["code"] == "verification_required"
    response = post_vote(client, poll, {"choices": [a], "code": codes[1].code})
    assert response.status_code == 201, response.content
    assert Ballot.objects.filter(poll=poll).count() == 2


def test_a_refused_citizen_sees_the_code_field_where_codes_are_taken(client, register):
    official = OfficialFactory()
    poll = make_poll(official=official, district_id=district("medeu").pk, ballot_mode="both")
    client.force_login(UserFactory())
    page = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "eligibility-refusal" in page
    assert 'name="code"' in page


def test_city_eligibility(client, register):
    poll = make_poll(eligibility="city")
    a = choice_ids(poll)[0]
    client.force_login(UserFactory())
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 403
    assert response.json()["code"] == "verification_required"
    assert response.json()["verify_url"] == "/en/residents/"
    for n in (1, 5):  # Medeu and Almaly alike
        client.force_login(verified(n))
        assert post_vote(client, poll, {"choices": [a]}).status_code == 201
    assert Ballot.objects.filter(poll=poll).count() == 2


def test_email_eligibility_is_todays_rule(client):
    poll = make_poll(eligibility="email")
    client.force_login(UserFactory())
    assert post_vote(client, poll, {"choices": choice_ids(poll)[:1]}).status_code == 201


def test_unverified_email_still_comes_first():
    with pytest.raises(Forbidden) as exc:
        require_eligible(UserFactory(verified=False), eligibility="city", district_id=None)
    assert exc.value.code == "email_unverified"


# --- Polls: defaults, validation, the database's constraint, the migration -----------------------


def _input(**fields):
    from polls.services import ChoiceInput

    return PollInput(
        title_kk="С",
        title_ru="В",
        title_en="Q",
        choices=[ChoiceInput("a", "a", "a"), ChoiceInput("b", "b", "b")],
        **fields,
    )


def test_new_polls_default_to_verified_residents():
    official = OfficialFactory()
    assert poll_create(actor=official, data=_input()).eligibility == "city"
    medeu = district("medeu")
    assert poll_create(actor=official, data=_input(district_id=medeu.pk)).eligibility == (
        "district"
    )
    assert poll_create(actor=official, data=_input(eligibility="email")).eligibility == "email"
    with pytest.raises(InvalidInput) as exc:
        poll_create(actor=official, data=_input(eligibility="district"))
    assert exc.value.code == "district_required"
    with pytest.raises(InvalidInput):
        poll_create(actor=official, data=_input(eligibility="email", district_id=medeu.pk))
    with pytest.raises(InvalidInput):
        poll_create(actor=official, data=_input(eligibility="everyone"))


def test_the_database_keeps_district_iff_district_eligibility():
    poll = make_poll(eligibility="city")
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.filter(pk=poll.pk).update(eligibility="district")
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.filter(pk=poll.pk).update(district=district("medeu"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Poll.objects.filter(pk=poll.pk).update(eligibility="anyone")


def test_the_api_shows_eligibility(client):
    poll = make_poll(district_id=district("medeu").pk)
    assert client.get(f"/api/v1/polls/{poll.pk}").json()["eligibility"] == "district"
    listed = client.get("/api/v1/polls").json()
    assert listed[0]["eligibility"] == "district"


def test_the_officials_form_sets_eligibility(client):
    official = OfficialFactory()
    client.force_login(official)
    data = {
        "title": "В",
        "original_language": "ru",
        "title_kk": "С",
        "title_en": "Q",
        "kind": "single",
        "max_choices": "1",
        "district": str(district("medeu").pk),
        "eligibility": "city",  # with a district: that district's residents
        "opens_at": "2030-01-01T10:00",
        "closes_at": "2030-01-02T10:00",
        "results_visibility": "live",
        "ballot_mode": "accounts",
        "choices-TOTAL_FORMS": "2",
        "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "30",
        "choices-0-label_kk": "a",
        "choices-0-label_ru": "a",
        "choices-0-label_en": "a",
        "choices-1-label_kk": "b",
        "choices-1-label_ru": "b",
        "choices-1-label_en": "b",
    }
    response = client.post("/en/polls/manage/new/", data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    poll = Poll.objects.get()
    assert (poll.eligibility, poll.district_id) == ("district", district("medeu").pk)
    data.update(district="", eligibility="email")
    assert client.post("/en/polls/manage/new/", data).status_code == 302
    assert Poll.objects.order_by("-pk").first().eligibility == "email"


@pytest.mark.django_db(transaction=True)
def test_existing_polls_keep_the_email_rule_and_district_polls_become_district():
    from django.db.migrations.executor import MigrationExecutor

    before, after = [("polls", "0004_ballot_mode")], [("polls", "0005_poll_eligibility")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        OldPoll = old.get_model("polls", "Poll")
        texts = {f"title_{lang}": "Q" for lang in ("kk", "ru", "en")}
        city = OldPoll.objects.create(**texts)
        local = OldPoll.objects.create(district_id=district("medeu").pk, **texts)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        NewPoll = executor.loader.project_state(after).apps.get_model("polls", "Poll")
        assert NewPoll.objects.get(pk=city.pk).eligibility == "email"
        assert NewPoll.objects.get(pk=local.pk).eligibility == "district"
        # New rows default to verified residents.
        assert NewPoll.objects.create(**texts).eligibility == "city"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- Initiative support --------------------------------------------------------------------------


def test_initiative_support_by_district_residents(client, register):
    medeu = district("medeu")
    initiative = make_initiative(support_eligibility="district", district_id=medeu.pk)
    assert initiative.support_eligibility == "district"

    client.force_login(UserFactory(district=medeu))
    response = client.post(f"/api/v1/initiatives/{initiative.pk}/support")
    assert response.status_code == 403
    assert response.json()["code"] == "verification_required"
    assert response.json()["verify_url"] == "/en/residents/"

    with pytest.raises(Forbidden) as exc:
        support_add(actor=verified(5), initiative_id=initiative.pk)
    assert exc.value.code == "wrong_district"

    resident = verified(1)
    client.force_login(resident)
    response = client.post(f"/api/v1/initiatives/{initiative.pk}/support")
    assert response.status_code == 200, response.content
    assert response.json() == {"supported": True, "supports_count": 1}
    # Taking support back is always allowed.
    assert support_remove(actor=resident, initiative_id=initiative.pk).changed


def test_initiative_support_page_explains(client, register):
    initiative = make_initiative(support_eligibility="city")
    client.force_login(UserFactory())
    page = client.get(f"/en/initiatives/{initiative.pk}/").content.decode()
    assert "eligibility-refusal" in page
    assert 'href="/en/residents/"' in page
    response = client.post(f"/en/initiatives/{initiative.pk}/support/")
    assert response.status_code == 403
    assert 'href="/en/residents/"' in response.content.decode()
    client.force_login(verified(5))
    assert client.post(f"/en/initiatives/{initiative.pk}/support/").status_code == 302


def test_initiative_support_stays_open_to_citizens_by_default():
    initiative = make_initiative()
    assert initiative.support_eligibility == "email"
    assert support_add(actor=UserFactory(), initiative_id=initiative.pk).changed


def test_district_support_needs_the_initiative_district():
    with pytest.raises(InvalidInput) as exc:
        make_initiative(support_eligibility="district")
    assert exc.value.code == "district_required"


# --- Q&A sessions --------------------------------------------------------------------------------


def test_session_asking_and_upvoting_by_residents(client, register):
    medeu = district("medeu")
    session = make_session(eligibility="district", district_id=medeu.pk)
    outsider = UserFactory(district=medeu)
    with pytest.raises(Forbidden) as exc:
        question_ask(actor=outsider, session_id=session.pk, text="Where is the bus?")
    assert exc.value.code == "verification_required"

    client.force_login(verified(6))  # Almaly
    response = client.post(
        f"/api/v1/dialogue/sessions/{session.pk}/questions",
        json.dumps({"text": "Where is the bus?"}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_district"
    assert response.json()["verify_url"] == "/en/residents/"

    asker = verified(1)
    question = question_ask(actor=asker, session_id=session.pk, text="Where is the bus?")
    with pytest.raises(Forbidden) as exc:
        question_vote(actor=outsider, question_id=question.pk)
    assert exc.value.code == "verification_required"
    assert question_vote(actor=verified(2), question_id=question.pk).upvotes_count == 1


def test_session_page_explains(client, register):
    session = make_session(eligibility="city")
    client.force_login(UserFactory())
    page = client.get(f"/en/dialogue/sessions/{session.pk}/").content.decode()
    assert "eligibility-refusal" in page
    assert 'href="/en/residents/"' in page
    assert 'class="ask-form"' not in page


def test_sessions_stay_open_to_citizens_by_default():
    session = make_session()
    assert session.eligibility == "email"
    assert question_ask(actor=UserFactory(), session_id=session.pk, text="Hello?").pk


# --- Dashboard turnout ---------------------------------------------------------------------------


def test_turnout_of_a_resident_poll_counts_against_the_register(register):
    medeu = district("medeu")
    local = make_poll(district_id=medeu.pk)
    city = make_poll(eligibility="city")
    email = make_poll(eligibility="email")
    voter = verified(1)
    for poll in (local, city, email):
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=voter)

    summary = poll_summary(local)
    assert (summary["eligible"], summary["eligible_source"]) == (4, "register")
    assert summary["turnout_pct"] == 25.0
    summary = poll_summary(city)
    assert (summary["eligible"], summary["eligible_source"]) == (6, "register")
    assert summary["turnout_pct"] == round(100 / 6, 1)
    summary = poll_summary(email)
    assert summary["eligible_source"] == "accounts"


def test_turnout_without_a_register_falls_back_to_accounts():
    poll = make_poll(eligibility="city")
    assert register_residents_counts() is None
    assert poll_summary(poll)["eligible_source"] == "accounts"


def test_register_counts_are_counted_once_per_import(load, register, django_assert_num_queries):
    assert register_residents_counts()[district("medeu").pk] == 4
    with django_assert_num_queries(1):  # which import is current; the counts are cached
        assert register_residents_counts()["all"] == 6
    load(register_csv(REGISTER[:3]))  # a new import: counted again
    assert register_residents_counts()["all"] == 3


def test_the_dashboard_labels_the_register_denominator(client, register):
    make_poll(district_id=district("medeu").pk)
    client.force_login(OfficialFactory())
    page = client.get("/en/dashboard/").content.decode()
    assert "Residents in the register" in page


# --- The error page ------------------------------------------------------------------------------


def test_the_error_page_shows_the_verify_link():
    with pytest.raises(Forbidden) as exc:
        require_eligible(UserFactory(), eligibility="city", district_id=None)
    request = RequestFactory().get("/en/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = domain_error_response(request, exc.value)
    assert response.status_code == 403
    content = response.content.decode()
    assert "Verify your residence" in content
    assert exc.value.link[0] in content


def test_the_admin_sets_eligibility_and_explains_a_mismatch(client):
    from accounts.models import Role
    from tests.polls.test_ballots import _admin_form

    client.force_login(UserFactory(is_staff=True, is_superuser=True, roles=[Role.OFFICIAL]))
    poll = make_poll(open_now=False)
    medeu = district("medeu")
    url = f"/admin/polls/poll/{poll.pk}/change/"
    response = client.post(
        url,
        _admin_form(poll, district=str(medeu.pk), eligibility="email"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "for the verified residents of that district" in response.content.decode()
    poll.refresh_from_db()
    assert (poll.eligibility, poll.district_id) == ("email", None)
    response = client.post(url, _admin_form(poll, district=str(medeu.pk), eligibility="district"))
    assert response.status_code == 302, response.content.decode()[-2000:]
    poll.refresh_from_db()
    assert (poll.eligibility, poll.district_id) == ("district", medeu.pk)
