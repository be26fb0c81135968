"""Real processes: the embedded server as `make run` starts it, and the full stack of
`make stack` (several ASGI workers, Celery worker and beat on PostgreSQL and Redis)."""

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid

import httpx
import pytest
import websockets

from tests.conftest import (
    ROOT,
    AsgiServer,
    free_port,
    migrate_and_seed,
    server_env,
    spare_redis_url,
    wait_for_http,
)

pytestmark = pytest.mark.server


def _migrate_and_seed(env):
    migrate_and_seed(env)


async def _ws_first_message(url: str, origin: str) -> dict:
    async with websockets.connect(url, origin=origin, open_timeout=10) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


def test_embedded_server_serves_pages_health_and_websockets(tmp_path):
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="")
    _migrate_and_seed(env)
    server = AsgiServer(env).start()
    try:
        for lang, heading in (
            ("kk", "Алматы бірге шешеді"),
            ("ru", "Алматы решает вместе"),
            ("en", "Almaty decides together"),
        ):
            page = httpx.get(f"{server.url}/{lang}/", timeout=10)
            assert page.status_code == 200
            assert heading in page.text
        health = httpx.get(server.url + "/healthz", timeout=10).json()
        assert health["status"] == "ok"
        assert health["database_vendor"] == "sqlite"
        ws_url = server.url.replace("http", "ws") + "/ws/health/"
        message = asyncio.run(_ws_first_message(ws_url, origin=server.url))
        assert message["type"] == "health.ok"
        with pytest.raises(websockets.exceptions.InvalidStatus):
            asyncio.run(_ws_first_message(ws_url, origin="http://evil.example"))
    finally:
        server.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_make_stack_runs_workers_celery_and_beat(settings):
    db_name = f"birge_stack_{uuid.uuid4().hex[:8]}"
    base = settings.DATABASES["default"]
    db_url = f"postgres://{base['USER'] or 'postgres'}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{db_name}"
    port = free_port()
    redis_url = spare_redis_url(settings)
    env = server_env(
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        PORT=str(port),
        WEB_WORKERS="2",
        # Production settings, tried out locally: plain HTTP and a generated secret key.
        BIRGE_LOCAL_TRIAL="true",
        CELERY_BEAT_SCHEDULE_FILENAME=str(ROOT / "var" / f"beat-{port}"),
    )
    log = ROOT / "var" / "test-logs" / f"stack-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    # Append mode: supervisord and its programs each open this file; with their own
    # offsets they would write over each other's lines.
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["./scripts/stack.sh"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=90)
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
            assert health["status"] == "ok", health
            assert health["database_vendor"] == "postgresql"
            # Two uvicorn worker processes serve the one port.
            deadline = time.monotonic() + 30
            while (
                log.read_bytes().count(b"Started server process") < 2
                and time.monotonic() < deadline
            ):
                time.sleep(0.5)
            assert log.read_bytes().count(b"Started server process") == 2
            # A Celery worker answers a ping over Redis; beat is running.
            from celery import Celery

            probe = Celery(broker=redis_url)
            replies = []
            deadline = time.monotonic() + 60
            while not replies and time.monotonic() < deadline:
                replies = probe.control.ping(timeout=2)
            assert replies, log.read_text(errors="replace")[-3000:]
            deadline = time.monotonic() + 30
            while b"beat: Starting" not in log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert b"beat: Starting" in log.read_bytes()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            import psycopg

            admin = db_url.rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
