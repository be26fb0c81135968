"""No raw IIN anywhere (issue 11, must show): the database dump, the logs, every export, the
media directory and the pages never hold an IIN that went through Birge.

A register is loaded (CSV, then re-imported as XLSX), accounts verify through the census
service and the API, some fail (bad IIN, not in the register, taken, wrong date of birth),
every export is made and the audit log and admin pages are rendered, with every log record at
DEBUG (SQL included) written to a file. Then each IIN used is searched for, as digits and as
the hex of its digits (how a bytea column would dump it), in `pg_dump` of the test database,
the log file, every file under MEDIA_ROOT (XLSX unzipped), the audit log exports, the decoded
sessions and every response. A canary IIN deliberately put in a log line, an e-mail address
and a poll title shows that the search finds what is there.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_log_export, audit_record
from civic.errors import Conflict, NotFound
from dashboard.models import Export
from dashboard.services import export_create, export_run
from polls.services import ChoiceInput, PollInput, poll_create, poll_open
from residents.iin import BadIIN, iin_make
from residents.services import (
    census_import_create,
    census_import_run,
    desk_code_issue,
    resident_verify_census,
    resident_verify_in_person,
)
from tests.factories import OfficialFactory, UserFactory

from .conftest import person, register_csv, upload

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed"),
]

VERIFICATION_URL = "/api/v1/me/verification"
CANARY = iin_make(dt.date(1977, 7, 7), 4242)


def _bad_check_digit(iin: str) -> str:
    return iin[:11] + str((int(iin[11]) + 1) % 10)


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["iin", "birth_date", "district"])
    for iin, born, district in rows:
        sheet.append([iin, born.isoformat(), district])  # text cells, as a register would be
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Evidence:
    """Named texts to search: each IIN must be in none of them."""

    def __init__(self):
        self.blobs: dict[str, str] = {}

    def add(self, name: str, data: bytes | str) -> None:
        if isinstance(data, bytes):
            if data[:4] == b"PK\x03\x04":  # XLSX: search the XML inside, not the compressed
                with zipfile.ZipFile(io.BytesIO(data)) as zipped:
                    for member in zipped.namelist():
                        self.add(f"{name}!{member}", zipped.read(member))
                return
            data = data.decode("utf-8", errors="replace")
        self.blobs[name] = data

    def holding(self, iin: str) -> list[str]:
        forms = (iin, iin.encode().hex())
        return [name for name, text in self.blobs.items() if any(f in text for f in forms)]


def _pg_dump() -> str:
    db = connection.settings_dict
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    result = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "--format=plain",
            "--no-owner",
            "-h",
            db.get("HOST") or "127.0.0.1",
            "-p",
            str(db.get("PORT") or 5432),
            "-U",
            db.get("USER") or "postgres",
            db["NAME"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def debug_log(tmp_path):
    """Every record of every logger at DEBUG, SQL with its parameters included, into a file."""
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    loggers = [root] + [
        logging.getLogger(name)
        for name, item in logging.root.manager.loggerDict.items()
        if isinstance(item, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    # Loggers that do not reach the root get the handler too.
    private = [lg for lg in loggers if lg is not root and not lg.propagate]
    root.addHandler(handler)
    for lg in private:
        lg.addHandler(handler)
    connection.force_debug_cursor = True
    try:
        yield path
    finally:
        connection.force_debug_cursor = False
        root.removeHandler(handler)
        for lg in private:
            lg.removeHandler(handler)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled
        handler.close()


@pytest.mark.django_db(transaction=True)
def test_no_raw_iin_in_the_dump_logs_exports_media_or_pages(debug_log, census_official):
    evidence = Evidence()
    pages: list[tuple[str, bytes]] = []
    residents = [
        person(n, slug) for n, slug in zip(range(300, 312), ["medeu", "almaly"] * 6, strict=True)
    ]
    not_in_register = person(399)[0:2]
    # Rejected rows of the register: a bad check digit, a duplicate, an unknown district.
    bad_row = (_bad_check_digit(person(400)[0]), person(400)[1], "medeu")
    unknown_district = person(401, "atlantis")
    rows = [*residents, bad_row, residents[0], unknown_district]

    # --- the register: CSV, then the same people re-imported as XLSX, then through the API -----
    for data, name in ((register_csv(rows), "register.csv"), (_xlsx(rows), "register.xlsx")):
        census = census_import_create(actor=census_official, file=upload(data, name), enqueue=False)
        census_import_run(import_id=census.pk)
        census.refresh_from_db()
        assert census.status == "done", census.message
        assert (census.rows_imported, census.rows_rejected) == (len(residents), 3)
    census_client = Client()
    census_client.force_login(census_official)
    created = census_client.post(
        "/api/v1/census/imports", {"file": upload(register_csv(rows), "register.csv")}
    )
    assert created.status_code == 202, created.content
    census_import_run(import_id=created.json()["id"])  # done already when tasks run eagerly
    status = census_client.get(f"/api/v1/census/imports/{created.json()['id']}")
    assert status.json()["status"] == "done" and status.json()["rows_rejected"] == 3
    errors = census_client.get(status.json()["errors_url"])
    assert errors.status_code == 200 and b"unknown_district" in b"".join(errors)
    pages.append(("census import status (API)", status.content))
    pages.append(("census import error report (API)", b"".join(errors)))

    # --- verifications: the service, the API, and failures --------------------------------------
    users = [UserFactory() for _ in range(8)]
    for user, (iin, born, _slug) in zip(users[:3], residents[:3], strict=True):
        resident_verify_census(actor=user, iin=iin, birth_date=born)
    failures = [
        (users[3], _bad_check_digit(residents[5][0]), residents[5][1], BadIIN),
        (users[3], "991399" + residents[6][0][6:], residents[6][1], BadIIN),  # no 13th month
        (users[4], *not_in_register, NotFound),
        (users[5], residents[0][0], residents[0][1], Conflict),  # taken by users[0]
        (users[6], residents[7][0], residents[7][1] + dt.timedelta(days=1), BadIIN),
    ]
    for user, iin, born, error in failures:
        with pytest.raises(error):
            resident_verify_census(actor=user, iin=iin, birth_date=born)
    tried = [iin for _u, iin, _b, _e in failures]

    api_client = Client()
    api_client.force_login(users[7])
    attempts = [
        (residents[8][0], residents[8][1], 200),
        (residents[1][0], residents[1][1], 409),  # taken
        (_bad_check_digit(residents[9][0]), residents[9][1], 422),
        (not_in_register[0], not_in_register[1], 404),
    ]
    for iin, born, status in reversed(attempts):  # failures first, then the match
        response = api_client.post(
            VERIFICATION_URL,
            {"iin": iin, "birth_date": born.isoformat()},
            content_type="application/json",
        )
        assert response.status_code == status, response.content
        pages.append((f"POST {VERIFICATION_URL} ({status})", response.content))
        tried.append(iin)
    me = api_client.get("/api/v1/me")
    assert me.status_code == 200
    pages.append(("GET /api/v1/me", me.content))

    # In person at a service desk: the official types the IIN from the citizen's ID.
    desk = OfficialFactory()
    desk.user_permissions.add(Permission.objects.get(codename="verify_in_person"))
    desk = type(desk).objects.get(pk=desk.pk)
    at_desk = UserFactory()
    code, _expires = desk_code_issue(actor=at_desk)
    with pytest.raises(NotFound):
        resident_verify_in_person(official=desk, code=code, iin=person(398)[0])
    resident_verify_in_person(official=desk, code=code, iin=residents[10][0])
    tried += [person(398)[0], residents[10][0]]
    for user in (users[0], at_desk):
        page_client = Client()
        page_client.force_login(user)
        verify_page = page_client.get(reverse("residents:verify"))
        assert verify_page.status_code == 200
        pages.append((f"verification page of user {user.pk}", verify_page.content))

    # --- the control: a canary IIN, put where the search must find it ---------------------------
    logging.getLogger("tests.control").debug("control line holding %s", CANARY)
    canary_user = UserFactory(email=f"canary{CANARY}@example.kz")
    audit_record(actor=canary_user, action="test.control", target=canary_user)
    official = OfficialFactory()
    choices = [ChoiceInput(f"Таңдау {i}", f"Вариант {i}", f"Choice {i}") for i in (1, 2)]
    poll = poll_create(
        actor=official,
        data=PollInput(
            title_kk="Бақылау",
            title_ru="Контроль",
            title_en=f"Control {CANARY}",
            choices=choices,
            opens_at=timezone.now(),
            closes_at=timezone.now() + dt.timedelta(hours=1),
        ),
    )
    poll_open(actor=official, poll_id=poll.pk)

    # --- every export ---------------------------------------------------------------------------
    exports = []
    for kind in Export.Kind.values:
        for fmt in Export.Format.values:
            export = export_create(
                actor=official,
                kind=kind,
                format=fmt,
                poll_id=poll.pk if kind == Export.Kind.POLL_RESULTS else None,
            )
            export_run(export_id=export.pk)
            export.refresh_from_db()
            assert export.state == Export.State.DONE, export.error
            exports.append(export)
    for fmt in ("csv", "json"):
        content, count = audit_log_export(actor=official, format=fmt)
        assert count > 10
        evidence.add(f"audit export .{fmt}", content)

    # --- pages: the audit log, the admin of residents and audit, the API ------------------------
    staff = Client()
    staff.force_login(official)
    audit_page = staff.get(reverse("audit:index"))
    assert audit_page.status_code == 200
    assert b"resident.verify_failed" in audit_page.content
    pages.append(("audit log page", audit_page.content))
    census_page = census_client.get(reverse("residents:census_imports"))
    assert census_page.status_code == 200
    pages.append(("census imports page", census_page.content))
    superuser = UserFactory(is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(superuser)
    for model in admin.site._registry:
        if model._meta.app_label not in ("residents", "audit"):
            continue
        info = (model._meta.app_label, model._meta.model_name)
        urls = [reverse("admin:{}_{}_changelist".format(*info))]
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        for url in urls:
            response = admin_client.get(url)
            assert response.status_code == 200, url
            pages.append((url, response.content))

    # --- gather the evidence --------------------------------------------------------------------
    for name, content in pages:
        evidence.add(name, content)
    media = Path(settings.MEDIA_ROOT)
    for path in media.rglob("*"):
        if path.is_file():
            evidence.add(f"media/{path.relative_to(media)}", path.read_bytes())
    for session in Session.objects.all():
        evidence.add(f"session {session.pk}", json.dumps(session.get_decoded(), default=str))
    evidence.add("pg_dump", _pg_dump())
    evidence.add("debug log", debug_log.read_bytes())

    # The uploads are gone; the error reports list the rejected rows, by line and reason.
    files = sorted(str(p.relative_to(media)) for p in (media / "census").rglob("*") if p.is_file())
    assert files and all(f.startswith("census/reports/") for f in files), files
    reports = [evidence.blobs[f"media/{f}"] for f in files]
    assert all("duplicate_iin" in r and "unknown_district" in r for r in reports)
    export_names = [f"media/{e.file.name}" for e in exports]
    assert all(
        any(n == name or n.startswith(f"{name}!") for n in evidence.blobs) for name in export_names
    )

    # --- the control: the search finds an IIN that is there ------------------------------------
    found = evidence.holding(CANARY)
    assert "debug log" in found and "pg_dump" in found
    assert "audit log page" in found
    assert {"audit export .csv", "audit export .json"} <= set(found)
    poll_exports = [e for e in exports if e.kind == Export.Kind.POLL_RESULTS]
    for export in poll_exports:
        name = f"media/{export.file.name}"
        assert any(f == name or f.startswith(f"{name}!") for f in found), name
    assert any("!xl/" in f for f in found)  # inside an XLSX export's XML
    # The SQL the test ran was logged at DEBUG (so a query holding an IIN would show).
    assert "residents_censusentry" in evidence.blobs["debug log"]

    # --- the finding: no IIN used is anywhere ---------------------------------------------------
    used = {iin for iin, _b, _s in rows} | set(tried) | {not_in_register[0]}
    assert len(used) >= 17
    leaks = {iin: evidence.holding(iin) for iin in sorted(used)}
    assert all(not where for where in leaks.values()), {k: v for k, v in leaks.items() if v}
