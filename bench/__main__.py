"""Vote-path and live-results benchmark on the full stack: `make bench` (python -m bench).

Needs a local PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL) and wrk
(`apt-get install wrk`). It creates a scratch database, seeds users with sessions, starts
real uvicorn workers and measures:
  votes/s accepted and vote latency p50/p99 (wrk, authenticated API votes),
  a 10,000-vote burst: 0 lost, 0 doubled,
  vote-sent-to-socket latency p50/p99 at 1, 100, 1,000 and 5,000 subscribers,
  server memory per websocket, server CPU per vote,
  the channels-redis core and pub/sub layers side by side for fan-out,
  server CPU per vote stage by stage (bench/vote_cpu.py) and, where valgrind is installed,
  the server's instructions per vote (bench/vote_instructions.py: a count that machine noise
  does not move).
Prints a table and writes bench/results/votes-<time>.json (and latest.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "var" / "bench"
CSRF = "b" * 32  # an unmasked CSRF secret: the cookie and the header carry the same value

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/birge_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- Setup ------------------------------------------------------------------------------------


def recreate_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_env(layer: str = "pubsub") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=DB_URL,
        REDIS_URL=REDIS_URL,
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
        CHANNEL_LAYER=layer,
        CACHE_KEY_PREFIX="birge-bench",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return env


def django_setup() -> None:
    os.environ.update(server_env())
    import django

    django.setup()


def seed(n_users: int, n_codes: int = 0) -> dict:
    """Users with verified e-mail and a live session each; open polls (one also takes
    printed ballot codes: `n_codes` of them); an open budget round."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import Role, User
    from accounts.services import role_grant
    from polls.models import Poll
    from polls.services import ChoiceInput, PollInput, poll_create, poll_open

    official = User.objects.create_user("official@bench.birge.kz", "bench-official-pass")
    EmailAddress.objects.create(user=official, email=official.email, verified=True, primary=True)
    role_grant(actor=None, user=official, role=Role.OFFICIAL)

    users = [
        User(email=f"voter{i}@bench.birge.kz", password="!" + get_random_string(30))
        for i in range(n_users)
    ]
    User.objects.bulk_create(users, batch_size=5000)
    users = list(User.objects.filter(email__startswith="voter").order_by("pk"))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
        batch_size=5000,
    )
    store = SessionStore()
    expire = timezone.now() + timezone.timedelta(days=1)
    sessions, keys = [], []
    for u in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(u.pk),
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: u.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expire)
        )
        keys.append(key)
    Session.objects.bulk_create(sessions, batch_size=5000)
    # A sign-in saves the session through the cached_db engine, i.e. into the cache as well:
    # the voters here are signed in the same way, so the vote path reads sessions from Redis.
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import caches

    session_cache = caches[settings.SESSION_CACHE_ALIAS]
    for start in range(0, len(keys), 5000):
        session_cache.set_many(
            {
                KEY_PREFIX + key: store.decode(session.session_data)
                for key, session in zip(
                    keys[start : start + 5000], sessions[start : start + 5000], strict=True
                )
            },
            settings.SESSION_COOKIE_AGE,
        )

    labels = [
        ("Экология", "Экология", "Ecology"),
        ("Көлік", "Транспорт", "Transport"),
        ("Денсаулық", "Здоровье", "Health"),
        ("Мәдениет", "Культура", "Culture"),
        ("Әлеуметтік өмір", "Социальная жизнь", "Social life"),
        ("Қалалық орта", "Городская среда", "Urban space"),
    ]
    polls = {}
    for name in ("load", "burst", "fanout", "warmup", "watched", "codes"):
        now = timezone.now()
        poll = poll_create(
            actor=official,
            data=PollInput(
                title_kk=name,
                title_ru=name,
                title_en=name,
                choices=[ChoiceInput(*c) for c in labels],
                kind=Poll.Kind.MULTIPLE,
                max_choices=3,
                opens_at=now,
                closes_at=now + timezone.timedelta(hours=6),
                # The bench's voters are e-mail accounts (a resident poll adds one indexed
                # lookup of the voter's verification to the vote path).
                eligibility="email",
                # Guests with printed ballot codes vote on this one (and accounts too).
                ballot_mode=Poll.BallotMode.BOTH if name == "codes" else Poll.BallotMode.ACCOUNTS,
            ),
        )
        poll_open(actor=official, poll_id=poll.pk)
        polls[name] = {"id": poll.pk, "choices": list(poll.choices.values_list("pk", flat=True))}
    return {
        "polls": polls,
        "sessions": keys,
        "budget": seed_budget_round(official),
        "codes": seed_codes(official, polls["codes"]["id"], n_codes),
    }


