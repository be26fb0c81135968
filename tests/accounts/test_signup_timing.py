"""Sign-up must not tell a registered e-mail from a new one by how long it takes (issue 10,
section 5): with enumeration prevention on, a taken address creates nothing and gets an
"account already exists" mail; it must do the expensive work a new address does, i.e. hash the
password once with the production hasher, and send one mail the same way."""

from __future__ import annotations

from unittest import mock

import pytest
from django.conf import global_settings
from django.contrib.auth import hashers
from django.core import mail

from accounts.models import User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/en/accounts/signup/"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()
    yield
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


def signup_work(client, email: str) -> tuple[int, int, int]:
    """(status, password hashes computed with the default hasher, mails sent) of one sign-up."""
    hasher = hashers.get_hasher("default")
    mail.outbox.clear()
    with mock.patch.object(
        type(hasher), "encode", autospec=True, side_effect=type(hasher).encode
    ) as encode:
        response = client.post(
            SIGNUP,
            {"email": email, "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        )
    return response.status_code, encode.call_count, len(mail.outbox)


def test_finding_signup_timing_same_path(client, production_hashers):
    UserFactory(email="taken@example.kz")
    new = signup_work(client, "new@example.kz")
    client.logout()
    taken = signup_work(client, "taken@example.kz")
    assert new == (302, 1, 1)
    assert taken == new
    assert User.objects.filter(email="taken@example.kz").count() == 1


def test_a_refused_signup_costs_no_hash_either_way(client, production_hashers):
    # An invalid form (passwords differ) stops before any hashing, new or taken alike, so the
    # refusal cannot tell them apart either.
    UserFactory(email="taken@example.kz")
    for email in ("new@example.kz", "taken@example.kz"):
        hasher = hashers.get_hasher("default")
        with mock.patch.object(
            type(hasher), "encode", autospec=True, side_effect=type(hasher).encode
        ) as encode:
            response = client.post(
                SIGNUP,
                {"email": email, "password1": TEST_PASSWORD, "password2": "other-Passw0rd-x"},
            )
        assert response.status_code == 200
        assert encode.call_count == 0
