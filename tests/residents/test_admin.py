"""The admin shows imports and verifications read-only, never a key."""

import pytest

from residents.services import resident_verify_census
from tests.factories import UserFactory

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db


def test_admin_lists_are_read_only_and_show_no_iin(client, load):
    census = load(register_csv([person(1)]))
    user = UserFactory()
    resident_verify_census(actor=user, iin=person(1)[0], birth_date=person(1)[1])
    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    pages = [
        "/admin/residents/censusimport/",
        f"/admin/residents/censusimport/{census.pk}/change/",
        "/admin/residents/residentverification/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert person(1)[0].encode() not in response.content
    assert client.get("/admin/residents/censusimport/add/").status_code == 403
