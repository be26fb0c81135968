"""Where a vote's server CPU goes, stage by stage: `python -m bench.vote_cpu [--tree PATH]`.

One process, one thread, real PostgreSQL and Redis: N authenticated votes (each a new voter,
as in the wrk load) are handed to the application exactly as the HTTP server hands them,
and the thread's CPU time (not wall time: waiting for PostgreSQL costs the server nothing)
is split by where it was spent, each stage counting only what its inner stages did not:
  auth     the session, the user, the verified check (their Redis and ORM work)
  service  vote_cast itself, its ORM and checks
  SQL      the database driver's side of every statement (cursor.execute)
  push     the mark for the live results, and the thread that sends marks to Redis
  request  everything else: building the request, middleware, routing, django-ninja,
           reading the JSON body, the answer
What the HTTP server adds (uvicorn, the ASGI hand-over) is not in here: the wrk load
measures the whole; the difference is the server's.

It measures the full Django chain, and the lean route where the tree has one
(civic/intake.py). `--tree` runs it on another checkout's code (make bench: the code
before), so both columns come from the same script. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

CSRF = "b" * 32
STAGES = ("request", "auth", "service", "sql", "push")


class Clock:
    """Exclusive thread-CPU time per stage, for stages nested in any order."""

    def __init__(self):
        self.total = dict.fromkeys(STAGES, 0.0)
        self.stack: list[list] = []

    def wrap(self, stage: str, function):
        def timed(*args, **kwargs):
            self.stack.append([stage, time.thread_time(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                name, start, inner = self.stack.pop()
                spent = time.thread_time() - start
                self.total[name] += spent - inner
                if self.stack:
                    self.stack[-1][2] += spent

        timed.__wrapped__ = function
        return timed


def instrument(clock: Clock) -> None:
    """Wrap the functions that mark each stage (the same names in both trees)."""
    import django.contrib.auth as auth
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.sessions.backends.cached_db import SessionStore
    from django.db.backends.utils import CursorWrapper

    import accounts.permissions
    import civic.realtime
    import polls.api
    import polls.services

    SessionStore.load = clock.wrap("auth", SessionStore.load)
    ModelBackend.get_user = clock.wrap("auth", ModelBackend.get_user)
    auth.get_user = clock.wrap("auth", auth.get_user)
    accounts.permissions.is_citizen = clock.wrap("auth", accounts.permissions.is_citizen)
    CursorWrapper.execute = clock.wrap("sql", CursorWrapper.execute)
    polls.services.vote_cast = clock.wrap("service", polls.services.vote_cast)
    polls.api.vote_cast = polls.services.vote_cast
    civic.realtime.mark_dirty = clock.wrap("push", civic.realtime.mark_dirty)
    try:
        import civic.intake

        civic.intake.get_user = auth.get_user
    except ImportError:
        pass


def flusher_cpu() -> float:
    """CPU time of the thread that sends marks to Redis (trees that batch marks)."""
    from civic import realtime

    store = realtime._get_store()
    thread = getattr(store, "_flusher", None)
    if thread is None or thread.ident is None:
        return 0.0
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def scope_for(poll_id: int, session: str, body: bytes) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/v1/polls/{poll_id}/votes",
        "raw_path": f"/api/v1/polls/{poll_id}/votes".encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", f"sessionid={session}; csrftoken={CSRF}".encode()),
            (b"x-csrftoken", CSRF.encode()),
        ],
    }


def run(label: str, handle, poll_id: int, choices: list[int], sessions: list[str], clock) -> dict:
    body = json.dumps({"choices": choices[:2]}).encode()
    for stage in STAGES:
        clock.total[stage] = 0.0
    flusher0 = flusher_cpu()
    statuses: dict[int, int] = {}
    request_stage = clock.wrap("request", handle)
    for session in sessions:
        status = request_stage(scope_for(poll_id, session, body), body)
        statuses[status] = statuses.get(status, 0) + 1
    time.sleep(0.05)  # the last marks leave
    clock.total["push"] += flusher_cpu() - flusher0
    n = len(sessions)
    return {
        "route": label,
        "votes": n,
        "statuses": statuses,
        "ms_per_vote": {stage: round(clock.total[stage] * 1000 / n, 3) for stage in STAGES},
        "total_ms_per_vote": round(sum(clock.total.values()) * 1000 / n, 3),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--votes", type=int, default=3000, help="votes per route")
    parser.add_argument("--out", help="write the JSON here (default bench/results/)")
    args = parser.parse_args(argv)
    tree = Path(args.tree).resolve()
    db_url = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/birge_bench")
    db_url = db_url.rsplit("/", 1)[0] + "/birge_bench_cpu"
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
    env = {
        "DJANGO_SETTINGS_MODULE": "civic.settings.base",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "ERROR",
        "CACHE_KEY_PREFIX": f"birge-cpu-{uuid.uuid4().hex[:6]}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    os.environ.update(env)
    set_up_tree(tree, db_url)
    routes = ["django", *(["lean"] if (tree / "civic" / "intake.py").exists() else [])]
    from bench.__main__ import seed  # this tree's copy: the vote benchmark's voters and polls

    data = seed(args.votes * len(routes) + 50)
    poll_id, choices = data["polls"]["load"]["id"], data["polls"]["load"]["choices"]
    sessions = data["sessions"]
    clock = Clock()
    from civic.asgi import django_wsgi_app

    instrument(clock)

    def through_django(scope, body):
        environ = _wsgi_environ(scope, body)  # as asgiref's WsgiToAsgi builds it
        statuses = []
        response = django_wsgi_app(environ, lambda status, headers: statuses.append(status))
        response.close()
        return int(statuses[0].split()[0])

    results = []
    warm = sessions[-50:]
    if "lean" in routes:
        from concurrent.futures import ThreadPoolExecutor

        from budgets.api import BALLOT_ROUTE
        from civic.intake import LeanRoutes
        from polls.api import VOTE_ROUTE

        lean = LeanRoutes(None, routes=[VOTE_ROUTE, BALLOT_ROUTE], executor=ThreadPoolExecutor(1))

        def through_lean(scope, body):
            match = VOTE_ROUTE.pattern.fullmatch(scope["path"])
            response = lean.respond(VOTE_ROUTE, match, scope, body)
            return response.status_code

        run("warm-up", through_lean, poll_id, choices, warm[:25], clock)
        results.append(
            run(
                "lean", through_lean, poll_id, choices, sessions[args.votes : 2 * args.votes], clock
            )
        )
    run("warm-up", through_django, poll_id, choices, warm[25:], clock)
    results.insert(
        0, run("django", through_django, poll_id, choices, sessions[: args.votes], clock)
    )
    report = {"tree": str(tree), "commit": _commit(tree), "routes": results}
    text = json.dumps(report, indent=2)
    out = Path(args.out) if args.out else tree / "bench" / "results" / "vote-cpu-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print_table([report])
    return report


def set_up_tree(tree: Path, db_url: str) -> None:
    """A new scratch database `db_url` with the migrations of `tree`, and Django set up in
    this process on that tree's code, whichever tree this file came from."""
    import psycopg

    base, name = db_url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=tree, env=os.environ, check=True
    )
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    for module in [m for m in sys.modules if m.split(".")[0] in ("civic", "polls", "bench")]:
        del sys.modules[module]
    import django

    django.setup()
    import civic

    # An editable install can lend a module the tree lacks: ask the tree's files, not imports.
    assert Path(civic.__file__).resolve().parent == tree / "civic", civic.__file__


