"""Settings switch by environment: embedded defaults, PostgreSQL, Redis, production."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
print(json.dumps({
    "db_engine": db["ENGINE"],
    "db_pool": db.get("OPTIONS", {}).get("pool"),
    "db_conn_max_age": db.get("CONN_MAX_AGE"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "email": settings.EMAIL_BACKEND,
    "debug": settings.DEBUG,
    "tz": settings.TIME_ZONE,
    "languages": [code for code, _ in settings.LANGUAGES],
}))
"""

SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "EMAIL_URL",
)


def probe(module="civic.settings.base", **env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env["DJANGO_SETTINGS_MODULE"] = module
    env.update(env_overrides)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_embedded_defaults_need_no_services():
    s = probe()
    assert s["db_engine"] == "django.db.backends.sqlite3"
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["layer"] == "channels.layers.InMemoryChannelLayer"
    assert s["eager"] is True
    assert s["broker"] == "memory://"
    assert s["email"] == "django.core.mail.backends.console.EmailBackend"
    assert s["tz"] == "Asia/Almaty"
    assert s["languages"] == ["kk", "ru", "en"]


def test_database_url_switches_to_postgres_with_pool():
    s = probe(DATABASE_URL="postgres://birge@db.example:5432/birge")
    assert s["db_engine"] == "django.db.backends.postgresql"
    assert s["db_pool"]["max_size"] >= 2
    # Django's pool requires persistent connections to be off.
    assert s["db_conn_max_age"] == 0
    # Redis-dependent parts stay embedded.
    assert s["layer"] == "channels.layers.InMemoryChannelLayer"


def test_redis_url_switches_cache_layer_and_broker():
    s = probe(REDIS_URL="redis://cache.example:6379/3")
    assert s["cache"] == "django_redis.cache.RedisCache"
    assert s["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert s["layer_hosts"][0]["address"] == "redis://cache.example:6379/3"
    assert s["layer_hosts"][0]["max_connections"] >= 50
    assert s["broker"] == "redis://cache.example:6379/3"
    assert s["eager"] is False
    assert s["db_engine"] == "django.db.backends.sqlite3"


def test_core_channel_layer_can_be_chosen():
    s = probe(REDIS_URL="redis://cache.example:6379/3", CHANNEL_LAYER="core")
    assert s["layer"] == "channels_redis.core.RedisChannelLayer"


def test_production_settings_pass_check_deploy():
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.production",
        DJANGO_SECRET_KEY="x" * 20 + "-production-secret-for-the-check-0123456789",
        DJANGO_ALLOWED_HOSTS="birge.example.kz",
        CENSUS_PEPPER="census-pepper-for-the-check-0123456789-abcdef",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in (*SERVICE_VARS, "DJANGO_SECRET_KEY")}
    env.update(DJANGO_SETTINGS_MODULE="civic.settings.production", DJANGO_ALLOWED_HOSTS="x.kz")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_env_example_lists_every_variable_read_by_settings():
    import re

    read = set()
    for path in (ROOT / "civic" / "settings").glob("*.py"):
        read |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', path.read_text()))
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line
    }
    assert read, "the settings read no variables?"
    assert read - documented == set()
