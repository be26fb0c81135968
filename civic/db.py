"""Database helpers shared by the apps."""

from __future__ import annotations

from django.db import connections


def bigint_array(values) -> str:
    """PostgreSQL's text form of a bigint[] ('{1,NULL}'), for a statement that casts its value
    (%s::bigint[]): psycopg's list dumper, written in Python, took more of a vote's CPU than
    all its other values together (3 % of a lean vote's instructions, callgrind)."""
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def prepared_cursor(using: str = "default"):
    """A cursor for a statement run on every vote: on PostgreSQL it sends its values apart
    from the statement (server-side binding), so psycopg prepares the statement once per
    connection (after its fifth use) and PostgreSQL stops parsing and planning it again,
    and nothing is quoted into its text. Django's own cursors bind on the client, which the
    rest of the code base keeps. Errors come as Django's, and tests' query capture sees it.
    Elsewhere (SQLite): Django's cursor."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)
