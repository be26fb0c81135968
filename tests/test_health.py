"""GET /healthz in both states: everything up, and the database down (a real server)."""

import pytest

from tests.conftest import AsgiServer, free_port, migrate_and_seed, server_env

pytestmark = pytest.mark.django_db


def test_healthz_ok(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok"}
    assert body["failing"] == []
    assert body["database_vendor"] == ("postgresql" if settings.DATABASE_IS_POSTGRES else "sqlite")
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_ready_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready" and body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}


@pytest.mark.redis
def test_healthz_reports_redis_backed_parts(client, settings):
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
    body = client.get("/healthz").json()
    assert body["checks"]["cache"] == "ok"
    assert body["checks"]["channel_layer"] == "ok"


@pytest.mark.server
def test_healthz_503_names_the_database_when_it_is_down(tmp_path):
    # A real server whose PostgreSQL is unreachable (nothing listens on that port).
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/birge"
    server = AsgiServer(server_env(DATABASE_URL=dead, DATABASE_POOL="false", REDIS_URL=""))
    # The server answers /healthz even without a database, so start() succeeds.
    server.start()
    try:
        import httpx

        response = httpx.get(server.url + "/healthz", timeout=15)
    finally:
        server.stop()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert "database" in body["failing"]
    assert body["checks"]["database"].startswith("error")
    assert body["checks"]["cache"] == "ok"


@pytest.mark.server
@pytest.mark.redis
def test_healthz_degraded_but_up_when_redis_is_down(tmp_path):
    db = tmp_path / "h.sqlite3"
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    env = server_env(DATABASE_URL=f"sqlite:///{db}", REDIS_URL=dead_redis)

    migrate_and_seed(env, seed=False)
    server = AsgiServer(env).start()
    try:
        import httpx

        response = httpx.get(server.url + "/healthz", timeout=15)
        ready = httpx.get(server.url + "/readyz", timeout=15)
    finally:
        server.stop()
    # Alive (a restart would not bring Redis back), but not ready for traffic.
    assert ready.status_code == 503
    assert {"cache", "channel_layer", "broker"} <= set(ready.json()["failing"])
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert set(body["failing"]) == {"cache", "channel_layer"}
    assert body["checks"]["database"] == "ok"
