"""Identity reports: a citizen whose IIN another account holds reports it; moderators decide.

Moderators see both accounts and never the IIN; the report endpoint is no IIN oracle (the
IIN must validate and other account must hold it, under the verification's guessing limits).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.contrib.admin.sites import site as admin_site
from django.db import IntegrityError, transaction
from django.test import Client

from audit.models import AuditEntry
from civic.errors import Conflict, Forbidden, InvalidInput, NotFound
from notifications.models import Notification, PendingTask
from residents.iin import BadIIN, iin_make
from residents.models import IdentityReport
from residents.selectors import identity_report_rows, identity_reports_open
from residents.services import (
    identity_report_create,
    identity_report_notify,
    identity_report_resolve,
    resident_verify_census,
)
from tests.factories import ModeratorFactory, UserFactory

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db

REPORT = "/api/v1/me/verification/report"
LIST = "/api/v1/moderation/identity-reports"


@pytest.fixture
def register(load):
    people = [person(n) for n in range(6)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


@pytest.fixture
def taken(register):
    """(IIN, date of birth, the account holding it)."""
    iin, born, _ = register[0]
    holder = UserFactory(display_name="Holder")
    resident_verify_census(actor=holder, iin=iin, birth_date=born)
    return iin, born, holder


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client, url, body, **extra):
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def test_the_409_leads_to_a_report_the_moderators_see(taken, citizen, moderator):
    iin, born, holder = taken
    client = signed_in(citizen)
    refused = post_json(client, "/api/v1/me/verification", {"iin": iin, "birth_date": str(born)})
    assert refused.status_code == 409
    response = post_json(
        client, refused.json()["report_url"], {"iin": iin, "message": "I never made that account"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open"
    report = IdentityReport.objects.get(pk=body["id"])
    assert (report.reporter, report.reported) == (citizen, holder)
    assert report.message == "I never made that account"

    listing = signed_in(moderator).get(LIST)
    assert listing.status_code == 200
    [row] = listing.json()
    assert row["id"] == report.pk
    assert row["status"] == "open"
    assert row["message"] == "I never made that account"
    assert row["reporter"]["id"] == citizen.pk
    assert row["reporter"]["email"] == citizen.email
    assert row["reporter"]["display_name"] == citizen.display_name
    assert row["reporter"]["verified_at"] is None
    assert row["reported"]["id"] == holder.pk
    assert row["reported"]["email"] == holder.email
    assert row["reported"]["display_name"] == "Holder"
    assert row["reported"]["method"] == "census"
    assert row["reported"]["verified_at"]
    for leak in (iin, iin[:8], iin[-4:]):
        assert leak not in listing.content.decode()


def test_the_report_and_its_audit_entry_hold_no_iin(taken, citizen):
    iin, born, holder = taken
    report = identity_report_create(actor=citizen, iin=iin, birth_date=born)
    entry = AuditEntry.objects.get(action="resident.identity_reported")
    assert entry.actor == citizen
    assert entry.target_id == str(report.pk)
    assert entry.data == {"reported": holder.pk, "iin_last4": iin[-4:]}
    values = json.dumps(
        [list(IdentityReport.objects.values_list()), [e.data for e in AuditEntry.objects.all()]],
        default=str,
    )
    assert iin not in values and iin[:8] not in values


def test_moderators_are_notified_after_commit(
    taken, citizen, moderator, django_capture_on_commit_callbacks
):
    iin, _born, holder = taken
    other_moderator = ModeratorFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = identity_report_create(actor=citizen, iin=iin)
    assert len(callbacks) == 1
    pending = PendingTask.objects.get(task="residents.notify_identity_report")
    assert pending.args == [report.pk]
    assert identity_report_notify(report_id=report.pk) == 2
    assert identity_report_notify(report_id=report.pk) == 2  # safe to run twice
    notes = Notification.objects.filter(kind="residents.identity_report")
    assert {n.user for n in notes} == {moderator, other_moderator}
    assert all(iin not in json.dumps(n.params) for n in notes)
    assert all(n.url.endswith("/residents/reports/") for n in notes)
    assert not Notification.objects.filter(user__in=[citizen, holder]).exists()


def test_reporting_twice_is_409_until_the_report_is_closed(taken, citizen, moderator):
    iin, _born, _holder = taken
    client = signed_in(citizen)
    assert post_json(client, REPORT, {"iin": iin}).status_code == 201
    again = post_json(client, REPORT, {"iin": iin})
    assert again.status_code == 409
    assert again.json()["code"] == "already_reported"
    report = IdentityReport.objects.get()
    identity_report_resolve(actor=moderator, report_id=report.pk, status="dismissed")
    assert post_json(client, REPORT, {"iin": iin}).status_code == 201
    assert IdentityReport.objects.count() == 2


def test_a_report_needs_a_valid_iin_another_account_holds(taken, citizen, register):
    iin, _born, holder = taken
    client = signed_in(citizen)
    bad = post_json(client, REPORT, {"iin": iin[:11] + str((int(iin[11]) + 1) % 10)})
    assert bad.status_code == 422
    assert bad.json()["code"] == "bad_iin"
    wrong_date = post_json(client, REPORT, {"iin": iin, "birth_date": "1999-09-09"})
    assert wrong_date.status_code == 422
    assert wrong_date.json()["code"] == "bad_iin"
    bad_date = post_json(client, REPORT, {"iin": iin, "birth_date": "9.9.99"})
    assert bad_date.status_code == 422
    assert bad_date.json()["code"] == "bad_birth_date"
    free_iin, _b, _d = register[1]
    free = post_json(client, REPORT, {"iin": free_iin})
    assert free.status_code == 404
    assert free.json()["code"] == "iin_not_taken"
    own = post_json(signed_in(holder), REPORT, {"iin": iin})
    assert own.status_code == 400
    assert own.json()["code"] == "own_iin"
    assert not IdentityReport.objects.exists()
    failed = AuditEntry.objects.filter(action="resident.identity_report_failed")
    assert sorted(e.data["code"] for e in failed) == ["bad_iin", "bad_iin", "iin_not_taken"]


@time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, 5, tzinfo=dt.UTC), tick=False)
def test_the_report_shares_the_verification_limit(taken, citizen):
    iin, born, _holder = taken
    client = signed_in(citizen)
    for n in range(5):
        stranger = iin_make(dt.date(1951, 1, 1) + dt.timedelta(days=n), 7000 + n)
        assert post_json(client, REPORT, {"iin": stranger}).status_code == 404
    refused = post_json(client, REPORT, {"iin": iin})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # The failures of reports and verifications are one count.
    verify = post_json(client, "/api/v1/me/verification", {"iin": iin, "birth_date": str(born)})
    assert verify.status_code == 429
    assert not IdentityReport.objects.exists()


def test_who_may_report_and_list(taken, citizen, unverified_user):
    iin, _born, _holder = taken
    assert post_json(Client(), REPORT, {"iin": iin}).status_code == 401
    refused = post_json(signed_in(unverified_user), REPORT, {"iin": iin})
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_unverified"
    assert Client().get(LIST).status_code == 401
    listing = signed_in(citizen).get(LIST)
    assert listing.status_code == 403
    assert listing.json()["code"] == "not_moderator"
    assert signed_in(citizen).post(
        f"{LIST}/1", "{}", content_type="application/json"
    ).status_code in (
        403,
        422,
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("nope", "application/json"),
        ('{"iin": 5}', "application/json"),
        ('{"iin": "1", "extra": true}', "application/json"),
        (json.dumps({"iin": "1", "message": "m" * 5000}), "application/json"),
        (json.dumps({"iin": "1" * 1000}), "application/json"),
        ("{}", "application/json"),
    ],
)
def test_odd_report_bodies_are_4xx_json(taken, citizen, body, content_type):
    response = signed_in(citizen).post(REPORT, body, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response.json()["code"]
    assert not IdentityReport.objects.exists()


def test_a_moderator_resolves_a_report(taken, citizen, moderator):
    iin, _born, holder = taken
    report = identity_report_create(actor=citizen, iin=iin)
    client = signed_in(moderator)
    url = f"{LIST}/{report.pk}"
    response = post_json(client, url, {"status": "resolved", "note": "Holder's account suspended"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "resolved"
    assert body["note"] == "Holder's account suspended"
    assert body["resolved_by"] == moderator.email
    assert body["resolved_at"]
    assert body["reported"]["id"] == holder.pk
    entry = AuditEntry.objects.get(action="resident.identity_report_closed")
    assert entry.actor == moderator
    assert entry.data == {"status": "resolved", "reporter": citizen.pk, "reported": holder.pk}
    again = post_json(client, url, {"status": "dismissed"})
    assert again.status_code == 409
    assert again.json()["code"] == "report_closed"
    assert client.get(LIST).json() == []
    assert [r["id"] for r in client.get(LIST, {"status": "resolved"}).json()] == [report.pk]
    assert len(client.get(LIST, {"status": "all"}).json()) == 1
    assert client.get(LIST, {"status": "bogus"}).status_code == 400


def test_resolving_refusals(taken, citizen, moderator):
    iin, _born, holder = taken
    report = identity_report_create(actor=citizen, iin=iin)
    client = signed_in(moderator)
    bad = post_json(client, f"{LIST}/{report.pk}", {"status": "open"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "bad_status"
    assert post_json(client, f"{LIST}/999999", {"status": "resolved"}).status_code == 404
    assert post_json(client, f"{LIST}/abc", {"status": "resolved"}).status_code == 422
    assert (
        post_json(client, f"{LIST}/{report.pk}", {"status": "resolved", "x": 1}).status_code == 422
    )
    citizen_try = post_json(signed_in(citizen), f"{LIST}/{report.pk}", {"status": "dismissed"})
    assert citizen_try.status_code == 403
    holder.groups.add(*moderator.groups.all())
    own = post_json(signed_in(holder), f"{LIST}/{report.pk}", {"status": "dismissed"})
    assert own.status_code == 403
    assert own.json()["code"] == "own_report"
    report.refresh_from_db()
    assert report.status == "open"


def test_the_services_raise_domain_errors(taken, citizen, moderator):
    iin, _born, holder = taken
    with pytest.raises(BadIIN):
        identity_report_create(actor=citizen, iin="12")
    with pytest.raises(InvalidInput):
        identity_report_create(actor=holder, iin=iin)
    report = identity_report_create(actor=citizen, iin=iin)
    with pytest.raises(Conflict):
        identity_report_create(actor=citizen, iin=iin)
    with pytest.raises(Forbidden):
        identity_report_resolve(actor=citizen, report_id=report.pk, status="resolved")
    with pytest.raises(NotFound):
        identity_report_resolve(actor=moderator, report_id=report.pk + 1, status="resolved")


def test_the_database_keeps_one_open_report_per_pair_and_none_on_oneself(taken, citizen):
    _iin, _born, holder = taken
    IdentityReport.objects.create(reporter=citizen, reported=holder)
    with pytest.raises(IntegrityError), transaction.atomic():
        IdentityReport.objects.create(reporter=citizen, reported=holder)
    with pytest.raises(IntegrityError), transaction.atomic():
        IdentityReport.objects.create(reporter=citizen, reported=citizen)


def test_selectors_for_the_moderation_page(taken, citizen):
    iin, _born, holder = taken
    first = identity_report_create(actor=citizen, iin=iin)
    second_reporter = UserFactory()
    second = identity_report_create(actor=second_reporter, iin=iin)
    assert list(identity_reports_open()) == [first, second]
    rows = identity_report_rows(identity_reports_open())
    assert [r["reporter"]["id"] for r in rows] == [citizen.pk, second_reporter.pk]
    assert all(r["reported"]["id"] == holder.pk for r in rows)
    assert all("iin" not in key for r in rows for key in (*r, *r["reported"]))


def test_the_admin_shows_reports_read_only(taken, citizen, admin_client):
    iin, _born, _holder = taken
    report = identity_report_create(actor=citizen, iin=iin)
    model_admin = admin_site._registry[IdentityReport]
    request = type("R", (), {"user": citizen})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, report)
    assert not model_admin.has_delete_permission(request, report)
    listing = admin_client.get("/admin/residents/identityreport/")
    assert listing.status_code == 200
    page = admin_client.get(f"/admin/residents/identityreport/{report.pk}/change/")
    assert page.status_code == 200
    assert iin not in page.content.decode()
