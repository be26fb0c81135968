"""Regression tests for the outside review's findings about bodies that cannot be read
(issue 10, "Never a 500"): an oversize body and a broken multipart body on every JSON write
endpoint and every page that takes a POST, anonymously and signed in."""

from __future__ import annotations

import logging
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
BROKEN_MULTIPART = "multipart/form-data; boundary=zzz"


def api_write_operations() -> list[tuple[str, str, bool]]:
    """(method, concrete path, takes a JSON body) for every write operation of the API, read
    from its OpenAPI schema so that a new endpoint is covered without touching this test."""
    from civic.api import api

    operations = []
    for path, methods in api.get_openapi_schema()["paths"].items():
        for method, operation in methods.items():
            if method not in WRITE_METHODS:
                continue
            content = (operation.get("requestBody") or {}).get("content", {})
            concrete = re.sub(r"\{[^}]+\}", "1", path)
            operations.append((method, concrete, "application/json" in content))
    return operations


def page_post_urls() -> list[str]:
    """Every page address (under /en/) with its parameters filled in, plus the admin login."""
    urls = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                route = re.sub(r"<int:[^>]+>", "1", route)
                route = re.sub(r"<uuid:[^>]+>", "00000000-0000-0000-0000-000000000000", route)
                route = re.sub(r"<(str:|slug:)?[^>]+>", "x", route)
                if "^" in route or "(?P" in route or route.startswith(("api/", "admin/")):
                    continue
                urls.append("/" + route)

    walk(get_resolver().url_patterns, "")
    urls = sorted({u.replace("/ru/", "/en/").replace("/kk/", "/en/") for u in urls if "en/" in u})
    return [*urls, "/admin/login/"]


def oversize_body() -> bytes:
    return b'{"x": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}'


@pytest.fixture(params=["anonymous", "citizen"])
def who(request, citizen):
    client = Client()
    if request.param == "citizen":
        client.force_login(citizen)
    return client


def test_the_api_write_operations_are_found():
    operations = api_write_operations()
    assert ("post", "/api/v1/polls/1/votes", True) in operations
    assert sum(1 for _m, _p, json_body in operations if json_body) >= 15


def test_finding_oversize_body_is_413(who, caplog):
    failures = []
    for method, path, json_body in api_write_operations():
        response = who.generic(
            method.upper(),
            path,
            oversize_body(),
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="ru",
        )
        # Endpoints without a JSON body never read it: any refusal but a 5xx will do.
        ok = response.status_code in (401, 413) if json_body else response.status_code < 500
        if ok and response.status_code == 413:
            body = response.json()
            ok = body.get("code") == "too_large" and "Слишком" in body.get("detail", "")
        if not ok:
            failures.append((method, path, response.status_code, response.content[:200]))
    assert failures == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_finding_oversize_body_is_413_when_signed_in(citizen):
    client = Client()
    client.force_login(citizen)
    for method, path, json_body in api_write_operations():
        if not json_body:
            continue
        response = client.generic(
            method.upper(), path, oversize_body(), content_type="application/json"
        )
        assert response.status_code == 413, (method, path, response.content[:200])
        assert response.json()["code"] == "too_large"


def test_finding_broken_multipart_is_4xx(who, caplog):
    failures = []
    for method, path, _json_body in api_write_operations():
        for body in (b'{"choices": [1]}', b"\xff\xfe garbage --zzz\r\n", b""):
            response = who.generic(
                method.upper(),
                path,
                body,
                content_type=BROKEN_MULTIPART,
                HTTP_ACCEPT_LANGUAGE="kk",
            )
            if method == "delete" and not body and response.status_code == 204:
                continue  # the test client sends no content type with no body: a plain DELETE
            if not 400 <= response.status_code < 500:
                failures.append((method, path, body[:10], response.status_code))
                continue
            if not response["Content-Type"].startswith("application/json"):
                failures.append((method, path, body[:10], "not JSON"))
                continue
            payload = response.json()
            if not (payload.get("detail") and payload.get("code")):
                failures.append((method, path, body[:10], payload))
    assert failures == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_finding_broken_multipart_is_415_on_json_endpoints_when_signed_in(citizen):
    client = Client()
    client.force_login(citizen)
    for method, path, json_body in api_write_operations():
        if not json_body or method != "post":
            continue
        response = client.generic(
            method.upper(), path, b'{"choices": [1]}', content_type=BROKEN_MULTIPART
        )
        assert response.status_code == 415, (method, path, response.content[:200])
        assert response.json()["code"] == "unsupported_media_type"


def test_the_refusals_are_logged_as_warnings(citizen, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING):
        client.generic(
            "POST", "/api/v1/polls/1/votes", oversize_body(), content_type="application/json"
        )
        client.generic("POST", "/api/v1/polls/1/votes", b"{}", content_type=BROKEN_MULTIPART)
    levels = {r.levelno for r in caplog.records}
    assert logging.WARNING in levels
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"a=" + b"b" * (2_621_440 + 10), "application/x-www-form-urlencoded"),
        (b'{"x": 1}', BROKEN_MULTIPART),
        (
            b'--zzz\r\nContent-Disposition: form-data; name="a"\r\n\r\n' + b"\xff" * 100,
            BROKEN_MULTIPART,
        ),
        (b"garbage", "multipart/form-data"),
    ],
    ids=["oversize", "multipart-json", "multipart-unterminated", "multipart-no-boundary"],
)
def test_finding_unreadable_bodies_on_pages_are_4xx_pages(who, body, content_type, caplog):
    failures = []
    for url in page_post_urls():
        response = who.generic("POST", url, body, content_type=content_type)
        if response.status_code >= 500:
            failures.append((url, response.status_code))
    assert failures == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- The API docs (issue 10, "Headers") ------------------------------------------------------


def test_finding_api_docs_off_in_production():
    import os
    import secrets
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "DJANGO_", "API_DOCS", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="birge.example",
        CENSUS_PEPPER=secrets.token_urlsafe(48),
    )
    code = "import django; django.setup(); from django.conf import settings; "
    out = subprocess.run(
        [sys.executable, "-c", code + "print(settings.API_DOCS_PUBLIC)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
    env["API_DOCS_PUBLIC"] = "true"
    out = subprocess.run(
        [sys.executable, "-c", code + "print(settings.API_DOCS_PUBLIC)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/openapi.json"])
def test_api_docs_when_not_public_are_404_except_for_staff(settings, path, citizen, official):
    settings.API_DOCS_PUBLIC = False
    client = Client()
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    client.force_login(citizen)
    assert client.get(path).status_code == 404
    client.force_login(official)
    assert client.get(path).status_code == 200
    settings.API_DOCS_PUBLIC = True
    assert Client().get(path).status_code == 200


def test_the_footer_links_the_api_docs_only_when_they_can_be_read(settings, client):
    assert b'href="/api/v1/docs"' in client.get("/en/").content
    settings.API_DOCS_PUBLIC = False
    assert b'href="/api/v1/docs"' not in client.get("/en/").content