def seed_codes(official, poll_id: int, n: int) -> list[str]:
    """`n` printed ballot codes of the poll, in batches as an organizer generates them."""
    from polls.services import MAX_CODES_PER_BATCH, event_codes_generate

    codes: list[str] = []
    while len(codes) < n:
        batch = min(MAX_CODES_PER_BATCH, n - len(codes))
        codes += [
            c.code for c in event_codes_generate(actor=official, poll_id=poll_id, count=batch)
        ]
    return codes


def seed_budget_round(official) -> dict:
    """An open People's Budget round like an Almaty-wide one (the same e-mail voters): its
    ballot, two of six projects, is what the budget load sends."""
    from django.utils import timezone

    from budgets.services import ProjectInput, RoundInput, project_add, round_create, round_open

    budget_round = round_create(
        actor=official,
        data=RoundInput(
            title_kk="load",
            title_ru="load",
            title_en="load",
            total_budget=3_000_000_000,
            min_projects=1,
            max_projects=4,
            eligibility="email",
            opens_at=timezone.now(),
            closes_at=timezone.now() + timezone.timedelta(hours=6),
        ),
    )
    projects = [
        project_add(
            actor=official,
            round_id=budget_round.pk,
            data=ProjectInput(
                title_kk=f"p{n}", title_ru=f"p{n}", title_en=f"p{n}", cost=400_000_000 + n
            ),
        ).pk
        for n in range(6)
    ]
    round_open(actor=official, round_id=budget_round.pk)
    return {"id": budget_round.pk, "projects": projects}


class Server:
    def __init__(self, workers: int, layer: str):
        self.port = 18000 + os.getpid() % 1000
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.layer = workers, layer
        self.log = WORK / f"uvicorn-{layer}.log"

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            [
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
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=server_env(self.layer),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: __exit__ stops every worker
        )
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    time.sleep(1)  # let every worker finish importing
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError(self.log.read_text()[-2000:])

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # Workers still closing thousands of sockets: the measurements are taken already.
            self.proc.kill()
            self.proc.wait(timeout=20)
        # And every worker with it. A worker that outlived its supervisor (killed above) kept
        # its realtime ticker on the same Redis: it took the next server's dirty marks and
        # pushed them on its own channel layer, so that server's sockets missed them until the
        # 5 s resync (seen as 3-5 s fan-out p99s on the pub/sub layer, after a core-layer run).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [self.proc.pid, *map(int, children)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total


# --- Vote load --------------------------------------------------------------------------------


def run_wrk(
    server: Server,
    poll: dict,
    sessions: list[str],
    *,
    seconds: int,
    connections: int,
    threads: int = 2,
    path: str | None = None,
    body: str | None = None,
    codes: bool = False,
) -> dict:
    """wrk's votes (bench/votes.lua): one by each of `sessions` in turn, or with `codes`, one
    by each printed ballot code of that list, as a guest (no session)."""
    users_file = WORK / f"users-{poll['id']}.txt"
    users_file.write_text("\n".join(sessions) + "\n")
    env = {
        **os.environ,
        "BENCH_USERS": str(users_file),
        "BENCH_POLL": str(poll["id"]),
        "BENCH_CHOICES": ",".join(map(str, poll["choices"][:2])),
        "BENCH_CSRF": CSRF,
        "BENCH_THREADS": str(threads),
        **({"BENCH_PATH": path, "BENCH_BODY": body} if path else {}),
        **({"BENCH_CODES": "1"} if codes else {}),
    }
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "votes.lua"),
            server.url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    return json.loads(line.removeprefix("BENCH_JSON "))


