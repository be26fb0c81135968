"""Safe deployment defaults: what ships in docker-compose.yml, production settings, seed_demo,
the embedded mode's error pages, forwarded headers, and `make stack` under supervisord.

Each test is named after a finding of the outside review (issue 10, section 1)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import yaml
from django.core.management import CommandError, call_command

from tests.conftest import (
    IN_CI,
    ROOT,
    AsgiServer,
    collect_static_once,
    free_port,
    migrate_and_seed,
    server_env,
    spare_redis_url,
    wait_for_http,
)

EMBEDDED_KEY = "embedded-mode-only-insecure-key-change-me-for-any-deployment"
STRONG_KEY = "k" * 10 + "-deploy-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
PEPPER = "deploy-test-census-pepper-0123456789-abcdefghij"
# What docker-compose.yml requires from the operator.
SECRETS = {"DJANGO_SECRET_KEY": STRONG_KEY, "CENSUS_PEPPER": PEPPER}
COMPOSE = ROOT / "docker-compose.yml"
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")
TRUE = {"true", "1", "yes", "on", "y"}


# --- docker compose config, without Docker -----------------------------------------------------

_VAR = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


class MissingVariable(Exception):
    pass


def _interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's variable interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}."""

    def repl(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("plain"):
            return environ.get(match.group("plain"), "")
        expr = match.group("braced")
        name, op, arg = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-?+]|)(.*)", expr, re.S).groups()
        value = environ.get(name)
        unset_or_empty = value is None or (op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset_or_empty else value
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return value
        if op in (":+", "+"):
            return "" if unset_or_empty else arg
        return value or ""

    return _VAR.sub(repl, value)


def _walk(node, environ):
    if isinstance(node, dict):
        return {key: _walk(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(value, environ) for value in node]
    if isinstance(node, str):
        return _interpolate(node, environ)
    return node


def compose_config(environ: dict[str, str]) -> dict:
    """What `docker compose config` shows for the shipped file in the given environment (no
    .env file): YAML anchors and merge keys resolved, variables interpolated."""
    return _walk(yaml.safe_load(COMPOSE.read_text()), environ)


def _env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _command_text(service: dict) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def test_finding_compose_has_no_demo_mode():
    config = compose_config(SECRETS)
    services = config["services"]
    for name, service in services.items():
        demo = _env_of(service).get("BIRGE_DEMO_MODE", "false").lower()
        assert demo not in TRUE, f"{name} runs in demo mode"
        assert "seed_demo" not in _command_text(service), f"{name} runs seed_demo"
    assert "migrate" in _command_text(services["migrate"])
    # Only an operator who asks gets demo mode.
    asked = compose_config({**SECRETS, "BIRGE_DEMO_MODE": "true"})
    assert _env_of(asked["services"]["web"])["BIRGE_DEMO_MODE"] == "true"


def test_finding_compose_has_no_known_secret_key():
    # The key has no default: compose refuses to start without one.
    with pytest.raises(MissingVariable, match="DJANGO_SECRET_KEY"):
        compose_config({})
    # Nor without the census pepper (production settings would refuse too).
    with pytest.raises(MissingVariable, match="CENSUS_PEPPER"):
        compose_config({"DJANGO_SECRET_KEY": STRONG_KEY})
    text = COMPOSE.read_text()
    assert EMBEDDED_KEY not in text
    config = compose_config(SECRETS)
    for name, service in config["services"].items():
        key = _env_of(service).get("DJANGO_SECRET_KEY")
        if key is not None:
            assert key == STRONG_KEY, f"{name} has a key of its own"
            assert _env_of(service)["DJANGO_SETTINGS_MODULE"] == "civic.settings.production"
            assert _env_of(service)["CENSUS_PEPPER"] == PEPPER, f"{name} lacks the pepper"
    # .env.example (copied to .env, which compose reads) presents no usable key and no demo mode.
    for line in (ROOT / ".env.example").read_text().splitlines():
        assert not re.match(r"\s*DJANGO_SECRET_KEY\s*=\s*\S", line), line
        assert not re.match(r"\s*CENSUS_PEPPER\s*=\s*\S", line), line
        assert not re.match(r"\s*BIRGE_DEMO_MODE\s*=\s*(?i:true|1|yes|on)", line), line
    assert EMBEDDED_KEY not in (ROOT / ".env.example").read_text()


def test_finding_only_the_proxy_publishes_a_port_and_web_trusts_only_it():
    config = compose_config(SECRETS)
    services = config["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["image"].startswith("nginx:")
    proxy_ip = services["proxy"]["networks"]["default"]["ipv4_address"]
    # The proxy's fixed address is outside the range handed to other containers.
    import ipaddress

    pool = config["networks"]["default"]["ipam"]["config"][0]
    assert ipaddress.ip_address(proxy_ip) in ipaddress.ip_network(pool["subnet"])
    assert ipaddress.ip_address(proxy_ip) not in ipaddress.ip_network(pool["ip_range"])
    web = services["web"]
    assert "*" not in _command_text(web)
    assert "--forwarded-allow-ips" in _command_text(web)
    assert _env_of(web)["FORWARDED_ALLOW_IPS"] == proxy_ip
    assert "*" not in (ROOT / "Dockerfile").read_text().split("CMD", 1)[1]
    # The proxy replaces any forwarded address a client sent, and passes websockets through.
    nginx = (ROOT / "deploy" / "nginx" / "birge-common.inc").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "proxy_set_header Upgrade $http_upgrade;" in nginx
    assert "proxy_set_header Connection $connection_upgrade;" in nginx
    assert "server web:8000;" in (ROOT / "deploy" / "nginx" / "birge.conf").read_text()


# --- production settings and seed_demo ---------------------------------------------------------


def _manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (*SERVICE_VARS, "DJANGO_SECRET_KEY", "BIRGE_DEMO_MODE", "DJANGO_DEBUG")
        and not k.startswith("PYTEST")
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _production(**overrides: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "civic.settings.production",
        "DJANGO_ALLOWED_HOSTS": "birge.example.kz",
        "CENSUS_PEPPER": PEPPER,
        **overrides,
    }


def test_finding_production_refuses_embedded_key():
    embedded = _manage(
        "check", "--deploy", "--fail-level", "WARNING", **_production(DJANGO_SECRET_KEY=EMBEDDED_KEY)
    )
    assert embedded.returncode != 0
    assert "ImproperlyConfigured" in embedded.stderr
    assert "published key" in embedded.stderr
    short = _manage("check", "--deploy", **_production(DJANGO_SECRET_KEY="s3cr3t-" * 7))  # 49
    assert short.returncode != 0
    assert "at least 50" in short.stderr
    ok = _manage(
        "check", "--deploy", "--fail-level", "WARNING", **_production(DJANGO_SECRET_KEY=STRONG_KEY)
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_finding_seed_demo_refuses_in_production(tmp_path):
    refused = _manage(
        "seed_demo",
        **_production(
            DJANGO_SECRET_KEY=STRONG_KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
        ),
    )
    assert refused.returncode != 0
    assert "BIRGE_DEMO_MODE=true" in refused.stderr
    assert "Demo accounts" not in refused.stdout


@pytest.mark.django_db
def test_seed_demo_refuses_production_settings_unless_demo_mode_is_asked_for(settings):
    from accounts.models import User

    settings.PRODUCTION_SETTINGS = True
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="BIRGE_DEMO_MODE=true"):
        call_command("seed_demo")
    assert not User.objects.filter(email__endswith="@demo.birge.kz").exists()


def test_embedded_settings_keep_demo_mode_and_production_turns_it_off():
    probe = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.DEMO_MODE, settings.DEBUG)"
    )

    def demo_and_debug(**settings_env) -> list[str]:
        env = {**_env_without("BIRGE_DEMO_MODE", "DJANGO_DEBUG"), **settings_env}
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
        )
        return out.stdout.split()

    assert demo_and_debug(DJANGO_SETTINGS_MODULE="civic.settings.base") == ["True", "False"]
    assert demo_and_debug(**_production(DJANGO_SECRET_KEY=STRONG_KEY)) == ["False", "False"]


