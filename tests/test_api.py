"""The API skeleton: OpenAPI, docs, JSON errors, session auth with CSRF."""

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_openapi_schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Birge API"
    assert "/api/v1/me" in schema["paths"]
    assert "/api/v1/districts" in schema["paths"]


def test_interactive_docs(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_districts_are_almatys_eight(client):
    response = client.get("/api/v1/districts", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 200
    slugs = [d["slug"] for d in response.json()]
    assert len(slugs) == 8
    assert {
        "alatau",
        "almaly",
        "auezov",
        "bostandyk",
        "zhetysu",
        "medeu",
        "nauryzbay",
        "turksib",
    } == set(slugs)
    assert response.json()[2]["name"] == "Әуезов ауданы"


def test_unknown_endpoint_is_json_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_the_api_root_is_json_404_too(client):
    response = client.get("/api/v1/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_anonymous_gets_json_401(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_api_errors_speak_the_users_language(client):
    response = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.json() == {"detail": "Сначала войдите в систему.", "code": "not_authenticated"}
    assert client.get("/api/v1/polls/abc", HTTP_ACCEPT_LANGUAGE="kk").json()["detail"] != (
        "The data sent is not valid."
    )


def test_a_stale_csrf_token_gets_a_message_a_person_understands(citizen):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    response = client.patch(
        "/api/v1/me",
        {"display_name": "X"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "The page has expired. Reload it and try again.",
        "code": "csrf_failed",
    }


def test_me(client, official):
    client.force_login(official)
    body = client.get("/api/v1/me").json()
    assert body["email"] == official.email
    assert body["roles"] == ["official"]
    assert body["is_citizen"] is True


def test_patch_me_needs_csrf_token(citizen):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(citizen)
    response = browser.patch(
        "/api/v1/me", json.dumps({"display_name": "Dana"}), content_type="application/json"
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    citizen.refresh_from_db()
    assert citizen.display_name != "Dana"
    # With the token from a page the browser loaded, it works.
    browser.get("/en/")
    token = browser.cookies["csrftoken"].value
    response = browser.patch(
        "/api/v1/me",
        json.dumps({"display_name": "Dana", "district": "turksib"}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Dana"
    assert response.json()["district"] == "turksib"


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ("{not json", 400),
        (json.dumps({"display_name": "x" * 81}), 422),
        (json.dumps({"display_name": 5}), 422),
        (json.dumps({"district": "atlantis"}), 404),
        (json.dumps({"preferred_language": "de"}), 400),
        (json.dumps({"display_name": "Dana", "is_superuser": True}), 422),
        (json.dumps({"display_name": "bad\u0000name"}), 400),
    ],
)
def test_patch_me_bad_input_is_json_and_changes_nothing(client, citizen, payload, status):
    client.force_login(citizen)
    before = (
        citizen.display_name,
        citizen.district_id,
        citizen.preferred_language,
        citizen.is_superuser,
    )
    response = client.patch("/api/v1/me", payload, content_type="application/json")
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    citizen.refresh_from_db()
    after = (
        citizen.display_name,
        citizen.district_id,
        citizen.preferred_language,
        citizen.is_superuser,
    )
    assert after == before
