"""Shared fixtures. Service-backed tests are marked; under CI=true a missing service fails the
test instead of skipping it, so CI can never pass by quietly skipping the real thing."""

from __future__ import annotations

import asyncio
import io
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


def _axe_ok() -> bool:
    return (ROOT / "node_modules" / "axe-core" / "axe.min.js").exists()


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


# `make test` runs the suite in two processes (pytest-xdist, --dist loadgroup): each test file
# is one group, so a module's fixtures are built once; files that must not overlap share one.
_GROUPS = {
    # They hold up to 100 PostgreSQL connections each: two at once would exceed the server's 200.
    "concurrency": (
        "tests/polls/test_concurrency.py",
        "tests/budgets/test_concurrency.py",
        "tests/communities/test_concurrency.py",
        "tests/dialogue/test_concurrency.py",
        "tests/residents/test_concurrency.py",
        "tests/residents/test_in_person.py",
    ),
    # Whole stacks under supervisord, and the static files collected into var/static for them.
    "stack": ("tests/test_server.py", "tests/test_deploy.py"),
}
_GROUP_OF = {path: group for group, paths in _GROUPS.items() for path in paths}


# The longest groups start first, so that no process is left with one at the end.
_FIRST = ("browser", "fuzz", "stack")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    groups = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if item.get_closest_marker("browser"):
            # One browser at a time: live pages are timed against pushes, and two browsers
            # with their servers on two cores made them miss (a swap in mid-click).
            group = "browser"
        elif path.startswith("tests/fuzz/"):
            # The fuzz files share one summary (tests/fuzz/conftest.py): one process runs them.
            group = "fuzz"
        else:
            group = _GROUP_OF.get(path, path)
        groups[item] = group
        item.add_marker(pytest.mark.xdist_group(group))
    if config.getoption("numprocesses", None):
        items.sort(key=lambda item: _FIRST.index(groups[item]) if groups[item] in _FIRST else 9)


def spare_redis_url(settings) -> str:
    """A Redis database beside the suite's own (the next number), for a whole stack a test
    starts: under pytest-xdist each process has its own pair (civic/settings/test.py)."""
    base, _, number = settings.REDIS_URL.rpartition("/")
    return f"{base}/{int(number or 0) + 1}"


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and not settings.DATABASE_IS_POSTGRES:
        _missing("this test needs PostgreSQL (set DATABASE_URL)")
    if item.get_closest_marker("redis") and not _redis_ok():
        _missing("this test needs Redis (set REDIS_URL to a running server)")
    if item.get_closest_marker("browser") and not _browser_ok():
        _missing(f"this test needs Playwright and Debian's chromium at {CHROMIUM}")
    if item.get_closest_marker("axe") and not _axe_ok():
        _missing("this test needs axe-core: run `npm ci` at the repository root")


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
    from budgets.services import forget_round_meta
    from polls.services import _meta_cache

    _meta_cache.clear()
    forget_round_meta()
    yield
    _meta_cache.clear()
    forget_round_meta()


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


_static_collected: set[str] = set()


def collect_static_once(env: dict[str, str]) -> None:
    """Collect static files once per settings module: production's manifest storage serves
    only files collected with its manifest, which base settings' storage does not write."""
    module = env.get("DJANGO_SETTINGS_MODULE", "")
    if module not in _static_collected:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        _static_collected.add(module)


_templates: dict[bool, Path] = {}


def migrate_and_seed(env: dict[str, str], *, seed: bool = True) -> None:
    """`migrate`, and `seed_demo` unless `seed` is false, for the database of `env`, as
    `make run` does. A SQLite database is copied from one this test process prepared once
    (the same schema and the same demo Almaty each time, which take seconds to write); another
    database is prepared in place."""
    import sqlite3
    import tempfile

    url = env.get("DATABASE_URL", "")
    commands = [["migrate", "-v0"], *([["seed_demo"]] if seed else [])]

    def run(run_env):
        for cmd in commands:
            subprocess.run(
                [sys.executable, "manage.py", *cmd],
                cwd=ROOT,
                env=run_env,
                check=True,
                capture_output=True,
                timeout=300,
            )

    if not url.startswith("sqlite:///"):
        run(env)
        return
    if seed not in _templates:
        template = Path(tempfile.mkdtemp(prefix="birge-template-")) / "db.sqlite3"
        run({**env, "DATABASE_URL": f"sqlite:///{template}"})
        _templates[seed] = template
    source = sqlite3.connect(_templates[seed])
    target = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


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
            _close_connections_beside_playwright()


def _close_connections_beside_playwright() -> None:
    """ORM calls a test made beside Playwright's event loop hold connections of their own:
    give them back to the pool, or later tests wait for a connection in vain. Django sees the
    loop and calls this async-unsafe; it is not, it is this thread's own connection."""
    from django.db import connections

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        connections.close_all()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def artifacts_dir() -> Path:
    path = ROOT / "var" / "test-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def have_executable(name: str) -> bool:
    return shutil.which(name) is not None