def _env_without(*names: str) -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k not in (*SERVICE_VARS, *names) and not k.startswith("PYTEST")
    }


# --- the embedded mode: DEBUG off, Birge's own error pages -------------------------------------


def test_debug_is_off_unless_a_developer_turns_it_on():
    probe = "import django; from django.conf import settings; django.setup(); print(settings.DEBUG)"

    def debug(**extra):
        env = {**_env_without("DJANGO_DEBUG"), "DJANGO_SETTINGS_MODULE": "civic.settings.base"}
        env.update(extra)
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
        )
        return out.stdout.strip()

    assert debug() == "False"
    assert debug(DJANGO_DEBUG="true") == "True"


@pytest.mark.server
def test_finding_embedded_mode_debug_off(tmp_path):
    """`make run` without DJANGO_DEBUG: a mistyped URL gets Birge's 404 page in the reader's
    language, not Django's technical page with the URL map; static files still serve without
    collectstatic."""
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", REDIS_URL="")
    env.pop("DJANGO_DEBUG", None)
    migrate_and_seed(env, seed=False)
    server = AsgiServer(env).start()
    try:
        for lang, text in (
            ("kk", "Бет табылмады"),
            ("ru", "Страница не найдена"),
            ("en", "Page not found"),
        ):
            page = httpx.get(f"{server.url}/{lang}/no-such-page/", timeout=10)
            assert page.status_code == 404
            assert text in page.text
            assert "URLconf" not in page.text and "DEBUG = True" not in page.text
        css = httpx.get(f"{server.url}/static/css/birge.css", timeout=10)
        assert css.status_code == 200 and len(css.content) > 100
    finally:
        server.stop()