def _wsgi_environ(scope, body):
    import io

    from asgiref.wsgi import WsgiToAsgiInstance

    builder = WsgiToAsgiInstance(None)
    builder.scope = scope
    return builder.build_environ(scope, io.BytesIO(body))


def _commit(tree: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=tree, capture_output=True, text=True
    ).stdout.strip()


def print_table(reports: list[dict]) -> None:
    columns = [(f"{r['commit']} {x['route']}", x) for r in reports for x in r["routes"]]
    names = {
        "request": "request (routing, middleware, body, answer)",
        "auth": "auth (session, user, verified)",
        "service": "service (vote_cast, its ORM)",
        "sql": "SQL (driver side)",
        "push": "push (live-results mark)",
    }
    width = max(len(n) for n in names.values())
    print(f"\n{'server CPU per vote, ms':<{width}}  " + "  ".join(f"{c:>20}" for c, _ in columns))
    print("-" * (width + 22 * len(columns)))
    for stage in STAGES:
        cells = "  ".join(f"{x['ms_per_vote'][stage]:>20.3f}" for _c, x in columns)
        print(f"{names[stage]:<{width}}  {cells}")
    cells = "  ".join(f"{x['total_ms_per_vote']:>20.3f}" for _c, x in columns)
    print(f"{'total in the application':<{width}}  {cells}")
    cells = "  ".join(f"{json.dumps(x['statuses']):>20}" for _c, x in columns)
    print(f"{'answers':<{width}}  {cells}")


if __name__ == "__main__":
    main()
