"""The polls API: shapes, status codes, and bad input that changes nothing."""

import json

import pytest
from django.test import Client

from polls.models import Ballot, Poll
from polls.services import event_codes_generate, poll_close
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll

pytestmark = pytest.mark.django_db


def post_vote(client, poll, payload, **headers):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        f"/api/v1/polls/{poll.pk}/votes", body, content_type="application/json", **headers
    )


def test_list_and_detail_shapes(client):
    poll = make_poll(kind=Poll.Kind.MULTIPLE, max_choices=2)
    make_poll(open_now=False)  # a draft: not listed for the public
    listed = client.get("/api/v1/polls").json()
    assert [p["id"] for p in listed] == [poll.pk]
    assert set(listed[0]) >= {"id", "title", "kind", "status", "opens_at", "closes_at"}
    detail = client.get(f"/api/v1/polls/{poll.pk}", HTTP_ACCEPT_LANGUAGE="ru").json()
    assert detail["max_choices"] == 2
    assert detail["title"] == "Самые острые проблемы Алматы"
    assert [c["label"] for c in detail["choices"]] == ["Вариант 1", "Вариант 2", "Вариант 3"]
    assert {"id", "label", "label_lang", "translations", "initiative"} == set(detail["choices"][0])
    assert detail["choices"][0]["initiative"] is None


def test_results_have_the_snapshot_shape(client, citizen):
    poll = make_poll()
    a = choice_ids(poll)[0]
    client.force_login(citizen)
    assert post_vote(client, poll, {"choices": [a]}).status_code == 201
    body = client.get(f"/api/v1/polls/{poll.pk}/results").json()
    assert body["type"] == "results.snapshot"
    assert body["poll"] == poll.pk and body["status"] == "open" and body["total_votes"] == 1
    assert body["choices"][0] == {"id": a, "votes": 1}
    assert isinstance(body["seq"], int)


def test_vote_201_then_409(client, citizen):
    poll = make_poll()
    a, b, _ = choice_ids(poll)
    client.force_login(citizen)
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 201
    assert response.json() == {
        "poll": poll.pk,
        "status": "recorded",
        "choices": [a],
        "secret": False,
    }
    response = post_vote(client, poll, {"choices": [b]})
    assert response.status_code == 409
    assert response.json()["code"] == "AlreadyVoted"


def test_idempotency_key_header_replays(client, citizen):
    poll = make_poll()
    a, b, _ = choice_ids(poll)
    client.force_login(citizen)
    first = post_vote(client, poll, {"choices": [a]}, HTTP_IDEMPOTENCY_KEY="abc")
    again = post_vote(client, poll, {"choices": [b]}, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Ballot.objects.count() == 1


def test_anonymous_401_and_unverified_403(client, unverified_user):
    poll = make_poll()
    a = choice_ids(poll)[0]
    assert post_vote(client, poll, {"choices": [a]}).status_code == 401
    client.force_login(unverified_user)
    response = post_vote(client, poll, {"choices": [a]})
    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert not Ballot.objects.exists()


def test_closed_draft_and_missing_polls(client, citizen):
    official = OfficialFactory()
    closed = make_poll(official=official)
    poll_close(actor=official, poll_id=closed.pk)
    draft = make_poll(official=official, open_now=False)
    client.force_login(citizen)
    assert post_vote(client, closed, {"choices": choice_ids(closed)[:1]}).status_code == 403
    assert post_vote(client, draft, {"choices": choice_ids(draft)[:1]}).status_code == 404
    assert (
        client.post(
            "/api/v1/polls/99999999/votes", '{"choices": [1]}', content_type="application/json"
        ).status_code
        == 404
    )
    assert client.get("/api/v1/polls/99999999999999999999").status_code in (404, 422)
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ("{not json", 400),
        ("", 422),
        ({}, 422),
        ({"choices": []}, 400),
        ({"choices": "1"}, 422),
        ({"choices": [0]}, 400),
        ({"choices": [None]}, 422),
        ({"choices": [1], "user": 1}, 422),
        ({"choices": [1], "weight": 100}, 422),
        ({"choices": list(range(1, 200))}, 422),
        ({"choices": [2**63]}, 400),
    ],
)
def test_bad_votes_change_nothing(client, citizen, payload, status):
    poll = make_poll()
    client.force_login(citizen)
    response = post_vote(client, poll, payload)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert not Ballot.objects.exists()


def test_same_choice_twice_too_many_and_foreign(client, citizen):
    poll = make_poll(kind=Poll.Kind.MULTIPLE, max_choices=2)
    other = make_poll()
    a, b, c = choice_ids(poll)
    client.force_login(citizen)
    for payload in (
        {"choices": [a, a]},
        {"choices": [a, b, c]},
        {"choices": [choice_ids(other)[0]]},
    ):
        response = post_vote(client, poll, payload)
        assert response.status_code == 400, payload
    assert not Ballot.objects.exists()


def test_guest_votes_with_event_code(citizen):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
    guest = Client(enforce_csrf_checks=True)
    guest.get(f"/en/polls/{poll.pk}/")
    token = guest.cookies["csrftoken"].value
    a = choice_ids(poll)[0]
    response = post_vote(guest, poll, {"choices": [a], "code": code}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    response = post_vote(guest, poll, {"choices": [a], "code": code}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 409
    assert Ballot.objects.count() == 1


def test_vote_needs_csrf_in_a_browser_session(citizen):
    poll = make_poll()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(citizen)
    response = post_vote(browser, poll, {"choices": choice_ids(poll)[:1]})
    assert response.status_code == 403
    assert not Ballot.objects.exists()


def test_officials_open_and_close_through_the_api(client, citizen):
    official = OfficialFactory()
    poll = make_poll(official=official, open_now=False)
    client.force_login(citizen)
    assert client.post(f"/api/v1/polls/{poll.pk}/open").status_code == 403
    client.force_login(official)
    assert client.post(f"/api/v1/polls/{poll.pk}/open").json()["status"] == "open"
    assert client.post(f"/api/v1/polls/{poll.pk}/open").status_code == 409
    assert client.post(f"/api/v1/polls/{poll.pk}/close").json()["status"] == "closed"
    # Ids past the advisory lock's 32 bits, or past 64, are simply no poll.
    for missing in (2**31, 2**63, 10**20):
        response = client.post(f"/api/v1/polls/{missing}/close")
        assert response.status_code in (404, 422), (missing, response.content)
        assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("visibility", [Poll.Visibility.OFFICIALS, Poll.Visibility.HIDDEN])
def test_results_visibility_in_the_api(client, visibility):
    official = OfficialFactory()
    poll = make_poll(official=official, results_visibility=visibility)
    voter = UserFactory()
    client.force_login(voter)
    post_vote(client, poll, {"choices": choice_ids(poll)[:1]})
    body = client.get(f"/api/v1/polls/{poll.pk}/results").json()
    assert body["results_visible"] is False
    assert body["total_votes"] == 1
    assert all(c["votes"] is None for c in body["choices"])
    client.force_login(official)
    official_view = client.get(f"/api/v1/polls/{poll.pk}/results").json()
    assert official_view["results_visible"] is (visibility == Poll.Visibility.OFFICIALS)
    poll_close(actor=official, poll_id=poll.pk)
    client.force_login(voter)
    after = client.get(f"/api/v1/polls/{poll.pk}/results").json()
    assert after["results_visible"] is True
    assert after["choices"][0]["votes"] == 1
