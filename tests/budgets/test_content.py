"""People's Budget texts in three languages through the API: the original's title is required,
the others optional; the answer is in ?lang= with the language it is really in."""

from __future__ import annotations

import json

import pytest

from budgets.models import BudgetRound

pytestmark = pytest.mark.django_db

ROUND = {
    "total_budget": 2_000_000_000,
    "min_projects": 1,
    "max_projects": 3,
    "opens_at": "2026-01-01T09:00:00+05:00",
    "closes_at": "2099-01-01T09:00:00+05:00",
}


def _post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_a_round_in_russian_only_is_answered_with_its_language(client, budget_official):
    client.force_login(budget_official)
    response = _post(
        client,
        "/api/v1/budgets",
        {**ROUND, "original_language": "ru", "title_ru": "Народный бюджет 2027"},
    )
    assert response.status_code == 201, response.content
    round_id = response.json()["id"]
    project = _post(
        client,
        f"/api/v1/budgets/{round_id}/projects",
        {"title_ru": "Парк", "title_en": "Park", "cost": 10**8},
    )
    assert project.status_code == 201, project.content
    body = client.get(f"/api/v1/budgets/{round_id}?lang=en").json()
    assert (body["title"], body["title_lang"]) == ("Народный бюджет 2027", "ru")
    assert body["translations"]["title"] == {"kk": "", "ru": "Народный бюджет 2027", "en": ""}
    assert (body["projects"][0]["title"], body["projects"][0]["title_lang"]) == ("Park", "en")
    page = client.get(f"/en/budgets/{round_id}/").content.decode()
    assert '<span lang="ru">Народный бюджет 2027</span>' in page and "in Russian" in page


@pytest.mark.parametrize(
    "texts",
    [
        {"original_language": "en", "title_ru": "Только по-русски"},  # no English original
        {"original_language": "de", "title_ru": "Бюджет"},
        {"title_ru": "Бюджет", "title_en": "x" * 201},
    ],
)
def test_bad_versions_are_refused_clearly(client, budget_official, texts):
    client.force_login(budget_official)
    response = _post(client, "/api/v1/budgets", {**ROUND, **texts})
    assert response.status_code in (400, 422), response.content
    assert response.json()["detail"]
    assert not BudgetRound.objects.exists()
