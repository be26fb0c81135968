"""The authentication backends (accounts/backends.py): the signed-in user and whether their
e-mail address is verified come in one query, fresh on every request; sessions signed in
under the library backends' names stay signed in across migration accounts/0003."""

from __future__ import annotations

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user
from django.contrib.sessions.backends.cached_db import SessionStore
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.backends import ModelBackend, user_with_verified
from accounts.permissions import is_citizen
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0003_session_backends")


def _request_with_session(session_key: str):
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key)
    return request


def test_one_query_loads_the_user_and_answers_verified():
    user = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        loaded = ModelBackend().get_user(user.pk)
        assert is_citizen(loaded)
    assert loaded.pk == user.pk and loaded.email == user.email
    assert len(queries) == 1


def test_verified_is_read_fresh_on_every_load():
    user = UserFactory(verified=False)
    assert is_citizen(user_with_verified(user.pk)) is False
    EmailAddress.objects.filter(user=user).update(verified=True)  # no signal, no cache entry
    assert is_citizen(user_with_verified(user.pk)) is True


@pytest.mark.parametrize("user_id", [None, "", "abc", "0", "-3", str(2**63), "999999999"])
def test_no_user_for_ids_no_user_has(user_id):
    assert ModelBackend().get_user(user_id) is None


def test_an_inactive_user_is_not_signed_in():
    user = UserFactory()
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert ModelBackend().get_user(user.pk) is None


@pytest.mark.parametrize("old_name", sorted(migration.RENAMED))
def test_a_session_under_a_library_backend_name_stays_signed_in(old_name):
    user = UserFactory()
    session = SessionStore()
    session.update(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: old_name,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )
    session.create()  # into the database and the cache
    assert get_user(_request_with_session(session.session_key)).is_authenticated is False

    migration.forwards(apps, None)

    assert get_user(_request_with_session(session.session_key)) == user
    stored = SessionStore(session.session_key).load()
    assert stored[BACKEND_SESSION_KEY] == migration.RENAMED[old_name]

    migration.backwards(apps, None)
    assert SessionStore(session.session_key).load()[BACKEND_SESSION_KEY] == old_name