def correctness(poll_id: int) -> dict:
    from django.db.models import Count, Sum

    from polls import services
    from polls.models import Ballot, BallotTally

    # The counters take the votes' pending +1s per tick; fold the last ones now.
    if hasattr(services, "tallies_fold"):
        services.tallies_fold(wait=True)
    tallies_verify = services.tallies_verify
    rows = Ballot.objects.filter(poll_id=poll_id).count()
    tallies = BallotTally.objects.filter(poll_id=poll_id).aggregate(n=Sum("ballots"))["n"] or 0
    doubled = (
        Ballot.objects.filter(poll_id=poll_id)
        .values("voter")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    return {
        "rows": rows,
        "tallies": tallies,
        "voters_with_two_ballots": doubled,
        "drift": len(tallies_verify(poll_id=poll_id)),
    }


# --- Fan-out ----------------------------------------------------------------------------------


async def open_poll_sockets(server: Server, poll: dict, n: int) -> tuple[list, list[dict]]:
    """`n` sockets on the poll's results, 200 opening at a time, each past its snapshot."""
    import websockets

    ws_url = server.url.replace("http", "ws") + f"/ws/polls/{poll['id']}/"
    sockets: list = []
    sem = asyncio.Semaphore(200)

    async def open_one():
        async with sem:
            ws = await websockets.connect(
                ws_url, origin=server.url, open_timeout=30, max_queue=None, ping_interval=None
            )
            first = json.loads(await ws.recv())
            sockets.append(ws)
            return first

    snapshots = await asyncio.gather(*[open_one() for _ in range(n)])
    return sockets, snapshots


async def fanout(
    server: Server, poll: dict, vote_sessions: list[str], subscribers: int, rounds: int
) -> dict:
    import httpx

    rss_before = server.rss_bytes()
    sockets, snapshots = await open_poll_sockets(server, poll, subscribers)
    await asyncio.sleep(1.0)
    rss_after = server.rss_bytes()
    total = max(s["total_votes"] for s in snapshots)
    latencies: list[float] = []
    received_all = 0

    async def wait_for(ws, target: int) -> float:
        while True:
            message = json.loads(await ws.recv())
            if message.get("total_votes", -1) >= target:
                return time.perf_counter()

    # A new connection per vote: a kept-alive one may be closed by the server (its keep-alive
    # timeout) while a round waits for slow sockets.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=no_reuse) as http:
        for r in range(rounds):
            session = vote_sessions[r]
            target = total + 1
            waiters = [asyncio.create_task(wait_for(ws, target)) for ws in sockets]
            # From the moment the vote is sent: the commit is before its answer, and a socket
            # may have the update before this client has read the answer.
            sent = time.perf_counter()
            response = await http.post(
                f"/api/v1/polls/{poll['id']}/votes",
                json={"choices": poll["choices"][:1]},
                headers={"X-CSRFToken": CSRF, "Cookie": f"sessionid={session}; csrftoken={CSRF}"},
            )
            assert response.status_code == 201, response.text
            done, pending = await asyncio.wait(waiters, timeout=10)
            for task in pending:
                task.cancel()
            results = [t.result() for t in done if t.exception() is None]
            latencies += [(at - sent) * 1000 for at in results]
            received_all += len(results) == len(sockets)
            total = target
            await asyncio.sleep(0.4)
    await asyncio.gather(*[ws.close() for ws in sockets], return_exceptions=True)
    return {
        "subscribers": subscribers,
        "rounds": rounds,
        "rounds_fully_delivered": received_all,
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p99_ms": round(percentile(latencies, 99), 1),
        "server_rss_per_socket_kb": round((rss_after - rss_before) / subscribers / 1024, 1)
        if subscribers >= 1000
        else None,
    }


TOTAL_VOTES = re.compile(r'"total_votes":\s*(\d+)')
TOTAL_VOTES_BYTES = re.compile(rb'"total_votes":\s*(\d+)')


class TotalReader(asyncio.Protocol):
    """A listen-only websocket subscriber that reads the raw frames itself and keeps only the
    last `total_votes` it saw (and when). A thousand `websockets` clients in Python took about
    6 % of these two cores while the server was measured; this one a fraction of it, so the
    load generator takes less from the server it measures (as wrk does for HTTP)."""

    def __init__(self, host: str, path: str, origin: str):
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: YmlyZ2UtYmVuY2gtc3Vicw==\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
        ).encode()
        self.buffer = bytearray()
        self.upgraded = False
        self.opened = asyncio.get_running_loop().create_future()
        self.total, self.at, self.frames = 0, 0.0, 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before the upgrade: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(bytes(self.buffer[:200])))
                return
            del self.buffer[: end + 4]
            self.upgraded = True
        while len(self.buffer) >= 2:
            opcode, length, head = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if length == 126:
                length, head = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                length, head = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < head + length:
                return
            payload = bytes(self.buffer[head : head + length])
            del self.buffer[: head + length]
            self.frames += 1
            if opcode == 0x1:
                found = TOTAL_VOTES_BYTES.search(payload)
                if found:
                    self.total, self.at = int(found.group(1)), time.perf_counter()
                if not self.opened.done():
                    self.opened.set_result(payload)  # the snapshot
            elif opcode == 0x9 and length < 126:  # a ping: a pong, masked with a zero key
                self.transport.write(bytes([0x8A, 0x80 | length, 0, 0, 0, 0]) + payload)

    def close(self) -> None:
        self.transport.write(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]))  # 1000, masked
        self.transport.close()


