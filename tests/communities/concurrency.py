"""Races on real, separate database connections, released at one instant.

Unlike tests.conftest.run_at_once, every job gets its own thread and all of them wait on a
single barrier; a barrier that breaks (a thread never arrived, or it timed out) is reported
as the outcome "broken" instead of letting the jobs trickle in one by one, which would
test nothing.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import OperationalError, connection, connections

from civic.errors import DomainError

BARRIER_TIMEOUT = 30
CONNECT_DEADLINE = 30


def _connect() -> None:
    """Open this thread's own connection. A server at its connection limit (other test
    runs share it) is waited for, briefly: the race itself is untouched, since no job has
    started its work before it holds a connection."""
    deadline = time.monotonic() + CONNECT_DEADLINE
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            text = str(exc)
            full = any(
                sign in text
                for sign in ("too many clients", "connection slots", "couldn't get a connection")
            )
            if not full or time.monotonic() > deadline:
                raise
            connection.close()
            time.sleep(0.02)


@contextlib.contextmanager
def pool_of_at_least(size: int):
    """Let Django's psycopg pool (20 connections by default) hold `size` connections, so
    that every thread of a race really has a connection of its own at the same time."""
    from django.db import connection as main

    options = main.settings_dict.get("OPTIONS", {}).get("pool")
    if not options or options.get("max_size", 0) >= size:
        yield
        return
    saved = dict(options)
    main.close()
    main.close_pool()
    options["max_size"] = size
    try:
        yield
    finally:
        main.close()
        main.close_pool()
        options.clear()
        options.update(saved)


def race(jobs) -> list[tuple[str, object]]:
    """Run each callable in a thread of its own, all released by one barrier.

    Returns per job, in order: ("ok", result), ("refused", DomainError code),
    ("broken", None) if the barrier broke, or ("error", repr of any other exception).
    """
    barrier = threading.Barrier(len(jobs), timeout=BARRIER_TIMEOUT)

    def wrap(job):
        def run():
            try:
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    return ("broken", None)
                _connect()
                try:
                    return ("ok", job())
                except DomainError as exc:
                    return ("refused", exc.code)
                except Exception as exc:  # reported, so the test shows what went wrong
                    return ("error", repr(exc))
            finally:
                connections.close_all()

        return run

    with pool_of_at_least(len(jobs)), ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda f: f(), [wrap(j) for j in jobs]))