# --- Servers on this test's database, and people signed in to them -------------------------


def db_url_for_server() -> str:
    """The URL of this test's PostgreSQL database, for a server process the test starts, so
    that what the test writes the server reads."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env_on_test_db(redis_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a production-like server (no DEBUG, a 100 ms ticker) on this test's
    database and the given Redis."""
    return server_env(
        DATABASE_URL=db_url_for_server(),
        REDIS_URL=redis_url,
        REALTIME_TICK_MS="100",
        DJANGO_DEBUG="false",
        **overrides,
    )


def server_env_sharing(settings) -> dict[str, str]:
    """As server_env_on_test_db(), on this test's Redis and with its cache key prefix too, so
    that a change this test marks the server sees."""
    return server_env_on_test_db(settings.REDIS_URL, CACHE_KEY_PREFIX=settings.CACHE_KEY_PREFIX)


def session_key(user) -> str:
    """The key of a fresh session signed in as `user`, valid for any server on this database."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def session_cookie(user, server_url: str) -> dict:
    """A browser (Playwright) cookie signing `user` in to the server at `server_url`."""
    return {"name": "sessionid", "value": session_key(user), "url": server_url}


def session_cookie_header(user) -> str:
    """A Cookie header value signing `user` in, for a websocket handshake."""
    return f"sessionid={session_key(user)}"


def logged_in_http(server_url: str, user):
    """An httpx client signed in as `user`, holding a CSRF cookie."""
    import httpx

    http = httpx.Client(base_url=server_url, timeout=10)
    http.cookies.set("sessionid", session_key(user))
    http.get("/en/")  # receives the CSRF cookie
    return http


def api_vote(http, poll_id: int, choice: int):
    """One vote through the API with a client from logged_in_http()."""
    return http.post(
        f"/api/v1/polls/{poll_id}/votes",
        json={"choices": [choice]},
        headers={"X-CSRFToken": http.cookies["csrftoken"]},
    )


def left_ms(started: float, limit_ms: float = 1000) -> float:
    """What is left of `limit_ms` since `started` (a time.monotonic()), failing when nothing."""
    left = limit_ms - (time.monotonic() - started) * 1000
    assert left > 0, f"over {limit_ms:g} ms have passed already"
    return left


# --- Races on real, separate connections ---------------------------------------------------


# --- Sockets through the ASGI application, in-process ---------------------------------------

WS_ORIGIN = (b"origin", b"http://localhost:8000")
REALTIME_TICK = 0.1  # seconds, as fresh_realtime sets it


@pytest.fixture
async def fresh_realtime(settings):
    """A fast ticker and an empty realtime store; the tickers stopped afterwards. Modules use
    it with pytest.mark.usefixtures("fresh_realtime")."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    from civic import realtime

    settings.REALTIME_TICK_MS = int(REALTIME_TICK * 1000)
    realtime.reset_store()
    yield
    await realtime.stop_tickers()
    await end_leftover_tasks()
    realtime.reset_store()
    # The ORM calls of the test ran in asgiref's worker thread: close its connection, so that
    # the test database can be dropped at the end of the run.
    await sync_to_async(connections.close_all)()


async def end_leftover_tasks(timeout: float = 15) -> None:
    """Cancel what a test left running on its event loop (consumers, the channel layer's
    reader), asking again until each has ended. A cancel that a library turns into a timeout
    and retries is otherwise lost, and the loop's own teardown would wait for that task
    forever. Fails with the stacks of any task still running after `timeout` seconds."""
    from civic.realtime import cancel_until_done

    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    left = await cancel_until_done(others, timeout=timeout)
    if left:
        stacks = io.StringIO()
        for task in left:
            task.print_stack(file=stacks)
        pytest.fail(f"{len(left)} tasks would not end:\n{stacks.getvalue()}")


async def ws_connect(path: str, user=None, timeout: float = 1):
    """A connected WebsocketCommunicator on `path`, signed in as `user` if one is given."""
    from asgiref.sync import sync_to_async
    from channels.testing import WebsocketCommunicator

    from civic.asgi import application

    headers = [WS_ORIGIN]
    if user is not None:
        cookie = await sync_to_async(session_cookie_header)(user)
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=timeout)
    assert connected
    return communicator


async def ws_drain(communicator, seconds: float) -> list[dict]:
    """Every message that arrives within `seconds` (without cancelling the app on timeout)."""
    messages, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await communicator.receive_nothing(timeout=0.05, interval=0.01):
            continue
        messages.append(await communicator.receive_json_from(timeout=1))
    return messages
