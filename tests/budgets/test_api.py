"""The People's Budget API: shapes, status codes, and bad input that changes nothing."""

from __future__ import annotations

import json

import pytest

from budgets.models import BudgetBallot, BudgetBallotProject, BudgetProject, BudgetRound
from budgets.services import ballot_cast, round_close
from tests.factories import UserFactory, district

from .conftest import make_round, project_ids

pytestmark = pytest.mark.django_db


def post(client, url, payload):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(url, body, content_type="application/json")


def patch(client, url, payload):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.patch(url, body, content_type="application/json")


def _rows():
    return (
        BudgetRound.objects.count(),
        BudgetProject.objects.count(),
        BudgetBallot.objects.count(),
        BudgetBallotProject.objects.count(),
    )


def test_list_and_detail_shapes(client, open_round, budget_official):
    make_round(official=budget_official)  # a draft: not listed for the public
    listed = client.get("/api/v1/budgets").json()
    assert [r["id"] for r in listed] == [open_round.pk]
    assert set(listed[0]) >= {
        "id",
        "title",
        "district",
        "total_budget",
        "status",
        "rule",
        "opens_at",
        "closes_at",
    }
    assert listed[0]["total_budget"] == 10_000_000 and listed[0]["district"] is None
    detail = client.get(f"/api/v1/budgets/{open_round.pk}", HTTP_ACCEPT_LANGUAGE="ru").json()
    assert detail["title"] == "Народный бюджет Алматы"
    assert (detail["min_projects"], detail["max_projects"]) == (1, 5)
    assert [p["cost"] for p in detail["projects"]] == [4_000_000, 3_000_000, 5_000_000]
    assert set(detail["projects"][0]) >= {"id", "title", "cost", "initiative"}
    assert detail["projects"][0]["initiative"] is None


def test_drafts_are_for_officials_and_bad_ids_404(client, budget_round, budget_official):
    assert client.get(f"/api/v1/budgets/{budget_round.pk}").status_code == 404
    for bad in (0, -1, 2**63, 10**30):
        assert client.get(f"/api/v1/budgets/{bad}").status_code in (404, 422)
    assert client.get("/api/v1/budgets/abc").status_code == 422
    client.force_login(budget_official)
    assert client.get(f"/api/v1/budgets/{budget_round.pk}").json()["status"] == "draft"


def test_ballot_201_then_409(client, open_round, citizen):
    a, b, c = project_ids(open_round)
    url = f"/api/v1/budgets/{open_round.pk}/ballots"
    assert post(client, url, {"projects": [a]}).status_code == 401
    client.force_login(citizen)
    response = post(client, url, {"projects": [a, c]})
    assert response.status_code == 201
    assert response.json() == {
        "round": open_round.pk,
        "status": "recorded",
        "projects": [a, c],
        "spent": 9_000_000,
        "secret": False,
    }
    response = post(client, url, {"projects": [b]})
    assert response.status_code == 409 and response.json()["code"] == "already_voted"
    assert BudgetBallot.objects.count() == 1


@pytest.mark.parametrize(
    "payload, code",
    [
        ("over", "over_budget"),
        ({"projects": []}, "too_few"),
        ("dup", "duplicate_project"),
        ({"projects": [2**63]}, "unknown_project"),
        ({"projects": [2**64 + 5]}, "unknown_project"),
        ({"projects": [0]}, "unknown_project"),
        ("other", "unknown_project"),
        ({"projects": ["1"]}, None),
        ({"projects": [True]}, None),
        ({"projects": [1.5]}, None),
        ({"projects": "1"}, None),
        ({"projects": None}, None),
        ({}, None),
        ({"projects": [1], "extra": 1}, None),
        ("[1, 2]", None),
        ("{not json", None),
        ({"projects": list(range(1, 400))}, None),
    ],
)
def test_bad_ballots_are_422_json_and_change_nothing(
    client, open_round, budget_official, citizen, payload, code
):
    ids = project_ids(open_round)
    other = make_round(official=budget_official, projects=[100], open_now=True)
    if payload == "over":
        payload = {"projects": ids}
    elif payload == "dup":
        payload = {"projects": [ids[0], ids[0]]}
    elif payload == "other":
        payload = {"projects": [ids[0], project_ids(other)[0]]}
    client.force_login(citizen)
    before = _rows()
    response = post(client, f"/api/v1/budgets/{open_round.pk}/ballots", payload)
    assert response.status_code in (400, 422), response.content
    body = response.json()
    assert "detail" in body
    if code is not None:
        assert response.status_code == 422 and body["code"] == code
    assert _rows() == before


