"""The embedded mode keeps its SQLite connections: a thread's requests share one connection
instead of opening it (and running its PRAGMAs) for every request, and the websockets'
database work shares one too.

Run in a fresh process on the base settings and a SQLite file, as the embedded server runs:
the suite's own database is an in-memory SQLite that Django never closes.
"""

import json
import subprocess
import sys

from tests.conftest import ROOT, server_env

PROBE = """
import asyncio, json
from civic.asgi import django_wsgi_app
from channels.db import database_sync_to_async
from django.db import connection
from django.test import RequestFactory


def request(path):
    environ = RequestFactory().get(path, HTTP_HOST="localhost").environ
    statuses = []
    response = django_wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    body = b"".join(response)
    response.close()  # as the server does: request_finished, close_old_connections
    assert body and statuses, statuses
    return id(connection.connection) if connection.connection is not None else None


def socket_work():
    connection.ensure_connection()
    return id(connection.connection)


async def sockets():
    return [await database_sync_to_async(socket_work)() for _ in range(2)]


print(json.dumps({"http": [request("/readyz"), request("/readyz")], "sockets": asyncio.run(sockets())}))
"""


def _probe(tmp_path, **env) -> dict:
    environment = server_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="", **env
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_finding_embedded_sqlite_keeps_connection(tmp_path):
    kept = _probe(tmp_path)
    first, second = kept["http"]
    assert first is not None and first == second  # two requests, one connection
    assert kept["sockets"][0] == kept["sockets"][1]

    # With connections closed after each request (SQLITE_CONN_MAX_AGE=0, as before),
    # nothing is left open between requests.
    closed = _probe(tmp_path, SQLITE_CONN_MAX_AGE="0")
    assert closed["http"] == [None, None]
