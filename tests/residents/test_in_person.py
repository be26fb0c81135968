"""In person at a service desk: the citizen's one-time code, the desk pages, the binding."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from civic.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from civic.qr import qr_svg
from residents.iin import BadIIN
from residents.methods import enabled_methods, method_by_key
from residents.models import DeskCode, ResidentVerification
from residents.selectors import verification_of
from residents.services import (
    DESK_CODE_ALPHABET,
    DESK_LOOKUPS_PER_MINUTE,
    desk_code_hash,
    desk_code_issue,
    desk_code_lookup,
    resident_verify_in_person,
)
from tests.concurrency import race
from tests.factories import OfficialFactory, UserFactory, district

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 12, 6, 7, 0, tzinfo=dt.UTC)
DESK = "/en/residents/in_person/desk/"
CODE_RE = re.compile(rf"^[{DESK_CODE_ALPHABET}]{{4}}-[{DESK_CODE_ALPHABET}]{{4}}$")


@pytest.fixture
def clock():
    # Frozen: expiry is tested by travelling, and the rate limits' windows stay put.
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk_official(db):
    user = OfficialFactory(display_name="Desk Officer")
    user.user_permissions.add(Permission.objects.get(codename="verify_in_person"))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def register(load):
    people = [person(n, slug) for n, slug in enumerate(["medeu", "almaly"] * 3)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


@pytest.fixture
def desk(client, desk_official):
    """The official's browser at the desk; every page it gets is kept in `desk.pages`."""
    client.force_login(desk_official)
    pages = []

    class Desk:
        def get(self, path=DESK):
            response = client.get(path)
            pages.append(response)
            return response

        def post(self, follow=False, **data):
            response = client.post(DESK, data, follow=follow)
            pages.append(response)
            return response

        def lookup(self, code):
            return self.post(step="lookup", code=code)

        def verify(self, code, iin, **extra):
            return self.post(step="verify", code=code, iin=iin, **extra)

    desk = Desk()
    desk.pages = pages
    return desk


def _no_iin_anywhere(iin: str, pages) -> None:
    for page in pages:
        assert iin not in page.content.decode(), page
    for entry in AuditEntry.objects.all():
        assert iin not in json.dumps(entry.data), entry.action
        assert iin not in entry.target_id


# --- the code ---------------------------------------------------------------------------------


def test_a_code_is_short_and_typeable_and_only_its_hash_is_stored(citizen, clock):
    code, expires_at = desk_code_issue(actor=citizen)
    assert CODE_RE.match(code), code
    assert not set(code) & set("01OI")
    assert expires_at == NOON + dt.timedelta(minutes=30)
    row = DeskCode.objects.get(user=citizen)
    assert bytes(row.code_hash) == desk_code_hash(code)
    assert bytes(row.code_hash) == desk_code_hash(code.lower().replace("-", " "))
    assert code.replace("-", "").encode() not in bytes(row.code_hash)
    assert row.used_at is None


def test_the_validity_comes_from_the_setting(citizen, clock, settings):
    settings.RESIDENT_DESK_CODE_MINUTES = 5
    _code, expires_at = desk_code_issue(actor=citizen)
    assert expires_at == NOON + dt.timedelta(minutes=5)


def test_a_new_code_replaces_the_old(citizen, desk_official, clock):
    old, _ = desk_code_issue(actor=citizen)
    new, _ = desk_code_issue(actor=citizen)
    assert old != new
    assert DeskCode.objects.filter(user=citizen).count() == 1
    with pytest.raises(NotFound) as caught:
        desk_code_lookup(official=desk_official, code=old)
    assert caught.value.code == "code_unknown"
    assert desk_code_lookup(official=desk_official, code=new) == citizen


def test_a_code_expires(citizen, desk_official, clock):
    code, _ = desk_code_issue(actor=citizen)
    clock.shift(dt.timedelta(minutes=29))
    assert desk_code_lookup(official=desk_official, code=code) == citizen
    clock.shift(dt.timedelta(minutes=1))
    with pytest.raises(Conflict) as caught:
        desk_code_lookup(official=desk_official, code=code)
    assert (caught.value.code, caught.value.status) == ("code_expired", 409)


def test_only_a_citizen_with_a_confirmed_email_gets_a_code(unverified_user):
    with pytest.raises(Forbidden):
        desk_code_issue(actor=unverified_user)
    assert not DeskCode.objects.exists()


# --- the citizen's page -----------------------------------------------------------------------


def _page_request(user, session=None):
    request = RequestFactory().get("/en/residents/")
    request.user = user
    request.session = session if session is not None else SessionStore()
    return request


