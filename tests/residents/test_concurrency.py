"""One IIN, one account under a real race on PostgreSQL (separate connections, one barrier)."""

import pytest
from django.db import connection

from residents.models import ResidentVerification
from residents.services import resident_verify_census
from tests.concurrency import race
from tests.factories import UserFactory

from .conftest import person, register_csv

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _at_once(jobs: int) -> int:
    """All 200 behind one barrier where the server has room (max_connections well over 200);
    else two rounds of 100 (the README's max_connections of 200 leaves no room for 200 plus
    the suite's own). Each IIN's two accounts are neighbours, so they always race together."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int")
        limit = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_stat_activity")
        in_use = cursor.fetchone()[0]
    return jobs if limit - in_use - 5 >= jobs else jobs // 2


def test_200_accounts_verifying_at_once_with_100_iins_make_100_residents_and_100_409(load):
    people = [person(n, ["medeu", "almaly"][n % 2]) for n in range(100)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    users = [UserFactory() for _ in range(200)]
    jobs = [
        lambda u=u, p=p: resident_verify_census(actor=u, iin=p[0], birth_date=p[1]).user_id
        for p, pair in zip(people, zip(users[::2], users[1::2], strict=True), strict=True)
        for u in pair
    ]
    outcomes = race(jobs, at_once=_at_once(200))
    assert len(outcomes) == 200
    for first, second in zip(outcomes[::2], outcomes[1::2], strict=True):
        assert sorted([first[0], second[0]]) == ["ok", "refused"], (first, second)
        assert "iin_taken" in (first[1], second[1])
    assert sum(kind == "ok" for kind, _ in outcomes) == 100
    assert ResidentVerification.objects.count() == 100
    assert ResidentVerification.objects.values("iin_key").distinct().count() == 100
    assert connection.vendor == "postgresql"