def test_over_budget_answer(client, budget_official, citizen):
    budget_round = make_round(official=budget_official, projects=[7_000_000, 4_000_000])
    from budgets.services import round_open

    round_open(actor=budget_official, round_id=budget_round.pk)
    client.force_login(citizen)
    response = post(
        client,
        f"/api/v1/budgets/{budget_round.pk}/ballots",
        {"projects": project_ids(budget_round)},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "over_budget"
    assert (body["spent"], body["total_budget"]) == (11_000_000, 10_000_000)
    assert "11\u00a0000\u00a0000" in body["detail"] and "10\u00a0000\u00a0000" in body["detail"]


def test_closed_403_and_not_eligible_403(client, open_round, budget_official, citizen):
    medeu = district("medeu")
    residents_only = make_round(
        official=budget_official, district_id=medeu.pk, projects=[100], open_now=True
    )
    client.force_login(citizen)
    response = post(
        client,
        f"/api/v1/budgets/{residents_only.pk}/ballots",
        {"projects": project_ids(residents_only)},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "verification_required"
    assert response.json()["verify_url"]
    round_close(actor=budget_official, round_id=open_round.pk)
    response = post(
        client,
        f"/api/v1/budgets/{open_round.pk}/ballots",
        {"projects": project_ids(open_round)[:1]},
    )
    assert response.status_code == 403 and response.json()["code"] == "round_closed"


def test_results_shape_and_visibility(client, budget_official, django_capture_on_commit_callbacks):
    budget_round = make_round(
        official=budget_official,
        projects=[4_000_000, 3_000_000, 5_000_000],
        results_visibility="hidden",
        open_now=True,
    )
    a, b, c = project_ids(budget_round)
    for picks in ([a, b], [a], [c], [a, c]):
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=picks)
    url = f"/api/v1/budgets/{budget_round.pk}/results"
    body = client.get(url).json()
    assert body["status"] == "open" and body["ballots"] == 4
    assert body["results_visible"] is False
    assert [p["votes"] for p in body["projects"]] == [None, None, None]
    client.force_login(budget_official)  # hidden: not even for officials until close
    assert client.get(url).json()["projects"][0]["votes"] is None
    with django_capture_on_commit_callbacks(execute=True):
        round_close(actor=budget_official, round_id=budget_round.pk)
    client.logout()
    body = client.get(url).json()
    assert set(body) >= {
        "status",
        "rule",
        "total_budget",
        "spent",
        "ballots",
        "funded",
        "projects",
        "alternative",
    }
    assert body["rule"] == "greedy" and body["total_budget"] == 10_000_000
    # Greedy: a (3 votes, 4 M), c (2 votes, 5 M) → 9 M; b (1 vote, 3 M) does not fit.
    assert body["funded"] == [a, c] and body["spent"] == 9_000_000
    by_id = {p["id"]: p for p in body["projects"]}
    assert by_id[a] == {
        "id": a,
        "cost": 4_000_000,
        "votes": 3,
        "funded": True,
        "reason": "funded",
    }
    assert by_id[b]["reason"] == "not_funded_no_room" and by_id[b]["funded"] is False
    assert body["alternative"]["rule"] == "equal_shares"
    assert isinstance(body["alternative"]["funded"], list)


def test_live_results_show_votes(client, open_round, citizen):
    a = project_ids(open_round)[0]
    ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=[a])
    body = client.get(f"/api/v1/budgets/{open_round.pk}/results").json()
    assert body["results_visible"] is True
    assert body["projects"][0] == {
        "id": a,
        "cost": 4_000_000,
        "votes": 1,
        "funded": False,
        "reason": None,
    }


# --- Officials --------------------------------------------------------------------------------


ROUND = {
    "title_kk": "Халық бюджеті 2027",
    "title_ru": "Народный бюджет 2027",
    "title_en": "Almaty People's Budget 2027",
    "total_budget": 2_000_000_000,
    "min_projects": 1,
    "max_projects": 3,
    "rule": "equal_shares",
    "opens_at": "2026-01-01T09:00:00+05:00",
    "closes_at": "2099-01-01T09:00:00+05:00",
}


