"""Real processes on real services: two ASGI servers on one Redis, and Redis going down.

The servers use this test's PostgreSQL database, so what the test writes they read.
"""

import asyncio
import json
import shutil
import subprocess
import time

import pytest
import websockets

from tests.conftest import AsgiServer, api_vote, free_port, logged_in_http, server_env_on_test_db
from tests.factories import UserFactory, choice_ids, make_poll

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
]


async def _next_with_total(ws, total: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no message with total_votes={total} in {timeout}s")
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        if message.get("total_votes") == total:
            return message


def test_a_vote_through_one_process_reaches_a_socket_of_another(settings):
    poll = make_poll()
    a = choice_ids(poll)[0]
    voter = UserFactory()
    server_a = AsgiServer(server_env_on_test_db(settings.REDIS_URL)).start()
    server_b = AsgiServer(server_env_on_test_db(settings.REDIS_URL)).start()
    try:
        http = logged_in_http(server_a.url, voter)

        async def scenario():
            url = server_b.url.replace("http", "ws") + f"/ws/polls/{poll.pk}/"
            async with websockets.connect(url, origin=server_b.url) as ws:
                snapshot = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                assert snapshot["type"] == "results.snapshot" and snapshot["total_votes"] == 0
                response = await asyncio.to_thread(api_vote, http, poll.pk, a)
                assert response.status_code == 201, response.text
                update = await _next_with_total(ws, 1, timeout=5)
                assert update["type"] == "results.update"
                assert update["choices"][0] == {"id": a, "votes": 1}
                assert update["seq"] > snapshot["seq"]

        asyncio.run(scenario())
    finally:
        server_a.stop()
        server_b.stop()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server binary")
def test_redis_down_vote_still_counts_and_sockets_resync(tmp_path):
    port = free_port()

    def start_redis():
        proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                redis.Redis(port=port).ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    redis_proc = start_redis()
    poll = make_poll()
    a, b, _ = choice_ids(poll)
    server = AsgiServer(server_env_on_test_db(f"redis://127.0.0.1:{port}/0")).start()
    try:
        http = logged_in_http(server.url, UserFactory())
        http2 = logged_in_http(server.url, UserFactory())

        async def scenario():
            nonlocal redis_proc
            url = server.url.replace("http", "ws") + f"/ws/polls/{poll.pk}/"
            async with websockets.connect(url, origin=server.url) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), timeout=10))["total_votes"] == 0
                redis_proc.terminate()
                redis_proc.wait(timeout=10)
                # Redis is down: the vote is still accepted and counted.
                response = await asyncio.to_thread(api_vote, http, poll.pk, a)
                assert response.status_code == 201, response.text
                results = (
                    await asyncio.to_thread(http.get, f"/api/v1/polls/{poll.pk}/results")
                ).json()
                assert results["total_votes"] == 1
                health = (await asyncio.to_thread(http.get, "/healthz")).json()
                assert health["status"] == "degraded" and "channel_layer" in health["failing"]
                # Redis returns: the socket is brought up to date without a reload.
                redis_proc = await asyncio.to_thread(start_redis)
                update = await _next_with_total(ws, 1, timeout=15)
                assert update["choices"][0]["votes"] == 1
                # And pushes flow again for new votes.
                response = await asyncio.to_thread(api_vote, http2, poll.pk, b)
                assert response.status_code == 201
                update = await _next_with_total(ws, 2, timeout=10)
                assert update["choices"][1]["votes"] == 1

        asyncio.run(scenario())
    finally:
        server.stop()
        redis_proc.terminate()