def test_the_method_is_configured_and_offered():
    method = method_by_key("in_person")
    assert method is not None
    assert method in enabled_methods()
    assert str(method.label) == "In person at a service desk"
    assert reverse("residents:in_person:desk") == DESK


def test_the_page_shows_the_code_and_its_qr_and_keeps_it_on_reload(citizen, desk_official):
    method = method_by_key("in_person")
    session = SessionStore()
    context = method.page_context(_page_request(citizen, session))
    code = context["desk_code"]
    assert CODE_RE.match(code)
    html = render_to_string(method.page_template, context, request=_page_request(citizen))
    assert code in html
    assert "<svg" in html
    assert qr_svg(code, size=168) in html  # the QR holds exactly the code
    again = method.page_context(_page_request(citizen, session))
    assert again["desk_code"] == code
    assert DeskCode.objects.filter(user=citizen).count() == 1
    # Once used (or replaced), the page shows a new one.
    DeskCode.objects.filter(user=citizen).update(used_at=timezone.now())
    fresh = method.page_context(_page_request(citizen, session))["desk_code"]
    assert fresh != code
    assert desk_code_lookup(official=desk_official, code=fresh) == citizen


def test_no_code_for_someone_without_a_confirmed_email(unverified_user):
    method = method_by_key("in_person")
    context = method.page_context(_page_request(unverified_user))
    assert context == {"desk_code": None}
    assert not DeskCode.objects.exists()