async def open_total_readers(server: Server, poll: dict, n: int) -> list[TotalReader]:
    """`n` TotalReader sockets on the poll's results, 200 opening at a time, each past its
    snapshot."""
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(200)

    async def open_one() -> TotalReader:
        async with sem:
            _transport, reader = await loop.create_connection(
                lambda: TotalReader(
                    f"127.0.0.1:{server.port}", f"/ws/polls/{poll['id']}/", server.url
                ),
                "127.0.0.1",
                server.port,
            )
            await asyncio.wait_for(reader.opened, 30)
            return reader

    return list(await asyncio.gather(*[open_one() for _ in range(n)]))


async def watched_load(server: Server, poll: dict, users: list[str], subscribers: int, args):
    """The vote load again, on a poll that `subscribers` sockets watch while it runs: votes/s
    with them, and how long after the load's last answer the last socket shows the final
    total (the ballot rows)."""
    from polls.models import Ballot

    readers = await open_total_readers(server, poll, subscribers)
    client_cpu0 = time.process_time()
    cpu0 = server.cpu_seconds()
    load = await asyncio.to_thread(
        run_wrk, server, poll, users, seconds=args.seconds, connections=args.connections
    )
    load_end = time.perf_counter()
    cpu = server.cpu_seconds() - cpu0
    client_cpu = time.process_time() - client_cpu0
    rows = await asyncio.to_thread(lambda: Ballot.objects.filter(poll_id=poll["id"]).count())
    deadline = time.perf_counter() + 15
    while time.perf_counter() < deadline:
        rows = await asyncio.to_thread(lambda: Ballot.objects.filter(poll_id=poll["id"]).count())
        if all(reader.total >= rows for reader in readers):
            break
        await asyncio.sleep(0.05)
    behind = sum(reader.total < rows for reader in readers)
    last = max(reader.at for reader in readers)
    for reader in readers:
        reader.close()
    accepted = int(load["by_status"].get("201", 0))
    seconds = load["duration_us"] / 1e6
    return {
        **load,
        "subscribers": len(readers),
        "votes_per_s": round(accepted / seconds, 1),
        "accepted": accepted,
        "rows": rows,
        "server_cpu_ms_per_vote": round(cpu * 1000 / max(accepted, 1), 2),
        "messages_per_socket": round(sum(r.frames for r in readers) / len(readers), 1),
        "subscriber_client_cores": round(client_cpu / seconds, 3),
        "sockets_behind_final_total": behind,
        "last_socket_final_total_ms": round(max(0.0, last - load_end) * 1000, 1),
    }


def warm_up(server: Server, poll: dict, users: list[str]) -> None:
    """A few seconds of votes before anything is measured: the workers' connection pools
    fill, statements get prepared, code paths run once. What is measured is the steady
    state, in both columns."""
    print("warm-up ...", flush=True)
    run_wrk(server, poll, users, seconds=3, connections=32)


def measure_budget_ballots(server, budget: dict, users: list[str], args) -> dict:
    """The same load as the vote load, by the same voters and connections, against an open
    budget round: what a budget ballot costs beside a poll vote."""

    from budgets.models import BudgetBallot

    g = measure_load(
        server,
        BudgetBallot.objects.filter(round_id=budget["id"]),
        "voter",
        poll={"id": f"budget-{budget['id']}", "choices": []},
        sessions=users,
        seconds=args.seconds,
        connections=args.connections,
        path=f"/api/v1/budgets/{budget['id']}/ballots",
        body=json.dumps({"projects": budget["projects"][:2]}),
    )
    return {
        **g["load"],
        "ballots_per_s": g["per_s"],
        "accepted": g["accepted"],
        "server_cpu_ms_per_ballot": g["cpu_ms_each"],
        "rows": g["rows"],
        "voters_with_two_ballots": g["twice"],
    }


