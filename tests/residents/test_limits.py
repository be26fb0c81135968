"""Guessing limits on verification: failures per account and per address, then 429.

The limits live in the service (resident_verify_census), so pages and API share them; the
API tests here go through HTTP, the service tests call it directly. Time is moved with
time-machine, never slept.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client

from audit.models import AuditEntry
from civic.errors import NotFound, RateLimited
from residents.iin import iin_make
from residents.models import ResidentVerification
from residents.services import resident_verify_census
from tests.factories import UserFactory

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db

VERIFY = "/api/v1/me/verification"
START = dt.datetime(2026, 3, 2, 10, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
def register(load):
    people = [person(n) for n in range(30)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


@pytest.fixture
def clock():
    # Five seconds into an hour: the whole test runs inside one window of the fixed limits.
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def stranger(n: int) -> tuple[str, str]:
    """A valid IIN that no register holds."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n)
    return iin_make(born, 9000 + n), born.isoformat()


def attempt(client, iin, birth_date, address="10.0.0.1"):
    return client.post(
        VERIFY,
        json.dumps({"iin": iin, "birth_date": birth_date}),
        content_type="application/json",
        REMOTE_ADDR=address,
    )


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_five_failures_an_hour_then_429_even_with_the_right_iin(register, citizen, clock):
    client = signed_in(citizen)
    codes = []
    for n in range(3):
        codes.append(attempt(client, *stranger(n)).json()["code"])
    codes.append(attempt(client, "123", "1980-01-01").json()["code"])
    taken_iin, taken_born, _ = register[0]
    holder = UserFactory()
    resident_verify_census(actor=holder, iin=taken_iin, birth_date=taken_born)
    codes.append(attempt(client, taken_iin, taken_born.isoformat()).json()["code"])
    assert codes == ["not_in_register"] * 3 + ["bad_iin", "iin_taken"]

    iin, born, _ = register[1]
    response = attempt(client, iin, born.isoformat())
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response.json()["detail"]
    retry_after = int(response["Retry-After"])
    assert 3590 <= retry_after <= 3600
    assert not ResidentVerification.objects.filter(user=citizen).exists()
    # Refused before validating: even nonsense is 429, not 422.
    assert attempt(client, "x", "y").status_code == 429
    # Another account from another address is not limited.
    assert attempt(signed_in(UserFactory()), iin, born.isoformat(), "10.9.9.9").status_code == 200


def test_a_new_window_frees_the_account(register, citizen, clock):
    client = signed_in(citizen)
    for n in range(5):
        assert attempt(client, *stranger(n)).status_code == 404
    iin, born, _ = register[0]
    assert attempt(client, iin, born.isoformat()).status_code == 429
    clock.shift(dt.timedelta(minutes=59))
    assert attempt(client, iin, born.isoformat()).status_code == 429
    clock.shift(dt.timedelta(minutes=1))
    response = attempt(client, iin, born.isoformat())
    assert response.status_code == 200
    assert response.json()["level"] == "resident"


def test_successes_do_not_count(register, citizen, clock):
    client = signed_in(citizen)
    iin, born, _ = register[0]
    for _ in range(10):
        assert attempt(client, iin, born.isoformat()).status_code == 200
    for n in range(4):
        assert attempt(client, *stranger(n)).status_code == 404
    assert attempt(client, iin, born.isoformat()).status_code == 200
    assert attempt(client, *stranger(10)).status_code == 404
    assert attempt(client, iin, born.isoformat()).status_code == 429


def test_a_bad_birth_date_is_not_counted(register, citizen, clock):
    client = signed_in(citizen)
    for _ in range(8):
        assert attempt(client, register[0][0], "01.01.1980").status_code == 422
    assert attempt(client, register[0][0], register[0][1].isoformat()).status_code == 200


def test_twenty_failures_an_address_across_accounts(register, clock):
    accounts = [signed_in(UserFactory()) for _ in range(5)]
    n = 0
    for client in accounts:
        for _ in range(4):
            assert attempt(client, *stranger(n), address="192.0.2.7").status_code == 404
            n += 1
    fresh = signed_in(UserFactory())
    iin, born, _ = register[0]
    response = attempt(fresh, iin, born.isoformat(), address="192.0.2.7")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # The same account from another address may verify.
    assert attempt(fresh, iin, born.isoformat(), address="192.0.2.8").status_code == 200
    # Each of those accounts is below its own limit: from elsewhere they still try.
    assert attempt(accounts[0], *stranger(99), address="192.0.2.9").status_code == 404
    clock.shift(dt.timedelta(hours=1))
    other_iin, other_born, _ = register[1]
    assert attempt(accounts[1], other_iin, other_born.isoformat(), "192.0.2.7").status_code == 200


def test_ipv6_addresses_of_one_block_count_together(register, clock):
    clients = [signed_in(UserFactory()) for _ in range(5)]
    for n in range(20):
        address = f"2001:db8:1:2::{n + 1:x}"
        assert attempt(clients[n // 4], *stranger(n), address=address).status_code == 404
    iin, born, _ = register[0]
    response = attempt(signed_in(UserFactory()), iin, born.isoformat(), "2001:db8:1:2::ffff")
    assert response.status_code == 429


def test_failures_and_refusals_are_audit_logged_without_the_iin(register, citizen, clock):
    client = signed_in(citizen)
    tried = []
    for n in range(5):
        iin, born = stranger(n)
        tried.append(iin)
        attempt(client, iin, born)
    iin, born, _ = register[0]
    tried.append(iin)
    assert attempt(client, iin, born.isoformat()).status_code == 429
    failed = AuditEntry.objects.filter(action="resident.verify_failed", actor=citizen)
    assert failed.count() == 5
    assert {e.data["code"] for e in failed} == {"not_in_register"}
    throttled = AuditEntry.objects.get(action="resident.verify_throttled", actor=citizen)
    assert throttled.data == {"method": "census", "limit": "account"}
    dump = json.dumps([e.data for e in AuditEntry.objects.all()])
    for iin in tried:
        assert iin not in dump
        assert iin[:8] not in dump


def test_the_service_applies_the_limits_for_pages_too(register, citizen, clock):
    for n in range(5):
        with pytest.raises(NotFound):
            resident_verify_census(
                actor=citizen,
                iin=stranger(n)[0],
                birth_date=dt.date.fromisoformat(stranger(n)[1]),
                address="198.51.100.1",
            )
    iin, born, _ = register[0]
    with pytest.raises(RateLimited) as refused:
        resident_verify_census(actor=citizen, iin=iin, birth_date=born, address="198.51.100.2")
    assert refused.value.retry_after > 0
    # The address counted too: a fresh account from it has 15 left before the address limit.
    other = UserFactory()
    assert resident_verify_census(actor=other, iin=iin, birth_date=born, address="198.51.100.1")


def test_the_limits_come_from_settings(register, citizen, clock, settings):
    settings.RESIDENT_VERIFY_LIMITS = {"account": 2, "address": 100, "window": 600}
    client = signed_in(citizen)
    for n in range(2):
        assert attempt(client, *stranger(n)).status_code == 404
    response = attempt(client, *stranger(3))
    assert response.status_code == 429
    assert int(response["Retry-After"]) <= 600
    clock.shift(dt.timedelta(minutes=10))
    assert attempt(client, *stranger(3)).status_code == 404
