"""Authentication backends: Django's and allauth's, loading the signed-in user in one query.

Every request with a session loads its user, and every vote, comment and support asks whether
that user has a verified e-mail address (`accounts.permissions.is_citizen`). Through the ORM
that was a query for the user, then a cache round trip and, on a miss, a second query: about
2 ms of server CPU per vote on a 2-core machine (bench/vote_cpu.py). Here one raw statement
loads the user and answers the verified question with it, fresh on every request.

AUTHENTICATION_BACKENDS names these classes; sessions signed in under the library classes'
names are carried over by migration accounts/0003.
"""

from __future__ import annotations

from functools import cache

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import router

from civic.db import prepared_cursor


def user_with_verified(user_id):
    """The user `user_id` (None if there is none), with `_birge_verified` set: whether they
    have a verified e-mail address."""
    try:
        pk = int(user_id)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None
    User = get_user_model()
    alias = router.db_for_read(User)
    sql, fields, converted = _statement(alias)
    with prepared_cursor(alias) as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    values, verified = row[:-1], row[-1]
    if converted:
        # Through this thread's connection, as the ORM converts a row (SQLite only).
        compiler = User.objects.none().query.get_compiler(alias)
        columns = [field.get_col(User._meta.db_table) for field in User._meta.concrete_fields]
        values = next(compiler.apply_converters([list(values)], compiler.get_converters(columns)))
    user = User.from_db(alias, fields, values)
    user._birge_verified = bool(verified)
    return user


@cache
def _statement(alias: str):
    """The statement, its fields' names, and whether the database converts some of their
    values (SQLite's booleans and times; nothing on PostgreSQL), worked out once per database."""
    User = get_user_model()
    table = User._meta.db_table
    fields = User._meta.concrete_fields
    columns = ", ".join(f'u."{field.column}"' for field in fields)
    sql = (
        f"SELECT {columns}, EXISTS (SELECT 1 FROM {EmailAddress._meta.db_table} e"  # noqa: S608
        f" WHERE e.user_id = u.id AND e.verified) FROM {table} u WHERE u.id = %s"
    )
    compiler = User.objects.none().query.get_compiler(alias)
    converted = bool(compiler.get_converters([field.get_col(table) for field in fields]))
    return sql, [field.attname for field in fields], converted


class _OneQueryUser:
    def get_user(self, user_id):
        user = user_with_verified(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_OneQueryUser, DjangoModelBackend):
    """Django's ModelBackend (password sign-in by e-mail, permissions)."""


class AuthenticationBackend(_OneQueryUser, AllauthBackend):
    """allauth's backend (its sign-in flows)."""