def measure_code_votes(server, poll: dict, codes: list[str], args) -> dict:
    """The same load as the vote load, by guests with printed ballot codes (each code once)."""
    from polls.models import Ballot

    c = measure_load(
        server,
        Ballot.objects.filter(poll_id=poll["id"]),
        "code",
        poll=poll,
        sessions=codes,
        seconds=args.seconds,
        connections=args.connections,
        codes=True,
    )
    return {
        **c["load"],
        "votes_per_s": c["per_s"],
        "accepted": c["accepted"],
        "server_cpu_ms_per_vote": c["cpu_ms_each"],
        "rows": c["rows"],
        "codes_used_twice": c["twice"],
    }


def measure_load(server, rows, twice: str, **wrk) -> dict:
    """A wrk load (run_wrk's arguments) and what it left, read once the requests in flight
    when wrk stopped have committed: 201s a second, server CPU each, the ballot `rows` (a
    queryset) and how many values of their field `twice` have more than one."""
    from django.db.models import Count

    cpu0 = server.cpu_seconds()
    load = run_wrk(server, **wrk)
    cpu = server.cpu_seconds() - cpu0
    time.sleep(2)
    accepted = int(load["by_status"].get("201", 0))
    return {
        "load": load,
        "accepted": accepted,
        "per_s": round(accepted / (load["duration_us"] / 1e6), 1),
        "cpu_ms_each": round(cpu * 1000 / max(accepted, 1), 2),
        "rows": rows.count(),
        "twice": rows.values(twice).annotate(n=Count("pk")).filter(n__gt=1).count(),
    }


def measure_votes(server, polls, budget, codes, load_users, burst_users, args, n_burst) -> dict:
    """The vote load (wrk) and the 10,000-vote burst, with their correctness checks."""
    report: dict = {}
    print("vote load ...", flush=True)
    from polls.models import Ballot

    v = measure_load(
        server,
        Ballot.objects.filter(poll_id=polls["load"]["id"]),
        "voter",
        poll=polls["load"],
        sessions=load_users,
        seconds=args.seconds,
        connections=args.connections,
    )
    check = correctness(polls["load"]["id"])
    report["vote_load"] = {
        **v["load"],
        "votes_per_s": v["per_s"],
        "accepted": v["accepted"],
        "server_cpu_ms_per_vote": v["cpu_ms_each"],
        **check,
        "duplicates_sent": max(0, v["load"]["requests"] - len(load_users)),
        "duplicates_accepted": max(0, v["accepted"] - len(load_users))
        + check["voters_with_two_ballots"],
    }

    print("budget ballot load ...", flush=True)
    report["budget_load"] = measure_budget_ballots(server, budget, load_users, args)

    print("ballot-code vote load ...", flush=True)
    report["code_load"] = measure_code_votes(server, polls["codes"], codes, args)

    print("10,000-vote burst ...", flush=True)
    rate = max(report["vote_load"]["votes_per_s"], 100)
    burst_seconds = int(n_burst / rate * 1.5) + 3
    burst = run_wrk(server, polls["burst"], burst_users, seconds=burst_seconds, connections=256)
    time.sleep(2)
    check = correctness(polls["burst"]["id"])
    burst_accepted = int(burst["by_status"].get("201", 0))
    report["burst"] = {
        "votes": n_burst,
        "seconds": burst_seconds,
        "requests": burst["requests"],
        "accepted": burst_accepted,
        "by_status": burst["by_status"],
        **check,
        "lost": n_burst - check["rows"],
        "doubled": check["voters_with_two_ballots"] + max(0, burst_accepted - n_burst),
    }
    return report


