"""Shared fixtures. Service-backed tests are marked; under CI=true a missing service fails the
test instead of skipping it, so CI can never pass by quietly skipping the real thing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _redis_ok() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
    except Exception:
        return False
    return True


def _browser_ok() -> bool:
    if not Path(CHROMIUM).exists():
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and not settings.DATABASE_IS_POSTGRES:
        _missing("this test needs PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("redis") and not _redis_ok():
        _missing("this test needs Redis (set REDIS_URL to a running server)")
    if item.get_closest_marker("browser") and not _browser_ok():
        _missing(f"this test needs Playwright and Debian's chromium at {CHROMIUM}")


def _clear_cache():
    from django.core.cache import cache

    if settings.REDIS_URL:
        # Delete only this suite's keys: never FLUSHDB a Redis someone else may use.
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}:*", count=500):
            client.delete(key)
        client.close()
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _isolated_cache():
    _clear_cache()
    yield


@pytest.fixture(autouse=True)
def _forget_poll_meta():
    # Test databases hand out the same ids again after a rollback; production never does.
    from polls.services import _meta_cache

    _meta_cache.clear()
    yield
    _meta_cache.clear()


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    # Tests name the language they want; the default keeps assertion messages readable.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def citizen(db):
    from tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def unverified_user(db):
    from tests.factories import UserFactory

    return UserFactory(verified=False)


@pytest.fixture
def official(db):
    from tests.factories import OfficialFactory

    return OfficialFactory()


@pytest.fixture
def moderator(db):
    from tests.factories import ModeratorFactory

    return ModeratorFactory()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except Exception as exc:
            last = exc
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not answer: {last}")


class AsgiServer:
    """A real uvicorn process serving Birge on a free port."""

    def __init__(self, env: dict[str, str], workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.workers = workers
        self.proc: subprocess.Popen | None = None
        self.log = ROOT / "var" / "test-logs" / f"uvicorn-{self.port}.log"

    def start(self) -> AsgiServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if self.env.get("DJANGO_DEBUG", "").lower() in ("false", "0", "no", "off"):
            collect_static_once(self.env)
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "civic.asgi:application",
            "--ws-per-message-deflate",
            "false",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
        ]
        self._logfile = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._logfile, stderr=subprocess.STDOUT
        )
        try:
            wait_for_http(self.url + "/healthz")
        except RuntimeError:
            self.stop()
            raise RuntimeError(self.log.read_text(errors="replace")[-3000:]) from None
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if getattr(self, "_logfile", None):
            self._logfile.close()


_static_collected = False


def collect_static_once(env: dict[str, str]) -> None:
    """Without DEBUG the manifest storage serves only collected files, as in production."""
    global _static_collected
    if not _static_collected:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        _static_collected = True


def server_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["DJANGO_SETTINGS_MODULE"] = "civic.settings.base"
    env.update(overrides)
    return env


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def artifacts_dir() -> Path:
    path = ROOT / "var" / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def have_executable(name: str) -> bool:
    return shutil.which(name) is not None
