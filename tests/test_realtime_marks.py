"""Marks for the live pushes, batched per process (civic.realtime._RedisStore): every mark
reaches Redis within a few milliseconds, in far fewer round trips than marks; none is lost
while Redis is down; a tick in the marking process sends its own marks before it claims."""

from __future__ import annotations

import asyncio
import shutil
import time

import pytest
import redis

from civic.realtime import _RedisStore
from tests.test_sockets_redis_outage import PrivateRedis

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")


def _dirty(url: str, topic: str) -> set[int]:
    return {int(x) for x in redis.Redis.from_url(url).smembers(f"t:dirty:{topic}")}


def _wait_for(predicate, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path).start()
    yield server
    server.kill()


def test_many_marks_arrive_in_few_round_trips(private_redis):
    store = _RedisStore(private_redis.url, "t")
    client = redis.Redis.from_url(private_redis.url)
    before = int(client.info("stats")["total_commands_processed"])
    for item in range(500):
        store.mark("poll.results", item % 50)
    assert _wait_for(lambda: _dirty(private_redis.url, "poll.results") == set(range(50)))
    # Each SADD of a batch is one command: 500 marks took far fewer (the checks above
    # and this INFO are a few more).
    used = int(client.info("stats")["total_commands_processed"]) - before
    assert used < 100, used


def test_marks_made_while_redis_is_down_arrive_once_it_is_back(private_redis, tmp_path):
    store = _RedisStore(private_redis.url, "t")
    private_redis.kill()
    store.mark("poll.results", 7)
    time.sleep(0.6)  # the flush fails (a 0.5 s timeout) and keeps the mark
    assert store._pending == {"poll.results": {7}}
    private_redis.start()
    store.mark("poll.results", 8)
    assert _wait_for(lambda: _dirty(private_redis.url, "poll.results") == {7, 8}, timeout=5)


def test_a_tick_sends_its_own_process_marks_before_claiming(private_redis):
    store = _RedisStore(private_redis.url, "t")
    store.MARK_BATCH_SECONDS = 60  # the thread would send them only in a minute
    store.mark("poll.results", 3)
    assert _dirty(private_redis.url, "poll.results") == set()
    assert asyncio.run(store.claim("poll.results")) == [3]