# --- Main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=int, default=10, help="length of the vote-load run")
    parser.add_argument(
        "--connections", type=int, default=64, help="wrk connections for the vote load"
    )
    parser.add_argument("--subscribers", default="1,100,1000,5000")
    parser.add_argument("--rounds", type=int, default=10, help="votes per fan-out measurement")
    parser.add_argument(
        "--fanout-only", action="store_true", help="skip the vote load, measure only fan-out"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small numbers, to check the benchmark itself"
    )
    parser.add_argument(
        "--dashboards",
        type=int,
        metavar="N",
        help="run the dashboard benchmark instead, with N open dashboards (bench/dashboard.py)",
    )
    parser.add_argument(
        "--before",
        metavar="REV",
        help="first run this same benchmark on the code of commit REV (a git worktree in "
        "var/bench/), then on this code, and print both side by side",
    )
    args = parser.parse_args()
    if args.before:
        before = run_before(args.before, sys.argv[1:])
    if args.dashboards:
        from bench.dashboard import main as dashboard_main

        dashboard_main(
            ["--dashboards", str(args.dashboards), "--workers", str(args.workers)]
            + ["--connections", str(args.connections)]
            + (["--quick"] if args.quick else [])
        )
        return
    if args.quick:
        args.seconds, args.subscribers, args.rounds = 3, "1,100", 3
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    subscriber_counts = [int(x) for x in args.subscribers.split(",")]

    print("setting up a scratch database ...", flush=True)
    recreate_database()
    for command in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=server_env(), check=True
        )
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    django_setup()
    n_load = 40_000 if not args.quick else 5_000
    n_burst = 10_000 if not args.quick else 1_000
    n_warm = 5_000 if not args.quick else 1_000
    data = seed(2 * n_load + n_burst + n_warm + 200, n_codes=n_load)
    sessions = data["sessions"]
    load_users, burst_users, warm_users, watched_users, fan_users = (
        sessions[:n_load],
        sessions[n_load : n_load + n_burst],
        sessions[n_load + n_burst : n_load + n_burst + n_warm],
        sessions[n_load + n_burst + n_warm : 2 * n_load + n_burst + n_warm],
        sessions[2 * n_load + n_burst + n_warm :],
    )
    polls = data["polls"]
    report: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "setup": {
            "workers": args.workers,
            "wrk_connections": args.connections,
            "tick_ms": int(os.environ.get("REALTIME_TICK_MS", 250)),
        },
    }

    with Server(args.workers, "pubsub") as server:
        warm_up(server, polls["warmup"], warm_users)
        if not args.fanout_only:
            report.update(
                measure_votes(
                    server,
                    polls,
                    data["budget"],
                    data["codes"],
                    load_users,
                    burst_users,
                    args,
                    n_burst,
                )
            )
            watchers = 1000 if not args.quick else 100
            print(f"vote load with {watchers} subscribers watching ...", flush=True)
            report["watched_load"] = asyncio.run(
                watched_load(server, polls["watched"], watched_users, watchers, args)
            )
        report["fanout_pubsub"] = []
        for n in subscriber_counts:
            print(f"fan-out to {n} subscribers (pub/sub layer) ...", flush=True)
            report["fanout_pubsub"].append(
                asyncio.run(
                    fanout(server, polls["fanout"], fan_users[: args.rounds], n, args.rounds)
                )
            )
            fan_users = fan_users[args.rounds :]

    layer_n = 1000 if not args.quick else 100
    with Server(args.workers, "core") as server:
        print(f"fan-out to {layer_n} subscribers (core layer) ...", flush=True)
        report["fanout_core"] = [
            asyncio.run(
                fanout(server, polls["fanout"], fan_users[: args.rounds], layer_n, args.rounds)
            )
        ]

    if not args.fanout_only:
        print("CPU per vote, stage by stage ...", flush=True)
        report["cpu_breakdown"] = on_tree("vote_cpu", ROOT, 500 if args.quick else 3000)
        if shutil.which("valgrind"):
            print("instructions per vote (callgrind) ...", flush=True)
            report["instructions"] = on_tree("vote_instructions", ROOT, 100 if args.quick else 300)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2)
    (RESULTS / f"votes-{stamp}.json").write_text(text)
    (RESULTS / "latest.json").write_text(text)
    print_table(report)
    print(f"\nsaved bench/results/votes-{stamp}.json")
    if args.before:
        report = {"before": before, "after": report}
        (RESULTS / f"compare-{stamp}.json").write_text(json.dumps(report, indent=2))
        print_comparison(before, report["after"])
        print(f"saved bench/results/compare-{stamp}.json")


def on_tree(script: str, tree: Path, votes: int) -> dict:
    """bench/<script>.py (this file's copy) on the code of `tree`, `votes` votes: its report."""
    out = WORK / f"{script}-{tree.name}.json"
    command = [sys.executable, "-m", f"bench.{script}", "--tree", str(tree), "--votes", str(votes)]
    subprocess.run([*command, "--out", str(out)], cwd=tree, check=True)
    return json.loads(out.read_text())


