"""A vote's server instructions, counted: `python -m bench.vote_instructions [--tree PATH]`.

On a shared machine the CPU time a vote takes moves by a fifth from one minute to the next;
the number of instructions the server runs for it does not. valgrind's callgrind counts them
(the same run twice agrees within 0.5 %), so a change of a few per cent shows here when the
wrk load cannot tell it from noise.

One uvicorn worker (the tree's `civic.asgi:application`) runs under callgrind against a
scratch PostgreSQL database and Redis. Four keep-alive clients send authenticated votes, each
of a new voter, with the same headers as wrk's (bench/votes.lua); counting is switched on
(callgrind_control) only around the measured votes, after 40 unmeasured ones. Counted: every
thread of the server process in user space, from the HTTP parsing through the hand-over and
the application to the drivers. Not counted: the kernel's side of its system calls,
PostgreSQL and Redis. Under valgrind the threads take turns and run about 50 times slower, so
the Redis marks batched by time go out about once a vote (in a real load one send carries
about a dozen votes' marks).

`--tree` runs it on another checkout's code (make bench: the code before). Prints a table,
writes JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

CSRF = "b" * 32
WARM_UP = 40
CLIENTS = 4


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--votes", type=int, default=300, help="votes counted")
    parser.add_argument("--out", help="write the JSON here (default bench/results/)")
    args = parser.parse_args(argv)
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed: apt-get install valgrind")
    tree = Path(args.tree).resolve()
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/birge_bench")
    db_url = base.rsplit("/", 1)[0] + "/birge_bench_instr"
    env = {
        "DJANGO_SETTINGS_MODULE": "civic.settings.base",
        "DATABASE_URL": db_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
        "DJANGO_DEBUG": "false",
        "LOG_LEVEL": "ERROR",
        "CACHE_KEY_PREFIX": f"birge-instr-{uuid.uuid4().hex[:6]}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CHANNEL_LAYER": "pubsub",
    }
    os.environ.update(env)
    poll, sessions = _seed(tree, db_url, args.votes + WARM_UP)
    statuses, instructions = _count(tree, poll, sessions, args.votes)
    report = {
        "tree": str(tree),
        "commit": _commit(tree),
        "votes": args.votes,
        "statuses": dict(statuses),
        "instructions": instructions,
        "instructions_per_vote": round(instructions / args.votes),
    }
    out = Path(args.out) if args.out else tree / "bench" / "results" / "vote-instr-latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_table([report])
    return report


def _seed(tree: Path, db_url: str, n: int) -> tuple[dict, list[str]]:
    """A scratch database with the tree's migrations, and n voters signed in (in this
    process, with the tree's code, as bench/vote_cpu.py seeds)."""
    from bench.vote_cpu import set_up_tree

    set_up_tree(tree, db_url)
    from bench.__main__ import seed  # this tree's copy: the vote benchmark's voters and polls

    data = seed(n)
    return data["polls"]["load"], data["sessions"][:n]


def _count(tree: Path, poll: dict, sessions: list[str], votes: int) -> tuple[Counter, int]:
    """Start the server under callgrind, send the votes, return the answers' statuses and
    the instructions counted around the measured ones."""
    port = 17000 + os.getpid() % 1000
    work = tree / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    log = work / "vote-instr-server.log"
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={work / 'vote-instr.callgrind'}",
            sys.executable,
            "-m",
            "uvicorn",
            "civic.asgi:application",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=tree,
        env=os.environ,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_healthy(port, server)
        body = json.dumps({"choices": poll["choices"][:2]})
        statuses: Counter = Counter()
        _send_votes(port, poll["id"], body, sessions[:WARM_UP], statuses)
        _callgrind(server.pid, "on")
        _send_votes(port, poll["id"], body, sessions[WARM_UP : WARM_UP + votes], statuses)
        time.sleep(0.5)  # the marks' thread sends the last ones
        _callgrind(server.pid, "off")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    found = re.findall(r"Collected : ([0-9]+)", log.read_text())
    if not found:
        raise RuntimeError(log.read_text()[-2000:])
    return statuses, int(found[-1])


def _wait_healthy(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300  # the server imports Django under valgrind
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server under valgrind stopped")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(1)
    raise RuntimeError("the server under valgrind did not answer /healthz")


def _send_votes(port: int, poll_id: int, body: str, sessions: list[str], statuses) -> None:
    lock = threading.Lock()

    def client(mine: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for session in mine:
            conn.request(
                "POST",
                f"/api/v1/polls/{poll_id}/votes",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Cookie": f"sessionid={session}; csrftoken={CSRF}",
                    "X-CSRFToken": CSRF,
                    "Host": "127.0.0.1",
                },
            )
            answer = conn.getresponse()
            answer.read()
            with lock:
                statuses[answer.status] += 1
        conn.close()

    threads = [
        threading.Thread(target=client, args=(sessions[i::CLIENTS],)) for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _callgrind(pid: int, switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(pid)], check=True, capture_output=True)


def _commit(tree: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=tree, capture_output=True, text=True
    ).stdout.strip()


def print_table(reports: list[dict]) -> None:
    print(f"\n{'server instructions per vote (callgrind)':<44}", end="")
    for r in reports:
        print(f"{r['commit']:>16}", end="")
    print()
    print("-" * (44 + 16 * len(reports)))
    print(f"{'instructions, all threads, user space':<44}", end="")
    for r in reports:
        print(f"{r['instructions_per_vote']:>16,}", end="")
    print()
    print(f"{'answers':<44}", end="")
    for r in reports:
        print(f"{json.dumps(r['statuses']):>16}", end="")
    print()


if __name__ == "__main__":
    main()
