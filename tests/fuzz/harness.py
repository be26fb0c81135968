"""Sending one bad input and judging the answer: no 5xx, and a refused request changes no row.

Every request runs inside a savepoint that is rolled back afterwards, so the seeded world is
the same for every input (an input that happens to be accepted cannot change what the next one
meets), and the row counts of every table are compared before the rollback.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

from django.apps import apps
from django.db import connection, transaction

# Tables that may change on a request that was refused, and why. Nothing else is excluded:
# rate-limit counters and allauth's failed-login counts live in the cache, not in tables, and
# the audit log records changes made, never refusals (but for AUDITED_REFUSALS below).
EXCLUDED_TABLES = {
    # A session is saved whenever it is touched (a message queued for the next page, the
    # language or the CSRF rotation), refused or not.
    "django_session": "sessions are saved on any request that touches them",
}


# Refusals that must leave a trace in the audit log (issue 11: every failed resident
# verification is audit-logged, so that IIN guessing shows). Audit entries of these actions
# may come with a refusal; any other audit entry may not.
AUDITED_REFUSALS = (
    "resident.verify_failed",
    "resident.verify_throttled",
    "resident.identity_report_failed",
    "resident.desk_failed",
)


def tables() -> list[str]:
    names = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy and not meta.swapped:
            names.add(meta.db_table)
    return sorted(names - set(EXCLUDED_TABLES))


_count_sql: tuple[str, list[str]] | None = None


def row_counts() -> tuple[int, ...]:
    """The row count of every table of every model, in one query."""
    global _count_sql
    if _count_sql is None or _count_sql[0] != connection.vendor:
        names = tables()
        qn = connection.ops.quote_name
        # The names are the models' own tables, quoted: nothing here comes from a request.
        audited = ", ".join(f"'{action}'" for action in AUDITED_REFUSALS)
        counts = ", ".join(
            f"(SELECT COUNT(*) FROM {qn(t)} WHERE action NOT IN ({audited}))"  # noqa: S608
            if t == "audit_auditentry"
            else f"(SELECT COUNT(*) FROM {qn(t)})"  # noqa: S608
            for t in names
        )
        sql = f"SELECT {counts}"
        _count_sql = (connection.vendor, names, sql)
    with connection.cursor() as cursor:
        cursor.execute(_count_sql[2])
        return tuple(cursor.fetchone())


def count_diff(before, after) -> dict[str, int]:
    names = _count_sql[1]
    return {names[i]: a - b for i, (b, a) in enumerate(zip(before, after, strict=True)) if a != b}


class _TracebackCatcher(logging.Handler):
    """Keeps the last logged traceback: the API turns exceptions into 500 answers and logs."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.last: str | None = None

    def emit(self, record):
        if record.exc_info:
            self.last = "".join(traceback.format_exception(*record.exc_info))


@dataclass
class Tally:
    sent: int = 0
    ok: int = 0  # 2xx and 3xx
    refused: int = 0  # 4xx
    errors: int = 0  # 5xx, or an exception that escaped
    statuses: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "2xx_3xx": self.ok,
            "4xx": self.refused,
            "5xx": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }


# Filled by every fuzz test, written out by the conftest at the end of the session.
RESULTS: dict[tuple[str, str], Tally] = defaultdict(Tally)


def short(value, limit: int = 160) -> str:
    """A readable piece of a value that may be megabytes long."""
    size = len(value) if isinstance(value, str | bytes) else None
    text = repr(value[: limit + 1] if size is not None else value)
    if size is not None and size > limit:
        return f"{text[:limit]}... ({size} {'bytes' if isinstance(value, bytes) else 'chars'})"
    return text if len(text) <= limit else f"{text[:limit]}..."


def clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def tail(tb: str | None, lines: int = 6) -> str:
    if not tb:
        return ""
    return "\n      " + "\n      ".join(tb.strip().splitlines()[-lines:])


class Fuzzer:
    """Sends requests as one role to one surface and remembers what went wrong."""

    def __init__(self, client, *, role: str, surface: str):
        self.client = client
        self.role = role
        self.surface = surface
        self.tally = RESULTS[(role, surface)]
        self.failures: list[str] = []
        self.catcher = _TracebackCatcher()

    # Thousands of refusals would each log a warning (with a traceback for a 403): only
    # errors are wanted here, and they are still logged and caught.
    QUIET = ("django.request", "django.security")

    def __enter__(self):
        logging.getLogger().addHandler(self.catcher)
        self._levels = {name: logging.getLogger(name).level for name in self.QUIET}
        for name in self.QUIET:
            logging.getLogger(name).setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        logging.getLogger().removeHandler(self.catcher)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    def send(
        self,
        method: str,
        path: str,
        *,
        data=b"",
        content_type="application/json",
        headers: dict | None = None,
        what: str = "",
    ) -> int:
        """One request; returns its status (599 when an exception escaped)."""
        cookies = SimpleCookie()
        cookies.load(self.client.cookies.output(header="", sep=";"))
        describe = (
            f"[{self.role}] {method.upper()} {clip(path, 120)} {what} "
            f"(content-type {content_type!r}, body {short(data, 120)})"
        )
        self.catcher.last = None
        tb = None
        with transaction.atomic():
            before = row_counts()
            try:
                with transaction.atomic():
                    response = self.client.generic(
                        method.upper(),
                        path,
                        data=data,
                        content_type=content_type,
                        **(headers or {}),
                    )
                    status = response.status_code
                    if status >= 500:
                        transaction.set_rollback(True)
            except Exception:
                status, tb = 599, traceback.format_exc()
            after = row_counts() if status < 500 else before
            transaction.set_rollback(True)
        # A request that signs out or rotates the session must not sign the fuzzer out.
        self.client.cookies = cookies

        self.tally.sent += 1
        self.tally.statuses[status] += 1
        if status >= 500:
            self.tally.errors += 1
            self.failures.append(f"{status} for {describe}{tail(tb or self.catcher.last)}")
        elif status >= 400:
            self.tally.refused += 1
            changed = count_diff(before, after)
            if changed:
                self.failures.append(f"refused ({status}) but changed rows {changed}: {describe}")
        else:
            self.tally.ok += 1
        return status

    def check(self) -> None:
        assert not self.failures, (
            f"{len(self.failures)} of {self.tally.sent} inputs failed:\n  "
            + "\n  ".join(self.failures[:40])
        )
