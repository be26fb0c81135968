"""Server CPU per vote in the embedded mode: `python -m bench.embedded_votes`.

The embedded server (one uvicorn process, SQLite, no Redis) on a scratch database takes N
authenticated API votes from a few client threads, once with SQLite connections closed after
every request (SQLITE_CONN_MAX_AGE=0, as before issue 10) and once kept (the default). The
server process's CPU time (user + system, from /proc) divided by the votes is printed for
each. Not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _votes(env: dict, poll: dict, sessions: list[str], threads: int) -> dict:
    import httpx

    from bench.__main__ import CSRF

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "civic.asgi:application", "--port", str(port),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=10) as http:  # warm up: imports, templates
            for _ in range(20):
                http.get("/readyz")

        local = threading.local()

        def vote(session: str) -> int:
            # One kept-alive client per thread, as browsers keep their connection.
            http = getattr(local, "http", None) or httpx.Client(base_url=url, timeout=30)
            local.http = http
            return http.post(
                f"/api/v1/polls/{poll['id']}/votes",
                json={"choices": poll["choices"][:1]},
                headers={"X-CSRFToken": CSRF, "Cookie": f"sessionid={session}; csrftoken={CSRF}"},
            ).status_code

        cpu0, t0 = _cpu_seconds(server.pid), time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            statuses = list(pool.map(vote, sessions))
        cpu, wall = _cpu_seconds(server.pid) - cpu0, time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(10)
    accepted = statuses.count(201)
    return {
        "votes": accepted,
        "refused": len(statuses) - accepted,
        "cpu_ms_per_vote": round(cpu * 1000 / max(accepted, 1), 2),
        "votes_per_s": round(accepted / wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="votes in each run")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="birge-embedded-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=f"sqlite:///{scratch / 'db.sqlite3'}",
        REDIS_URL="",
        LOG_LEVEL="WARNING",
    )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from bench.__main__ import seed

    call_command("migrate", verbosity=0)
    seeded = seed(args.n)
    runs = {
        "closed after each request (SQLITE_CONN_MAX_AGE=0)": (
            {**env, "SQLITE_CONN_MAX_AGE": "0"},
            seeded["polls"]["load"],
        ),
        "kept (default)": ({**env, "SQLITE_CONN_MAX_AGE": ""}, seeded["polls"]["burst"]),
    }
    for name, (run_env, poll) in runs.items():
        result = _votes(run_env, poll, seeded["sessions"], args.threads)
        print(
            f"{name:52} {result['cpu_ms_per_vote']:6.2f} ms CPU/vote  "
            f"{result['votes_per_s']:7.1f} votes/s  ({result['votes']} votes, "
            f"{result['refused']} refused)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
