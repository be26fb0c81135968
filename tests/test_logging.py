"""One outage logs a handful of lines, not thousands (civic.logging.ThrottleRepeats)."""

from __future__ import annotations

import logging

import httpx
import pytest

from civic.logging import ThrottleRepeats
from tests.conftest import AsgiServer, free_port, migrate_and_seed, server_env


def _record(msg: str, level: int = logging.WARNING, name: str = "birge.test") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_the_same_warning_passes_once_per_interval_then_says_how_many_were_dropped(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("civic.logging.time.monotonic", lambda: clock[0])
    throttle = ThrottleRepeats(seconds=60)
    passed = [throttle.filter(_record("cache down: %s")) for _ in range(500)]
    assert passed.count(True) == 1
    # Another message, or another logger, is not held back by the first.
    assert throttle.filter(_record("database down"))
    assert throttle.filter(_record("cache down: %s", name="other"))
    clock[0] += 61
    again = _record("cache down: %s")
    assert throttle.filter(again)
    assert "[499 more like this in the last 60 s]" in again.msg


def test_info_records_are_never_held_back():
    throttle = ThrottleRepeats(seconds=60)
    assert all(throttle.filter(_record("tick", level=logging.INFO)) for _ in range(50))


@pytest.mark.server
@pytest.mark.redis
def test_finding_redis_outage_logs_a_handful_of_lines(tmp_path):
    """A server whose Redis is gone answers 200 requests; its log stays short."""
    db = tmp_path / "o.sqlite3"
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    env = server_env(DATABASE_URL=f"sqlite:///{db}", REDIS_URL=dead_redis)
    migrate_and_seed(env, seed=False)
    server = AsgiServer(env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=15) as http:
            statuses = [http.get(path).status_code for path in ("/en/", "/en/polls/") * 100]
    finally:
        server.stop()
    assert set(statuses) == {200}
    lines = server.log.read_text(errors="replace").splitlines()
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    assert tracebacks <= 10, "\n".join(lines[-80:])
    assert len(lines) <= 300, f"{len(lines)} lines:\n" + "\n".join(lines[:120])
