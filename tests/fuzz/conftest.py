"""Fixtures of the fuzz suite, and its summary: per role and surface, how many inputs were
sent and how they were answered, printed after the run and written to
var/test-artifacts/fuzz-summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from .harness import RESULTS
from .world import seed_world

SUMMARY = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "fuzz-summary.json"


class _UnlimitedRates(dict):
    """RATE_LIMITS that never refuse: a 429 would end each input before the code it aims at."""

    def get(self, key, default=None):
        return 10**9

    def __getitem__(self, key):
        return 10**9


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATE_LIMITS = _UnlimitedRates()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One seeded world per module, rolled back at its end; every test (and every request,
    see harness.Fuzzer) runs in a savepoint inside it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield seed_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def client_as(world, role: str):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    return client


def summary() -> dict:
    rows = {}
    for (role, surface), tally in sorted(RESULTS.items()):
        rows.setdefault(surface, {})[role] = tally.as_dict()
    return rows


def pytest_sessionfinish(session, exitstatus):
    if RESULTS:
        SUMMARY.parent.mkdir(parents=True, exist_ok=True)
        totals = {
            "sent": sum(t.sent for t in RESULTS.values()),
            "5xx": sum(t.errors for t in RESULTS.values()),
        }
        SUMMARY.write_text(json.dumps({"totals": totals, "surfaces": summary()}, indent=2))


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz suite: inputs sent per surface and role")
    write(f"{'surface':<8} {'role':<15} {'sent':>7} {'2xx/3xx':>8} {'4xx':>7} {'5xx':>5}")
    total = [0, 0, 0, 0]
    for (role, surface), t in sorted(RESULTS.items()):
        write(f"{surface:<8} {role:<15} {t.sent:>7} {t.ok:>8} {t.refused:>7} {t.errors:>5}")
        for i, n in enumerate((t.sent, t.ok, t.refused, t.errors)):
            total[i] += n
    write(f"{'all':<8} {'':<15} {total[0]:>7} {total[1]:>8} {total[2]:>7} {total[3]:>5}")
    write(f"written to {SUMMARY}")
