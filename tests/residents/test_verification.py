"""Verifying an account against the register: match, refusals, one IIN one account, removal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models

from audit.models import AuditEntry
from civic.errors import Conflict, Forbidden, NotAuthenticated, NotFound
from residents.iin import BadIIN
from residents.models import ResidentVerification
from residents.selectors import resident_district_id, verification_of
from residents.services import resident_verify_census, verification_remove
from tests.factories import UserFactory, district

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def register(load):
    people = [person(n, slug) for n, slug in enumerate(["medeu", "almaly"] * 3)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


def test_a_match_makes_a_verified_resident_of_the_registers_district(register, citizen):
    iin, born, _ = register[1]
    citizen.district = district("medeu")  # the profile's district counts for nothing
    citizen.save()
    verification = resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    assert verification.iin_last4 == iin[-4:]
    state = verification_of(citizen)
    assert state["level"] == "resident"
    assert state["district"] == district("almaly").pk
    assert state["method"] == "census"
    assert state["verified_at"] is not None
    assert resident_district_id(citizen) == district("almaly").pk
    entry = AuditEntry.objects.get(action="resident.verified")
    assert entry.data == {
        "method": "census",
        "district": district("almaly").pk,
        "iin_last4": iin[-4:],
    }


def test_verifying_again_with_the_same_iin_is_fine(register, citizen):
    iin, born, _ = register[0]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    assert ResidentVerification.objects.count() == 1


def test_bad_iin_comes_first(register, citizen):
    iin, born, _ = register[0]
    with pytest.raises(BadIIN) as caught:
        resident_verify_census(actor=citizen, iin=iin[:11] + "x", birth_date=born)
    assert (caught.value.code, caught.value.status) == ("bad_iin", 422)
    with pytest.raises(BadIIN) as caught:
        resident_verify_census(actor=citizen, iin=iin, birth_date=born + dt.timedelta(days=1))
    assert caught.value.reason == "birth_date"
    failures = AuditEntry.objects.filter(action="resident.verify_failed")
    assert [e.data["code"] for e in failures] == ["bad_iin", "bad_iin"]


def test_a_valid_iin_not_in_the_register(register, citizen):
    iin, born, _ = person(999)
    with pytest.raises(NotFound) as caught:
        resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    assert (caught.value.code, caught.value.status) == ("not_in_register", 404)
    assert verification_of(citizen)["level"] == "email"


def test_no_register_loaded_means_not_in_register(citizen):
    iin, born, _ = person(1)
    with pytest.raises(NotFound):
        resident_verify_census(actor=citizen, iin=iin, birth_date=born)


def test_one_iin_one_account(register, citizen):
    iin, born, _ = register[0]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    other = UserFactory()
    with pytest.raises(Conflict) as caught:
        resident_verify_census(actor=other, iin=iin, birth_date=born)
    assert (caught.value.code, caught.value.status) == ("iin_taken", 409)
    assert verification_of(other)["level"] == "email"
    assert ResidentVerification.objects.get().user == citizen


def test_only_signed_in_citizens_with_a_confirmed_email_verify(register, unverified_user):
    from django.contrib.auth.models import AnonymousUser

    iin, born, _ = register[0]
    with pytest.raises(NotAuthenticated):
        resident_verify_census(actor=AnonymousUser(), iin=iin, birth_date=born)
    with pytest.raises(Forbidden):
        resident_verify_census(actor=unverified_user, iin=iin, birth_date=born)


def test_removing_a_verification_frees_the_iin(register, citizen):
    iin, born, _ = register[0]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    assert verification_remove(actor=citizen) is True
    assert verification_of(citizen)["level"] == "email"
    assert verification_remove(actor=citizen) is False
    other = UserFactory()
    resident_verify_census(actor=other, iin=iin, birth_date=born)
    assert verification_of(other)["level"] == "resident"
    assert AuditEntry.objects.filter(action="resident.verification_removed").count() == 1


def test_a_stale_verification_counts_as_email_and_a_new_one_refreshes_it(register, citizen):
    from django.utils import timezone

    iin, born, _ = register[0]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    ResidentVerification.objects.update(stale_at=timezone.now())
    assert verification_of(citizen) == {
        "level": "email",
        "district": None,
        "method": None,
        "verified_at": None,
    }
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    assert verification_of(citizen)["level"] == "resident"


def test_no_raw_iin_anywhere_in_the_residents_tables_or_the_audit_log(load, caplog):
    caplog.set_level("DEBUG")
    people = [person(n) for n in range(8)]
    bad = [(people[0][0], people[0][1] + dt.timedelta(days=1), "medeu")]
    census = load(register_csv([*people, *bad, people[3]]))
    assert census.rows_rejected == 2
    users = [UserFactory() for _ in range(4)]
    for user, (iin, born, _) in zip(users, people, strict=False):
        resident_verify_census(actor=user, iin=iin, birth_date=born)
    with pytest.raises(Conflict):
        resident_verify_census(actor=UserFactory(), iin=people[0][0], birth_date=people[0][1])
    with pytest.raises(NotFound):
        resident_verify_census(actor=users[0], iin=person(500)[0], birth_date=person(500)[1])
    needles = [p[0] for p in people] + [person(500)[0]]
    hex_needles = [n.encode().hex() for n in needles]
    tables = [m for m in apps.get_app_config("residents").get_models()]
    tables.append(AuditEntry)
    scanned = 0
    with connection.cursor() as cursor:
        for model in tables:
            columns = [f.column for f in model._meta.concrete_fields]
            cursor.execute(
                f"SELECT {', '.join(connection.ops.quote_name(c) for c in columns)} "  # noqa: S608
                f"FROM {connection.ops.quote_name(model._meta.db_table)}"
            )
            for row in cursor.fetchall():
                for value in row:
                    text = (
                        bytes(value).hex() if isinstance(value, bytes | memoryview) else str(value)
                    )
                    scanned += 1
                    for needle, hex_needle in zip(needles, hex_needles, strict=True):
                        assert needle not in text, model
                        assert hex_needle not in text, model
    assert scanned > 50
    # Nor in the error report.
    report = Path(census.error_report.path).read_text(encoding="utf-8")
    assert not any(n in report for n in needles)
    assert not any(n in caplog.text for n in needles)
    assert isinstance(ResidentVerification._meta.get_field("iin_key"), models.BinaryField)