def test_the_new_code_button_replaces_the_code(client, citizen, desk_official):
    client.force_login(citizen)
    response = client.post(
        reverse("residents:in_person:new_code"), {"next": "/en/residents/"}, follow=False
    )
    assert response.status_code == 302
    assert response["Location"] == "/en/residents/"
    code = client.session["residents_desk_code"]["code"]
    assert desk_code_lookup(official=desk_official, code=code) == citizen
    response = client.post(
        reverse("residents:in_person:new_code"), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("accounts:profile")
    with pytest.raises(NotFound):
        desk_code_lookup(official=desk_official, code=code)


# --- the desk, through its pages ---------------------------------------------------------------


def test_an_official_verifies_a_citizen_at_the_desk(desk, desk_official, citizen, register, clock):
    iin, _born, _slug = register[1]  # almaly
    code, _ = desk_code_issue(actor=citizen)
    page = desk.get()
    assert page.status_code == 200
    assert "Find the account" in page.content.decode()
    page = desk.lookup(code.lower().replace("-", " "))
    assert page.status_code == 200
    html = page.content.decode()
    assert citizen.display_name in html and citizen.email in html
    done = desk.verify(code.replace("-", ""), f"{iin[:6]} {iin[6:]}")  # as typed off a card
    assert done.status_code == 302 and done["Location"] == DESK
    page = desk.get()
    assert f"IIN ending in {iin[-4:]}" in page.content.decode()
    verification = ResidentVerification.objects.get(user=citizen)
    assert verification.method == "in_person"
    assert verification.verified_by == desk_official
    assert verification.district == district("almaly")
    assert verification_of(citizen)["level"] == "resident"
    assert DeskCode.objects.get(user=citizen).used_at == NOON
    entry = AuditEntry.objects.get(action="resident.verified")
    assert entry.actor == desk_official
    assert (entry.target_type, entry.target_id) == ("accounts.user", str(citizen.pk))
    assert entry.data == {
        "method": "in_person",
        "district": district("almaly").pk,
        "iin_last4": iin[-4:],
    }
    # The code is single use.
    page = desk.lookup(code)
    assert page.status_code == 409
    assert "already been used" in page.content.decode()
    _no_iin_anywhere(iin, desk.pages)


def test_the_birth_date_defaults_to_the_iins_and_a_wrong_one_does_not_match(
    desk, citizen, register
):
    iin, born, _slug = register[0]
    code, _ = desk_code_issue(actor=citizen)
    page = desk.verify(code, iin, birth_date=(born + dt.timedelta(days=1)).isoformat())
    assert page.status_code == 404
    page = desk.verify(code, iin, birth_date=born.isoformat())
    assert page.status_code == 302
    assert ResidentVerification.objects.get(user=citizen).district == district("medeu")
    _no_iin_anywhere(iin, desk.pages)


def test_without_the_permission_403(client, citizen, register):
    official = OfficialFactory()  # an official, but not granted the desk permission
    code, _ = desk_code_issue(actor=citizen)
    client.force_login(official)
    assert client.get(DESK).status_code == 403
    response = client.post(DESK, {"step": "lookup", "code": code})
    assert response.status_code == 403
    response = client.post(DESK, {"step": "verify", "code": code, "iin": register[0][0]})
    assert response.status_code == 403
    assert not ResidentVerification.objects.exists()
    assert DeskCode.objects.get(user=citizen).used_at is None
    with pytest.raises(Forbidden):
        resident_verify_in_person(official=official, code=code, iin=register[0][0])


def test_signed_out_goes_to_sign_in(client):
    response = client.get(DESK)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_census_permission_is_not_the_desk_permission(census_official, citizen):
    code, _ = desk_code_issue(actor=citizen)
    with pytest.raises(Forbidden) as caught:
        desk_code_lookup(official=census_official, code=code)
    assert caught.value.code == "in_person_permission_required"


def test_wrong_used_and_expired_codes(desk, desk_official, citizen, register, clock):
    iin = register[0][0]
    page = desk.lookup("ABCD-EFGH")
    assert page.status_code == 404
    assert "no such code" in page.content.decode()
    page = desk.verify("ABCD-EFGH", iin)
    assert page.status_code == 404
    assert "Find the account" in page.content.decode()  # back to the code

    code, _ = desk_code_issue(actor=citizen)
    clock.shift(dt.timedelta(minutes=31))
    page = desk.lookup(code)
    assert page.status_code == 409
    assert "expired" in page.content.decode()
    page = desk.verify(code, iin)
    assert page.status_code == 409
    assert not ResidentVerification.objects.exists()

    code, _ = desk_code_issue(actor=citizen)
    assert desk.verify(code, iin).status_code == 302
    other = UserFactory()
    page = desk.verify(code, person(3)[0])
    assert page.status_code == 409
    assert "already been used" in page.content.decode()
    assert not ResidentVerification.objects.filter(user=other).exists()

    failures = AuditEntry.objects.filter(action="resident.desk_failed").order_by("id")
    assert [(e.data["step"], e.data["code"]) for e in failures] == [
        ("lookup", "code_unknown"),
        ("verify", "code_unknown"),
        ("lookup", "code_expired"),
        ("verify", "code_expired"),
        ("verify", "code_used"),
    ]
    assert all(e.actor == desk_official for e in failures)
    assert failures[2].target_id == str(citizen.pk)
    _no_iin_anywhere(iin, desk.pages)


def test_a_bad_iin_is_422_and_never_shown_back(desk, desk_official, citizen, register):
    iin = register[0][0]
    bad = iin[:11] + str((int(iin[11]) + 1) % 10)
    code, _ = desk_code_issue(actor=citizen)
    page = desk.verify(code, bad)
    assert page.status_code == 422
    html = page.content.decode()
    assert "check digit" in html
    assert citizen.email in html  # still the same account, ready for a corrected IIN
    assert DeskCode.objects.get(user=citizen).used_at is None
    entry = AuditEntry.objects.get(action="resident.desk_failed")
    assert entry.data == {
        "method": "in_person",
        "step": "verify",
        "code": "bad_iin",
        "iin_last4": bad[-4:],
    }
    assert entry.target_id == str(citizen.pk)
    # An empty IIN is the form's own error; the account is shown again.
    page = desk.verify(code, "")
    assert page.status_code == 400
    assert citizen.email in page.content.decode()
    with pytest.raises(BadIIN) as caught:
        resident_verify_in_person(official=desk_official, code=code, iin="12345")
    assert (caught.value.code, caught.value.status) == ("bad_iin", 422)
    # The corrected IIN then works with the same code.
    assert desk.verify(code, iin).status_code == 302
    _no_iin_anywhere(bad, desk.pages)
    _no_iin_anywhere(iin, desk.pages)


def test_register_loaded_and_iin_not_in_it_is_404(desk, citizen, register):
    iin, _born, _slug = person(999)
    code, _ = desk_code_issue(actor=citizen)
    page = desk.verify(code, iin, district=district("bostandyk").pk)  # ignored: register rules
    assert page.status_code == 404
    assert "not in the city" in page.content.decode()
    assert not ResidentVerification.objects.exists()
    assert DeskCode.objects.get(user=citizen).used_at is None
    entry = AuditEntry.objects.get(action="resident.desk_failed")
    assert entry.data["code"] == "not_in_register"
    _no_iin_anywhere(iin, desk.pages)


def test_no_register_the_official_picks_the_district(desk, desk_official, citizen):
    iin, born, _slug = person(7)
    code, _ = desk_code_issue(actor=citizen)
    page = desk.lookup(code)
    assert page.status_code == 200
    assert 'name="district"' in page.content.decode()
    page = desk.verify(code, iin)
    assert page.status_code == 400  # the form requires it
    assert 'name="district"' in page.content.decode()
    with pytest.raises(InvalidInput) as caught:
        resident_verify_in_person(official=desk_official, code=code, iin=iin)
    assert caught.value.code == "district_required"
    other_date = born - dt.timedelta(days=400)  # the document's date, not the IIN's
    page = desk.verify(code, iin, district=district("turksib").pk, birth_date=other_date)
    assert page.status_code == 302
    verification = ResidentVerification.objects.get(user=citizen)
    assert verification.district == district("turksib")
    assert verification.census_import is None
    assert verification.method == "in_person"
    assert verification.verified_by == desk_official
    assert verification_of(citizen)["district"] == district("turksib").pk
    _no_iin_anywhere(iin, desk.pages)


def test_one_iin_one_account_409(desk, citizen, register):
    iin = register[2][0]
    first = UserFactory()
    code, _ = desk_code_issue(actor=first)
    assert desk.verify(code, iin).status_code == 302
    code, _ = desk_code_issue(actor=citizen)
    page = desk.verify(code, iin)
    assert page.status_code == 409
    assert "already bound to another account" in page.content.decode()
    assert not ResidentVerification.objects.filter(user=citizen).exists()
    assert DeskCode.objects.get(user=citizen).used_at is None  # nothing half-done
    assert AuditEntry.objects.get(action="resident.desk_failed").data["code"] == "iin_taken"
    _no_iin_anywhere(iin, desk.pages)


def test_an_official_cannot_verify_their_own_account(desk_official, register):
    code, _ = desk_code_issue(actor=desk_official)
    with pytest.raises(Forbidden) as caught:
        resident_verify_in_person(official=desk_official, code=code, iin=register[0][0])
    assert caught.value.code == "own_account"
    assert not ResidentVerification.objects.exists()


def test_code_lookups_are_throttled_per_official(desk, desk_official, citizen, clock):
    code, _ = desk_code_issue(actor=citizen)
    for _i in range(DESK_LOOKUPS_PER_MINUTE):
        assert desk.lookup(code).status_code == 200
    page = desk.lookup(code)
    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    # Another official's desk is not affected.
    other = OfficialFactory()
    other.user_permissions.add(Permission.objects.get(codename="verify_in_person"))
    other = type(other).objects.get(pk=other.pk)
    assert desk_code_lookup(official=other, code=code) == citizen
    clock.shift(dt.timedelta(minutes=1))
    assert desk.lookup(code).status_code == 200


def test_wrong_codes_lock_the_desk_for_the_hour(desk_official, citizen, clock):
    code, _ = desk_code_issue(actor=citizen)
    for n in range(30):
        if n and n % DESK_LOOKUPS_PER_MINUTE == 0:
            clock.shift(dt.timedelta(minutes=1))
        with pytest.raises(NotFound):
            desk_code_lookup(official=desk_official, code=f"ZZZZ{n:04d}")
    clock.shift(dt.timedelta(minutes=1))
    with pytest.raises(RateLimited):
        desk_code_lookup(official=desk_official, code=code)  # even the right code


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_desk_pages_in_every_language(client, desk_official, citizen, lang):
    client.force_login(desk_official)
    code, _ = desk_code_issue(actor=citizen)
    assert client.get(f"/{lang}/residents/in_person/desk/").status_code == 200
    page = client.post(f"/{lang}/residents/in_person/desk/", {"step": "lookup", "code": code})
    assert page.status_code == 200
    assert f'<html lang="{lang}"' in page.content.decode()
    assert citizen.email in page.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_code_raced_by_eight_desks_verifies_once(load, citizen):
    people = [person(n, "medeu") for n in range(8)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    officials = []
    for _n in range(8):
        official = OfficialFactory()
        official.user_permissions.add(Permission.objects.get(codename="verify_in_person"))
        officials.append(type(official).objects.get(pk=official.pk))
    code, _ = desk_code_issue(actor=citizen)
    jobs = [
        lambda o=o, p=p: resident_verify_in_person(official=o, code=code, iin=p[0]).verified_by_id
        for o, p in zip(officials, people, strict=True)
    ]
    outcomes = race(jobs)
    assert sorted(kind for kind, _ in outcomes) == ["ok"] + ["refused"] * 7, outcomes
    assert [value for kind, value in outcomes if kind == "refused"] == ["code_used"] * 7
    winner = next(value for kind, value in outcomes if kind == "ok")
    verification = ResidentVerification.objects.get()
    assert verification.user == citizen
    assert verification.verified_by_id == winner
    assert AuditEntry.objects.filter(action="resident.verified").count() == 1