# --- forwarded headers -------------------------------------------------------------------------

LOGIN = "/en/accounts/login/"
TOO_MANY = "Too many failed login attempts"


def _wrong_logins(http: httpx.Client, count: int, *, forged: bool) -> int:
    """`count` wrong passwords on as many accounts, each with another forged X-Forwarded-For;
    how many the per-address limit refused."""
    refused = 0
    for n in range(count):
        page = http.get(LOGIN)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        headers = {"X-Forwarded-For": f"203.0.113.{n + 1}"} if forged else {}
        response = http.post(
            LOGIN,
            data={
                "csrfmiddlewaretoken": token,
                "login": f"resident{n}@forged.example",
                "password": "not-the-password",
            },
            headers=headers,
        )
        if response.status_code == 429 or TOO_MANY in response.text:
            refused += 1
        else:
            assert response.status_code == 200, response.status_code
    return refused


def _compose_web_server(tmp_path, proxy: str | None = None) -> tuple[subprocess.Popen, str, int]:
    """uvicorn started exactly as docker-compose.yml's web service starts it (its command and
    FORWARDED_ALLOW_IPS, or `proxy` as the proxy's address), on a free local port and a fresh
    SQLite database."""
    config = compose_config(SECRETS)
    web = config["services"]["web"]
    shell = web["command"][-1]
    assert "--host 0.0.0.0 --port 8000" in shell
    port = free_port()
    shell = shell.replace("--host 0.0.0.0 --port 8000", f"--host 127.0.0.1 --port {port}")
    # The service's own environment (production settings), with the database and Redis of
    # the compose network swapped for a local SQLite file and the in-memory layers.
    env = server_env(**_env_of(web))
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL="",
        WEB_WORKERS="1",
        FORWARDED_ALLOW_IPS=proxy or env["FORWARDED_ALLOW_IPS"],
        PATH=f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}",
    )
    assert env["DJANGO_SETTINGS_MODULE"] == "civic.settings.production"
    collect_static_once(env)
    migrate_and_seed(env, seed=False)
    users = (
        "from accounts.models import User; User.objects.bulk_create("
        "[User(email=f'resident{n}@forged.example', password='!') for n in range(30)])"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", users], cwd=ROOT, env=env, check=True
    )
    log = ROOT / "var" / "test-logs" / f"compose-web-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["sh", "-c", shell], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/healthz", timeout=60)
    except RuntimeError:
        proc.kill()
        raise RuntimeError(log.read_text(errors="replace")[-3000:]) from None
    return proc, url, port


@pytest.mark.server
def test_finding_forged_forwarded_for_does_not_defeat_login_limit(tmp_path):
    """30 wrong logins on 30 accounts from one direct client, each with another forged
    X-Forwarded-For, against the web service as docker-compose.yml runs it: the per-address
    limit (allauth: 10 failed logins a minute per address) refuses all past the tenth."""
    proc, url, _port = _compose_web_server(tmp_path)
    try:
        with httpx.Client(base_url=url, timeout=20) as http:
            refused = _wrong_logins(http, 30, forged=True)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert refused == 20


def _nginx_in_front(tmp_path, upstream_port: int) -> tuple[subprocess.Popen, str]:
    """deploy/nginx/ as shipped, with only the upstream and the listening port made local."""
    conf_d = tmp_path / "nginx" / "conf.d"
    conf_d.mkdir(parents=True)
    port = free_port()
    common = conf_d / "birge-common.inc"
    common.write_text((ROOT / "deploy" / "nginx" / "birge-common.inc").read_text())
    site = (ROOT / "deploy" / "nginx" / "birge.conf").read_text()
    for old, new in (
        ("server web:8000;", f"server 127.0.0.1:{upstream_port};"),
        ("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;"),
        ("/etc/nginx/conf.d/birge-common.inc", str(common)),
    ):
        assert old in site
        site = site.replace(old, new)
    (conf_d / "birge.conf").write_text(site)
    prefix = tmp_path / "nginx"
    (prefix / "nginx.conf").write_text(
        f"""daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {conf_d}/*.conf;
}}
"""
    )
    cmd = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf")]
    checked = subprocess.run([*cmd, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + "/healthz", timeout=20)
    return proc, url


@pytest.mark.server
def test_finding_proxy_replaces_forged_forwarded_for_and_passes_websockets(tmp_path):
    """The shipped nginx configuration in front of the web service, which trusts it: a client
    that forges X-Forwarded-For through the proxy is still counted by its own address, and
    websockets work through the proxy."""
    if not shutil.which("nginx"):
        reason = "this test needs nginx (apt-get install nginx-core)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    web, _web_url, web_port = _compose_web_server(tmp_path, proxy="127.0.0.1")
    proxy = None
    try:
        proxy, url = _nginx_in_front(tmp_path, web_port)
        with httpx.Client(base_url=url, timeout=20) as http:
            refused = _wrong_logins(http, 30, forged=True)
        assert refused == 20
        ws_url = url.replace("http", "ws") + "/ws/health/"
        message = asyncio.run(_ws_first_message(ws_url, origin=url))
        assert message["type"] == "health.ok"
        # A register upload (80 MB for the whole city) passes the proxy's 25 MB body limit
        # and reaches Birge, which answers for itself; any other path keeps the limit.
        body = b"x" * (26 * 1024 * 1024)
        with httpx.Client(base_url=url, timeout=60) as http:
            census = http.post("/api/v1/census/imports", content=body)
            other = http.post("/api/v1/polls", content=body)
        assert census.status_code in (401, 403), census.text[:200]  # Birge refuses it itself
        assert census.json()["code"]  # JSON from Birge, not an nginx page
        assert other.status_code == 413
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=20)
        web.terminate()
        web.wait(timeout=20)