def test_an_official_runs_a_round_through_the_api(client, budget_official, citizen):
    client.force_login(citizen)
    assert post(client, "/api/v1/budgets", ROUND).status_code == 403
    client.force_login(budget_official)
    response = post(client, "/api/v1/budgets", ROUND)
    assert response.status_code == 201, response.content
    round_id = response.json()["id"]
    assert response.json()["status"] == "draft" and response.json()["rule"] == "equal_shares"
    response = patch(client, f"/api/v1/budgets/{round_id}", {"max_projects": 2})
    assert response.status_code == 200 and response.json()["max_projects"] == 2
    url = f"/api/v1/budgets/{round_id}/projects"
    first = post(
        client, url, {"title_kk": "Саябақ", "title_ru": "Парк", "title_en": "Park", "cost": 10**8}
    )
    assert first.status_code == 201, first.content
    second = post(
        client, url, {"title_kk": "Жол", "title_ru": "Дорожка", "title_en": "Path", "cost": 10**6}
    )
    assert second.status_code == 201
    project_id = second.json()["id"]
    response = patch(client, f"{url}/{project_id}", {"cost": 2 * 10**6})
    assert response.status_code == 200 and response.json()["cost"] == 2 * 10**6
    assert client.delete(f"{url}/{project_id}").status_code == 204
    assert client.delete(f"{url}/{project_id}").status_code == 404
    response = post(client, f"/api/v1/budgets/{round_id}/open", {})
    assert response.status_code == 200 and response.json()["status"] == "open"
    # Open: no more edits, a clear 409, nothing changed.
    response = patch(client, f"/api/v1/budgets/{round_id}", {"title_en": "Changed"})
    assert response.status_code == 409 and response.json()["code"] == "round_not_draft"
    response = post(client, url, {"title_kk": "x", "title_ru": "x", "title_en": "x", "cost": 5})
    assert response.status_code == 409
    response = client.delete(f"{url}/{first.json()['id']}")
    assert response.status_code == 409
    assert BudgetProject.objects.filter(round_id=round_id).count() == 1
    response = post(client, f"/api/v1/budgets/{round_id}/close", {})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert post(client, f"/api/v1/budgets/{round_id}/close", {}).status_code == 409


@pytest.mark.parametrize(
    "changes, status",
    [
        ({"total_budget": 0}, 400),
        ({"total_budget": -1}, 400),
        ({"total_budget": 10**15}, 400),
        ({"total_budget": 2**64}, 400),
        ({"total_budget": "1000"}, 422),
        ({"total_budget": 1.5}, 422),
        ({"min_projects": 4, "max_projects": 3}, 400),
        ({"rule": "majority"}, 400),
        ({"district": 2**63}, 422),
        ({"district": 999999}, 400),
        ({"eligibility": "district"}, 400),
        ({"closes_at": "2025-01-01T00:00:00+05:00"}, 400),
        ({"closes_at": "not a date"}, 422),
        ({"secret_ballot": True, "allow_ballot_change": True}, 400),
        ({"title_en": "x" * 201}, 422),
        ({"title_en": "a\x00b"}, 400),
        ({"unknown": 1}, 422),
    ],
)
def test_bad_rounds_are_refused_and_change_nothing(client, budget_official, changes, status):
    client.force_login(budget_official)
    before = _rows()
    response = post(client, "/api/v1/budgets", {**ROUND, **changes})
    assert response.status_code == status, response.content
    assert "detail" in response.json()
    assert _rows() == before


@pytest.mark.parametrize(
    "project, status, code",
    [
        ({"cost": 0}, 400, "bad_cost"),
        ({"cost": -5}, 400, "bad_cost"),
        ({"cost": 10_000_001}, 400, "cost_above_total"),
        ({"cost": 2**63}, 400, "bad_cost"),
        ({"cost": None}, 400, "bad_cost"),
        ({"cost": "5"}, 422, None),
        ({"initiative": 2**63}, 422, None),
        ({"initiative": 999999}, 404, None),
    ],
)
def test_bad_projects_are_refused(client, budget_round, budget_official, project, status, code):
    client.force_login(budget_official)
    before = _rows()
    payload = {"title_kk": "x", "title_ru": "x", "title_en": "x", "cost": 100, **project}
    response = post(client, f"/api/v1/budgets/{budget_round.pk}/projects", payload)
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    assert _rows() == before


def test_a_project_of_another_round_is_not_found(client, budget_round, budget_official):
    other = make_round(official=budget_official, projects=[100])
    client.force_login(budget_official)
    response = client.delete(f"/api/v1/budgets/{budget_round.pk}/projects/{project_ids(other)[0]}")
    assert response.status_code == 404
    assert other.projects.count() == 1
