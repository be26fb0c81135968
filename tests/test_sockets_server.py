"""Sockets follow their user's rights on the full stack: a real server on this test's
PostgreSQL and a Redis of its own; the role revoked by `manage.py grant_role --revoke` in
another process, the password changed through the server from another session. Each open
socket is closed within 5 s with its code, and gets no data after the change."""

import asyncio
import json
import shutil
import subprocess
import sys
import time

import pytest
import websockets
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.conftest import ROOT, AsgiServer, logged_in_http, server_env_on_test_db, session_key
from tests.factories import TEST_PASSWORD, OfficialFactory, make_poll
from tests.test_sockets_redis_outage import PrivateRedis

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

CLOSE_WITHIN = 5.0


async def _dashboard(server, key: str):
    ws = await websockets.connect(
        server.url.replace("http", "ws") + "/ws/dashboard/",
        origin=server.url,
        additional_headers={"Cookie": f"sessionid={key}"},
    )
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "dashboard.snapshot"
    return ws


async def _closed_within(ws, started: float) -> tuple[int, float, list]:
    """Every frame that came after `started`, then the close code and when it came."""
    after = []
    try:
        while True:
            left = started + CLOSE_WITHIN + 1 - time.monotonic()
            after.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=max(left, 0.01))))
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None, time.monotonic() - started, after


def test_finding_revoked_and_password_changed_sockets_close_on_a_real_server(tmp_path):
    redis_server = PrivateRedis(tmp_path).start()
    # Rechecks far apart: what closes the sockets is the push through Redis.
    env = server_env_on_test_db(redis_server.url, REALTIME_RECHECK_SECONDS="60")
    server = AsgiServer(env).start()
    revoked, changing = OfficialFactory(), OfficialFactory()
    # The server checks passwords with its own hashers (the test settings' MD5 is not one).
    changing.password = PBKDF2PasswordHasher().encode(TEST_PASSWORD, "birge-test-salt")
    changing.save(update_fields=["password"])
    make_poll(official=revoked)  # so the dashboard has something to push
    revoked_key, changing_key = session_key(revoked), session_key(changing)
    other_device = logged_in_http(server.url, changing)
    phone_key = other_device.cookies.get("sessionid")
    try:

        async def scenario():
            revoked_ws = await _dashboard(server, revoked_key)
            old_ws = await _dashboard(server, changing_key)
            await asyncio.sleep(0.5)  # the opening pushes

            # The role, taken away from another process: the command's push crosses Redis.
            started = time.monotonic()
            await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "manage.py", "grant_role", revoked.email,
                 "--role", "official", "--revoke"],
                cwd=ROOT, env=env, check=True, capture_output=True,
            )  # fmt: skip
            code, took, after = await _closed_within(revoked_ws, started)
            # The command's process starts in the meantime: a periodic push sent before its
            # commit may come first; no snapshot, and nothing after the close.
            assert all(m["type"] == "dashboard.update" for m in after), after
            assert code == 4403 and took < CLOSE_WITHIN, (code, took)

            # The password, changed on the other device through the server.
            started = time.monotonic()
            response = await asyncio.to_thread(
                other_device.post,
                "/en/accounts/password/change/",
                data={"oldpassword": TEST_PASSWORD, "password1": "a-New-passw0rd-2026",
                      "password2": "a-New-passw0rd-2026"},
                headers={"X-CSRFToken": other_device.cookies["csrftoken"]},
            )  # fmt: skip
            assert response.status_code == 302, response.text[-2000:]
            code, took, after = await _closed_within(old_ws, started)
            assert code == 4401 and took < CLOSE_WITHIN, (code, took)
            assert all(m["type"] == "dashboard.update" for m in after), after
            # The changed password's own session goes on on the server.
            # (The server set the cycled session's cookie: the jar has it for its domain.)
            keys = {c.value for c in other_device.cookies.jar if c.name == "sessionid"}
            (new_key,) = keys - {phone_key}
            fresh = await _dashboard(server, new_key)
            await fresh.close()

        asyncio.run(scenario())
    finally:
        server.stop()
        redis_server.kill()