async def _ws_first_message(url: str, origin: str) -> dict:
    import websockets

    async with websockets.connect(url, origin=origin, open_timeout=10) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


@pytest.mark.django_db
def test_login_limit_counts_the_peer_address_not_a_forwarded_header(client):
    refused = 0
    for n in range(15):
        response = client.post(
            LOGIN,
            {"login": f"resident{n}@forged.example", "password": "not-the-password"},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n + 1}",
        )
        refused += response.status_code == 429 or TOO_MANY in response.content.decode()
    assert refused == 5


# --- make stack under supervisord --------------------------------------------------------------


def test_stack_refuses_production_without_its_settings_or_the_trial_opt_in():
    if (ROOT / ".env").exists():
        pytest.skip("a .env file beside manage.py may set the key")
    env = _env_without(
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "CENSUS_PEPPER", "BIRGE_LOCAL_TRIAL"
    )
    result = subprocess.run(
        ["./scripts/stack.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "CENSUS_PEPPER" in result.stderr
    assert "BIRGE_LOCAL_TRIAL=true" in result.stderr


def _ctl(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "supervisorctl"), "-c", "deploy/supervisord.conf", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()


def _running_pid(env: dict[str, str], name: str) -> int:
    status = _ctl(env, "status", name)
    if "RUNNING" not in status:
        return 0
    out = _ctl(env, "pid", name)
    return int(out) if out.isdigit() else 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.server
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.timeout(300)
def test_finding_stack_survives_one_crashed_process(settings):
    """`make stack` under supervisord: beat killed, then the Celery worker killed; each comes
    back as a new process while the web workers keep answering /healthz, and SIGTERM stops all."""
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
        BIRGE_LOCAL_TRIAL="true",
        CELERY_BEAT_SCHEDULE_FILENAME=str(ROOT / "var" / f"beat-{port}"),
    )
    ctl_env = {**env, "BIRGE_VAR": str(ROOT / "var")}
    log = ROOT / "var" / "test-logs" / f"stack-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    health = f"http://127.0.0.1:{port}/healthz"
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
    pids: dict[str, int] = {}
    try:
        wait_for_http(health, timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pids = {name: _running_pid(ctl_env, name) for name in ("web", "worker", "beat")}
            if all(pids.values()):
                break
            time.sleep(0.5)
        assert all(pids.values()), _ctl(ctl_env, "status")
        web_pid = pids["web"]
        answers: list[int] = []
        for name in ("beat", "worker"):
            old = pids[name]
            os.kill(old, signal.SIGKILL)
            new = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                answers.append(httpx.get(health, timeout=5).status_code)
                new = _running_pid(ctl_env, name)
                if new and new != old:
                    break
                time.sleep(0.2)
            assert new and new != old, f"{name} did not come back: {_ctl(ctl_env, 'status')}"
            assert _running_pid(ctl_env, "web") == web_pid
            pids[name] = new
        assert answers and set(answers) == {200}, answers
        # The restarted worker takes work again: it answers a ping over Redis.
        from celery import Celery

        probe = Celery(broker=redis_url)
        replies = []
        deadline = time.monotonic() + 60
        while not replies and time.monotonic() < deadline:
            replies = probe.control.ping(timeout=2)
        assert replies, log.read_text(errors="replace")[-3000:]
        # SIGTERM to supervisord (stack.sh exec'd it) stops every process.
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(_alive(pid) for pid in pids.values())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        import psycopg

        admin = db_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
