"""Races on real, separate PostgreSQL connections, released at one instant.

Every job runs in a thread with a connection of its own, opened before the start; the jobs of
one round wait on one barrier, so they really run at the same time. A barrier that breaks
fails the test (jobs trickling in one by one would test nothing), and so does a server with
too few free connections to stage the race: skipped outside CI, failed under CI=true.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import OperationalError, connection, connections

from civic.errors import DomainError
from tests.conftest import _missing

CONNECT_SECONDS = 15
BARRIER_SECONDS = 30


class _NoConnection(Exception):
    pass


@contextlib.contextmanager
def _unpooled():
    """Django's psycopg pool (20 by default) would queue 100 threads on 20 connections."""
    options = connections.settings["default"].setdefault("OPTIONS", {})
    pool = options.pop("pool", None)
    connection.close()
    if pool is not None:
        connection.close_pool()
    try:
        yield
    finally:
        connections.close_all()
        if pool is not None:
            options["pool"] = pool


def _connect(deadline: float) -> None:
    # Other test runs may share the server: a slot that frees up within the deadline will do.
    while True:
        try:
            connection.ensure_connection()
            return
        except OperationalError as exc:
            if "too many clients" not in str(exc) or time.monotonic() > deadline:
                raise _NoConnection(str(exc)) from exc
            connection.close()
            time.sleep(0.1)


def race(jobs, *, at_once: int | None = None) -> list[tuple[str, object]]:
    """Run the callables `at_once` at a time (default: all), each round released together.

    Returns per job, in order, ("ok", result) or ("refused", DomainError code); any other
    exception is raised.
    """
    at_once = at_once or len(jobs)
    assert len(jobs) % at_once == 0, "whole rounds only: a short round would wait forever"
    barriers = [threading.Barrier(at_once) for _ in range(len(jobs) // at_once)]
    deadline = time.monotonic() + CONNECT_SECONDS

    def run(index_job):
        index, job = index_job
        barrier = barriers[index // at_once]
        try:
            try:
                _connect(deadline)
            except _NoConnection:
                barrier.abort()
                raise
            barrier.wait(timeout=BARRIER_SECONDS)
            try:
                return ("ok", job())
            except DomainError as exc:
                return ("refused", exc.code)
        finally:
            connections.close_all()

    with _unpooled(), ThreadPoolExecutor(max_workers=at_once) as pool:
        futures = [pool.submit(run, item) for item in enumerate(jobs)]
        errors = [f.exception(timeout=CONNECT_SECONDS + 3 * BARRIER_SECONDS) for f in futures]
    short = [e for e in errors if isinstance(e, _NoConnection)]
    if short:
        _missing(f"PostgreSQL has too few free connections for {at_once} at once: {short[0]}")
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]
