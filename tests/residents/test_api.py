"""The residents API: /me's verification, verifying and removing it, census imports."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from residents.iin import iin_make
from residents.models import CensusImport, ResidentVerification
from residents.services import census_import_run
from tests.factories import UserFactory, district

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db

VERIFY = "/api/v1/me/verification"
IMPORTS = "/api/v1/census/imports"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client, url, body, **extra):
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def register(load):
    people = [person(n, slug) for n, slug in enumerate(["medeu", "almaly"] * 3)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


def iso(born) -> str:
    return born.isoformat()


# --- /me --------------------------------------------------------------------------------------


def test_me_shows_email_level_until_verified(register, citizen):
    client = signed_in(citizen)
    assert client.get("/api/v1/me").json()["verification"] == {
        "level": "email",
        "district": None,
        "method": None,
        "verified_at": None,
    }
    iin, born, _ = register[1]
    response = post_json(client, VERIFY, {"iin": iin, "birth_date": iso(born)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["level"] == "resident"
    assert body["district"] == district("almaly").pk
    assert body["method"] == "census"
    assert body["verified_at"]
    assert client.get("/api/v1/me").json()["verification"] == body
    assert client.get(VERIFY).json() == body


def test_the_answers_hold_no_iin(register, citizen):
    iin, born, _ = register[0]
    client = signed_in(citizen)
    verified = post_json(client, VERIFY, {"iin": iin, "birth_date": iso(born)})
    me = client.get("/api/v1/me")
    for response in (verified, me):
        assert iin.encode() not in response.content
        assert iin[:8].encode() not in response.content


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_iin",
    [
        lambda iin: iin[:11],  # format
        lambda iin: "991399" + iin[6:],  # date part
        lambda iin: iin[:11] + str((int(iin[11]) + 1) % 10),  # check digit
    ],
    ids=["format", "date", "check_digit"],
)
def test_a_bad_iin_is_422(register, citizen, make_iin):
    iin, born, _ = register[0]
    response = post_json(
        signed_in(citizen), VERIFY, {"iin": make_iin(iin), "birth_date": iso(born)}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "bad_iin"
    assert not ResidentVerification.objects.exists()


@pytest.mark.parametrize("birth_date", ["31.12.1980", "1980-02-30", "yesterday", "", "2999-01-01"])
def test_a_bad_birth_date_is_422_bad_birth_date(register, citizen, birth_date):
    iin, _born, _ = register[0]
    response = post_json(signed_in(citizen), VERIFY, {"iin": iin, "birth_date": birth_date})
    assert response.status_code == 422
    assert response.json()["code"] == "bad_birth_date"
    assert response.json()["detail"]


def test_an_iin_not_in_the_register_is_404(register, citizen):
    import datetime as dt

    born = dt.date(1977, 7, 7)
    response = post_json(
        signed_in(citizen), VERIFY, {"iin": iin_make(born, 4242), "birth_date": iso(born)}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_in_register"


def test_a_taken_iin_is_409_with_the_report_url(register, citizen):
    iin, born, _ = register[0]
    assert (
        post_json(signed_in(citizen), VERIFY, {"iin": iin, "birth_date": iso(born)}).status_code
        == 200
    )
    other = UserFactory()
    response = post_json(signed_in(other), VERIFY, {"iin": iin, "birth_date": iso(born)})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "iin_taken"
    assert body["detail"]
    assert body["report_url"] == "/api/v1/me/verification/report"
    assert iin.encode() not in response.content


def test_anonymous_is_401(register):
    iin, born, _ = register[0]
    response = post_json(Client(), VERIFY, {"iin": iin, "birth_date": iso(born)})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert Client().delete(VERIFY).status_code == 401
    assert Client().get("/api/v1/me").status_code == 401


def test_an_unverified_email_is_403(register, unverified_user):
    iin, born, _ = register[0]
    response = post_json(signed_in(unverified_user), VERIFY, {"iin": iin, "birth_date": iso(born)})
    assert response.status_code == 403
    assert response.json()["code"] == "email_unverified"
    assert not ResidentVerification.objects.exists()


ODD_BODIES = [
    ("not json", "text/plain"),
    ("{not json", "application/json"),
    ("[]", "application/json"),
    ("null", "application/json"),
    ("", "application/json"),
    ('{"iin": 123456789012, "birth_date": "1980-01-01"}', "application/json"),
    ('{"iin": ["1"], "birth_date": "1980-01-01"}', "application/json"),
    ('{"iin": "1", "birth_date": {"y": 1}}', "application/json"),
    ('{"iin": "123456789012"}', "application/json"),
    ('{"iin": "123456789012", "birth_date": "1980-01-01", "extra": 1}', "application/json"),
    (json.dumps({"iin": "1" * 100000, "birth_date": "1980-01-01"}), "application/json"),
    (json.dumps({"iin": "123456789012", "birth_date": "1" * 5000}), "application/json"),
    (json.dumps({"iin": "\x00" * 12, "birth_date": "1980-01-01"}), "application/json"),
    (json.dumps({"iin": "١٢٣٤٥٦٧٨٩٠١٢", "birth_date": "1980-01-01"}), "application/json"),
    ("iin=123&birth_date=1980-01-01", "application/x-www-form-urlencoded"),
    ('{"iin": "' + "9" * 3_000_000 + '"}', "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), ODD_BODIES, ids=range(len(ODD_BODIES)))
def test_odd_bodies_get_a_4xx_json_answer(register, citizen, body, content_type):
    response = signed_in(citizen).post(VERIFY, body, content_type=content_type)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"]
    assert not ResidentVerification.objects.exists()


def test_a_multipart_body_is_4xx_json(register, citizen):
    response = signed_in(citizen).post(VERIFY, {"iin": "1", "birth_date": "1980-01-01"})
    assert 400 <= response.status_code < 500
    assert response.json()["code"]


# --- removal ----------------------------------------------------------------------------------


def test_delete_is_204_with_or_without_a_verification(register, citizen):
    client = signed_in(citizen)
    iin, born, _ = register[0]
    post_json(client, VERIFY, {"iin": iin, "birth_date": iso(born)})
    assert ResidentVerification.objects.filter(user=citizen).exists()
    response = client.delete(VERIFY)
    assert response.status_code == 204
    assert response.content == b""
    assert not ResidentVerification.objects.filter(user=citizen).exists()
    assert client.get("/api/v1/me").json()["verification"]["level"] == "email"
    assert client.delete(VERIFY).status_code == 204


# --- census imports ---------------------------------------------------------------------------


def upload(client, data: bytes, name="register.csv"):
    return client.post(IMPORTS, {"file": SimpleUploadedFile(name, data)})


def test_an_official_uploads_and_follows_an_import(census_official, tmp_path):
    client = signed_in(census_official)
    people = [person(n) for n in range(4)]
    rows = [*people, ("123", "1980-01-01", "medeu"), (people[0][0], people[0][1], "medeu")]
    response = upload(client, register_csv(rows))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    assert set(body) == {"id", "status"}

    url = f"{IMPORTS}/{body['id']}"
    queued = client.get(url).json()
    assert queued["status"] == "queued"
    assert queued["errors_url"] is None
    assert queued["is_current"] is False

    census_import_run(import_id=body["id"])
    done = client.get(url).json()
    assert set(done) == {
        "id",
        "status",
        "rows_total",
        "rows_imported",
        "rows_rejected",
        "errors_url",
        "message",
        "created_at",
        "finished_at",
        "is_current",
    }
    assert done["status"] == "done"
    assert (done["rows_total"], done["rows_imported"], done["rows_rejected"]) == (6, 4, 2)
    assert done["is_current"] is True
    assert done["finished_at"]
    assert done["errors_url"] == f"{url}/errors"

    report = client.get(done["errors_url"])
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert report["Content-Disposition"].startswith("attachment;")
    text = b"".join(report.streaming_content).decode()
    assert text.splitlines()[0] == "line,reason,message"
    assert "bad_iin" in text and "duplicate_iin" in text
    assert people[0][0] not in text


def test_the_error_report_is_for_census_officials_only(census_official, citizen, official):
    client = signed_in(census_official)
    body = upload(client, register_csv([person(1), ("1", "1980-01-01", "medeu")])).json()
    census_import_run(import_id=body["id"])
    census = CensusImport.objects.get(pk=body["id"])
    assert census.error_report.name
    url = f"{IMPORTS}/{body['id']}"
    for user in (citizen, official):
        other = signed_in(user)
        for path in (url, f"{url}/errors"):
            response = other.get(path)
            assert response.status_code == 403, path
            assert response.json()["code"] == "census_permission_required"
    for path in (url, f"{url}/errors"):
        assert Client().get(path).status_code == 401
    # MEDIA is not served: the report's storage path answers nothing.
    for prefix in ("/media/", "/en/media/"):
        response = Client().get(prefix + census.error_report.name)
        assert response.status_code == 404
        assert b"line,reason" not in response.content


def test_a_citizen_cannot_upload(citizen):
    response = upload(signed_in(citizen), register_csv([person(1)]))
    assert response.status_code == 403
    assert response.json()["code"] == "census_permission_required"
    assert not CensusImport.objects.exists()
    assert upload(Client(), register_csv([person(1)])).status_code == 401


def test_an_empty_upload_is_400(census_official):
    response = upload(signed_in(census_official), b"")
    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"
    assert not CensusImport.objects.exists()


def test_a_too_big_upload_is_413_and_never_stored(census_official, settings):
    settings.CENSUS_MAX_BYTES = 100
    response = upload(signed_in(census_official), register_csv([person(n) for n in range(10)]))
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    census = CensusImport.objects.get()
    assert census.status == "refused"
    assert census.file_path == ""


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post(IMPORTS),
        lambda c: c.post(IMPORTS, {"other": SimpleUploadedFile("a.csv", b"x")}),
        lambda c: c.post(IMPORTS, {"file": "text, not a file"}),
        lambda c: c.post(IMPORTS, '{"file": "x"}', content_type="application/json"),
        lambda c: c.post(IMPORTS, b"--x\r\nbroken", content_type="multipart/form-data; boundary=x"),
        lambda c: c.post(IMPORTS, b"--", content_type="multipart/form-data"),
    ],
    ids=["nothing", "other_field", "text_field", "json", "broken_multipart", "no_boundary"],
)
def test_odd_uploads_are_4xx_json(census_official, send):
    response = send(signed_in(census_official))
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert response.json()["code"]
    assert not CensusImport.objects.exists()


@pytest.mark.parametrize(
    ("import_id", "status", "code"),
    [
        ("00000000-0000-0000-0000-000000000000", 404, "not_found"),
        ("not-a-uuid", 404, "not_found"),
        ("1", 404, "not_found"),
        ("%00", 400, "invalid_characters"),  # a NUL anywhere in the path is refused first
    ],
)
def test_an_unknown_import_is_404(census_official, import_id, status, code):
    client = signed_in(census_official)
    for path in (f"{IMPORTS}/{import_id}", f"{IMPORTS}/{import_id}/errors"):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.json()["code"] == code


def test_a_superuser_may_import(db):
    admin = UserFactory(is_superuser=True, is_staff=True)
    district("medeu")
    assert upload(signed_in(admin), register_csv([person(1)])).status_code == 202


def test_the_census_permission_through_a_group(db):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="census desk")
    group.permissions.add(Permission.objects.get(codename="import_census"))
    user = UserFactory()
    user.groups.add(group)
    district("medeu")
    assert upload(signed_in(user), register_csv([person(1)])).status_code == 202
