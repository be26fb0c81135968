"""A Redis outage on a real server: socket handshakes never answer 500. Sockets opened while
Redis is down get their snapshot from the database and join their groups once it is back, so
live updates reach them again; the outage is logged in a few lines, not a traceback a socket.
"""

import asyncio
import json
import re
import shutil
import subprocess
import time

import pytest
import websockets

from tests.conftest import AsgiServer, api_vote, free_port, logged_in_http, server_env_on_test_db
from tests.factories import UserFactory, choice_ids, make_poll

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

RECHECK = 1.0  # the server's REALTIME_RECHECK_SECONDS
OUTAGE = 10.0  # seconds, as in the review


class PrivateRedis:
    """A redis-server of this test's own, on a free port, without persistence."""

    def __init__(self, directory):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    def start(self) -> "PrivateRedis":
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port).ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


async def _until(ws, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no such message within {timeout}s")
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        if predicate(message):
            return message


async def _drain(ws, seconds: float) -> list[dict]:
    messages, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), timeout=left)))
        except TimeoutError:
            break
    return messages


def test_finding_socket_handshake_during_redis_outage(tmp_path):
    redis_server = PrivateRedis(tmp_path).start()
    poll = make_poll()
    a = choice_ids(poll)[0]
    env = server_env_on_test_db(
        redis_server.url,
        REALTIME_RECHECK_SECONDS=str(RECHECK),
        # No periodic re-push: only a group a socket has (re)joined can bring it the vote.
        REALTIME_RESYNC_SECONDS="600",
    )
    server = AsgiServer(env).start()
    ws_url = server.url.replace("http", "ws") + f"/ws/polls/{poll.pk}/"
    try:
        http = logged_in_http(server.url, UserFactory())

        async def scenario():
            # The server has been serving sockets (its channel layer is connected) ...
            async with websockets.connect(ws_url, origin=server.url) as before:
                assert json.loads(await asyncio.wait_for(before.recv(), 10))["total_votes"] == 0
            # ... when Redis goes away.
            await asyncio.to_thread(redis_server.kill)
            killed = time.monotonic()
            log_size = server.log.stat().st_size

            async def open_one():
                ws = await websockets.connect(ws_url, origin=server.url, open_timeout=10)
                snapshot = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                return ws, snapshot

            # Any HTTP error on the handshake (the 500s) raises here.
            opened = await asyncio.gather(*[open_one() for _ in range(10)])
            during = [ws for ws, _ in opened]
            for _, snapshot in opened:
                assert snapshot["type"] == "results.snapshot"
                assert snapshot["total_votes"] == 0

            # The outage lasts OUTAGE seconds, the sockets kept open through it.
            await asyncio.gather(
                *[_drain(ws, OUTAGE - (time.monotonic() - killed)) for ws in during]
            )
            await asyncio.to_thread(redis_server.start)
            # A re-check later the outage sockets are in their groups again (they get a fresh
            # snapshot then); a socket opened now joins at once.
            await asyncio.gather(*[_drain(ws, 3 * RECHECK) for ws in during])
            async with websockets.connect(ws_url, origin=server.url) as after:
                assert json.loads(await asyncio.wait_for(after.recv(), 10))["total_votes"] == 0

                response = await asyncio.to_thread(api_vote, http, poll.pk, a)
                assert response.status_code == 201, response.text

                def counted(m):
                    return m["type"] == "results.update" and m["total_votes"] == 1

                await _until(after, counted, timeout=5)
                await asyncio.gather(*[_until(ws, counted, timeout=5) for ws in during])
            for ws in during:
                await ws.close()
            return log_size

        log_size = asyncio.run(scenario())
        outage_log = server.log.read_bytes()[log_size:].decode(errors="replace")
        # Ten refused handshakes would be ten tracebacks; a degraded one is not an error.
        assert "Exception in ASGI application" not in outage_log, outage_log[-3000:]
        records = re.findall(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", outage_log, re.M)
        assert len(records) <= 10, outage_log[-3000:]  # a handful of lines, throttled
    finally:
        server.stop()
        redis_server.kill()