def run_before(rev: str, argv: list[str]) -> dict:
    """This benchmark (this copy of its code) on `rev`'s code: the same machine, database,
    Redis, wrk and load, one run after the other. Returns its results."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = WORK / f"before-{commit[:12]}"
    if not (tree / "manage.py").exists():
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--force", str(tree), commit],
            cwd=ROOT,
            check=True,
        )
    own = [
        a for i, a in enumerate(argv) if a != "--before" and (i == 0 or argv[i - 1] != "--before")
    ]
    own = [a for a in own if not a.startswith("--before=")]
    # The same benchmark code in both runs (this one's), only the application differs.
    for source in (ROOT / "bench").glob("*.py"):
        shutil.copy(source, tree / "bench" / source.name)
    shutil.copy(ROOT / "bench" / "votes.lua", tree / "bench" / "votes.lua")
    print(f"=== before: {commit[:12]} ({tree}) ===", flush=True)
    subprocess.run([sys.executable, "-m", "bench", *own], cwd=tree, check=True)
    print("=== after: this code ===", flush=True)
    return json.loads((tree / "bench" / "results" / "latest.json").read_text())


def print_comparison(before: dict, after: dict) -> None:
    rows = []

    def add(name, path, fmt="{:.0f}"):
        def get(r):
            for key in path:
                r = r.get(key) if isinstance(r, dict) else None
            return r

        b, a = get(before), get(after)
        if b is None and a is None:
            return
        ratio = f"{a / b:.2f}x" if isinstance(a, int | float) and b else ""
        show = lambda v: fmt.format(v) if isinstance(v, int | float) else "-"  # noqa: E731
        rows.append((name, show(b), show(a), ratio))

    add("votes/s accepted", ["vote_load", "votes_per_s"])
    add("vote latency p50 (ms)", ["vote_load", "latency_p50_ms"], "{:.1f}")
    add("vote latency p99 (ms)", ["vote_load", "latency_p99_ms"], "{:.1f}")
    add("server CPU per vote (ms)", ["vote_load", "server_cpu_ms_per_vote"], "{:.2f}")
    add("server instructions per vote (callgrind)", ["instructions", "instructions_per_vote"])
    add("budget ballots/s", ["budget_load", "ballots_per_s"])
    add("budget ballot p99 (ms)", ["budget_load", "latency_p99_ms"], "{:.1f}")
    add("server CPU per budget ballot (ms)", ["budget_load", "server_cpu_ms_per_ballot"], "{:.2f}")
    add("ballot-code votes/s", ["code_load", "votes_per_s"])
    add("ballot-code vote p99 (ms)", ["code_load", "latency_p99_ms"], "{:.1f}")
    add("server CPU per ballot-code vote (ms)", ["code_load", "server_cpu_ms_per_vote"], "{:.2f}")
    add("burst votes lost", ["burst", "lost"])
    add("burst votes doubled", ["burst", "doubled"])
    add("votes/s, 1,000 sockets watching", ["watched_load", "votes_per_s"])
    add("  p99 (ms)", ["watched_load", "latency_p99_ms"], "{:.1f}")
    add("  last socket has the final total (ms)", ["watched_load", "last_socket_final_total_ms"])
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'before':>10}  {'after':>10}  after/before")
    print("-" * (width + 40))
    for name, b, a, ratio in rows:
        print(f"{name:<{width}}  {b:>10}  {a:>10}  {ratio}")
    if before.get("cpu_breakdown") and after.get("cpu_breakdown"):
        from bench.vote_cpu import print_table as print_cpu_table

        print_cpu_table([before["cpu_breakdown"], after["cpu_breakdown"]])


def print_table(r: dict) -> None:
    rows = []
    if "vote_load" in r:
        rows += _vote_rows(r["vote_load"], r["burst"])
    if "budget_load" in r:
        rows += _budget_rows(r["budget_load"], r["vote_load"])
    if "code_load" in r:
        rows += _code_rows(r["code_load"], r["vote_load"])
    if "watched_load" in r:
        rows += _watched_rows(r["watched_load"], r["vote_load"])
    rows += _fanout_rows(r)
    if r.get("instructions"):
        per_vote = r["instructions"]["instructions_per_vote"]
        rows.append(("server instructions per vote (callgrind)", f"{per_vote:,}", ""))
    rows.append(("(*) requests in flight when wrk stops still commit", "", ""))
    width = max(len(x[0]) for x in rows)
    print(f"\n{'measure':<{width}}  {'result':<28}  target")
    print("-" * (width + 40))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<28}  {target}")


def _vote_rows(v: dict, b: dict) -> list[tuple[str, str, str]]:
    return [
        ("votes/s accepted", f"{v['votes_per_s']:.0f}", ">= 1000"),
        (
            "vote latency p50 / p99",
            f"{v['latency_p50_ms']:.1f} / {v['latency_p99_ms']:.1f} ms",
            "p99 <= 100 ms",
        ),
        ("server CPU per vote", f"{v['server_cpu_ms_per_vote']:.2f} ms", "<= 1.2 ms"),
        (
            "load: 201s seen / rows / tallies",
            f"{v['accepted']} / {v['rows']} / {v['tallies']}",
            "rows = tallies (*)",
        ),
        (
            "burst: 201s = rows = tallies",
            f"{b['accepted']} = {b['rows']} = {b['tallies']}",
            "equal",
        ),
        (
            "duplicates sent / accepted",
            f"{v['duplicates_sent']} / {v['duplicates_accepted']}",
            "0 accepted",
        ),
        ("burst: votes lost / doubled", f"{b['lost']} / {b['doubled']} of {b['votes']}", "0 / 0"),
    ]


def _budget_rows(g: dict, v: dict) -> list[tuple[str, str, str]]:
    return [
        (
            "budget ballots/s accepted (votes/s)",
            f"{g['ballots_per_s']:.0f} ({v['votes_per_s']:.0f})",
            ">= votes/s",
        ),
        (
            "budget ballot p50 / p99",
            f"{g['latency_p50_ms']:.1f} / {g['latency_p99_ms']:.1f} ms",
            "<= a vote's",
        ),
        (
            "server CPU per budget ballot (vote)",
            f"{g['server_cpu_ms_per_ballot']:.2f} ({v['server_cpu_ms_per_vote']:.2f}) ms",
            "<= a vote's",
        ),
        (
            "budget: 201s seen / rows / doubled",
            f"{g['accepted']} / {g['rows']} / {g['voters_with_two_ballots']}",
            "rows = 201s (*), 0 doubled",
        ),
    ]


def _code_rows(c: dict, v: dict) -> list[tuple[str, str, str]]:
    share = c["votes_per_s"] / v["votes_per_s"] if v["votes_per_s"] else 0
    return [
        (
            "ballot-code votes/s (share of account votes)",
            f"{c['votes_per_s']:.0f} ({share:.0%})",
            ">= 80 %",
        ),
        (
            "  p50 / p99; server CPU per vote",
            f"{c['latency_p50_ms']:.1f} / {c['latency_p99_ms']:.1f} ms; "
            f"{c['server_cpu_ms_per_vote']:.2f} ms",
            "",
        ),
        (
            "  201s seen / rows / codes used twice",
            f"{c['accepted']} / {c['rows']} / {c['codes_used_twice']}",
            "rows = 201s (*), 0 twice",
        ),
    ]


def _watched_rows(w: dict, v: dict) -> list[tuple[str, str, str]]:
    share = w["votes_per_s"] / v["votes_per_s"] if v["votes_per_s"] else 0
    return [
        (
            f"votes/s with {w['subscribers']} sockets watching (share)",
            f"{w['votes_per_s']:.0f} ({share:.0%})",
            ">= 80 %",
        ),
        (
            "  latency p50 / p99",
            f"{w['latency_p50_ms']:.1f} / {w['latency_p99_ms']:.1f} ms",
            "",
        ),
        (
            "  last socket shows the final total",
            f"{w['last_socket_final_total_ms']:.0f} ms after the last answer"
            + (
                f", {w['sockets_behind_final_total']} behind"
                if w["sockets_behind_final_total"]
                else ""
            ),
            "<= 1,000 ms",
        ),
    ]


def _fanout_rows(r: dict) -> list[tuple[str, str, str]]:
    rows = []
    tick = r["setup"]["tick_ms"]
    for f in r["fanout_pubsub"]:
        rows.append(
            (
                f"vote sent→socket p50 / p99, {f['subscribers']} subs (pub/sub)",
                f"{f['latency_p50_ms']} / {f['latency_p99_ms']} ms",
                f"p99 <= {tick + 250} ms" if f["subscribers"] == 1000 else "",
            )
        )
        if f["server_rss_per_socket_kb"] is not None:
            rows.append(
                (
                    f"server memory per socket, {f['subscribers']} subs",
                    f"{f['server_rss_per_socket_kb']} KB",
                    "<= 40 KB" if f["subscribers"] == 5000 else "",
                )
            )
    for f in r["fanout_core"]:
        rows.append(
            (
                f"vote sent→socket p50 / p99, {f['subscribers']} subs (core)",
                f"{f['latency_p50_ms']} / {f['latency_p99_ms']} ms",
                "",
            )
        )
    return rows


if __name__ == "__main__":
    main()
