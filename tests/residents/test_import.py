"""Loading the register: formats, refusals, per-row errors, atomic replacement."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from audit.models import AuditEntry
from civic.errors import Forbidden
from residents import services
from residents.iin import register_key
from residents.models import CensusEntry, CensusImport, ResidentVerification
from residents.selectors import current_census_import, register_residents_count, verification_of
from residents.services import census_import_create, resident_verify_census
from tests.factories import UserFactory, district

from .conftest import person, register_csv, upload

pytestmark = pytest.mark.django_db

DONE = CensusImport.Status.DONE
REFUSED = CensusImport.Status.REFUSED
FAILED = CensusImport.Status.FAILED


def report_rows(census) -> list[list[str]]:
    with open(census.error_report.path, encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def media_census_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "census"
    return [p for p in root.glob("*") if p.is_file()] if root.exists() else []


def test_a_good_csv_becomes_the_current_register(load, settings):
    people = [person(n, slug) for n, slug in enumerate(["medeu", "almaly", "auezov"] * 4)]
    census = load(register_csv(people))
    assert census.status == DONE, census.message
    assert (census.rows_total, census.rows_imported, census.rows_rejected) == (12, 12, 0)
    assert census.is_current and current_census_import() == census
    assert register_residents_count() == 12
    assert register_residents_count(district_id=district("almaly").pk) == 4
    iin, born, _slug = people[0]
    assert CensusEntry.objects.filter(register_key=register_key(iin, born)).exists()
    # The upload is gone; the report holds the header only.
    assert media_census_files(settings) == []
    assert report_rows(census) == []
    actions = list(AuditEntry.objects.values_list("action", flat=True).order_by("pk"))
    assert actions == ["census.import_created", "census.import_done"]
    done = AuditEntry.objects.get(action="census.import_done").data
    assert done["rows_imported"] == 12 and done["rows_rejected"] == 0


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1251"])
def test_bom_and_windows_1251_files_with_russian_headers_and_names(load, encoding):
    rows = [
        (person(1)[0], person(1)[1], "Медеуский район"),
        (person(2)[0], person(2)[1].strftime("%d.%m.%Y"), "алмалинский район"),
        (person(3)[0], person(3)[1], "MEDEU"),
    ]
    data = register_csv(
        rows, header=("ИИН", "Дата рождения", "Район"), encoding=encoding, delimiter=";"
    )
    census = load(data)
    assert census.status == DONE, census.message
    assert census.rows_imported == 3
    assert register_residents_count(district_id=district("almaly").pk) == 1


def test_kazakh_district_names_and_extra_columns(load):
    rows = [("x", person(1)[0], person(1)[1], "Медеу ауданы", "extra")]
    data = register_csv(rows, header=("name", "IIN", "Birth_Date", "District", "phone"))
    census = load(data)
    assert census.status == DONE, census.message
    assert census.rows_imported == 1


def xlsx(tmp_path, rows, header=("iin", "birth_date", "district")) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / "register.xlsx"
    book.save(path)
    return path.read_bytes()


def test_xlsx_with_a_formula_row_and_numeric_iins(load, tmp_path):
    (a, a_born, _), (b, b_born, _), (c, c_born, _) = person(1), person(2), person(3)
    # A 2000s IIN typed as a number loses its leading zero in a spreadsheet.
    young = "000101500001"
    rows = [
        (a, dt.datetime.combine(a_born, dt.time()), "medeu"),
        (b, b_born.isoformat(), '=CONCAT("me","deu")'),
        (int(c), c_born, "almaly"),
        (int(young), dt.date(2000, 1, 1), "medeu"),
    ]
    census = load(xlsx(tmp_path, rows), name="register.xlsx")
    assert census.status == DONE, census.message
    assert (census.rows_total, census.rows_imported, census.rows_rejected) == (4, 3, 1)
    assert report_rows(census) == [["3", "formula", report_rows(census)[0][2]]]


def test_missing_column_refuses_the_whole_file(load, settings):
    census = load(register_csv([person(1)[:2]], header=("iin", "birth_date")))
    assert census.status == REFUSED
    assert "district" in census.message
    assert not census.is_current and CensusEntry.objects.count() == 0
    assert media_census_files(settings) == []
    assert AuditEntry.objects.filter(action="census.import_refused").count() == 1


@pytest.mark.parametrize("data", [b"", b"\n\n", b"iin,birth_date,district\n"])
def test_an_empty_file_is_refused(load, data):
    census = load(data)
    assert census.status == REFUSED
    assert census.message
    assert CensusEntry.objects.count() == 0


def test_a_file_over_the_limit_is_refused_before_reading(census_official, settings):
    settings.CENSUS_MAX_BYTES = 10
    census = census_import_create(actor=census_official, file=upload(register_csv([person(1)])))
    assert census.status == REFUSED
    assert "10" in census.message
    assert media_census_files(settings) == []


def test_bad_rows_are_reported_by_line_without_the_iin(load):
    good = [person(n) for n in range(5)]
    future = dt.date.today() + dt.timedelta(days=30)
    bad_check = good[0][0][:11] + str((int(good[0][0][11]) + 1) % 10)
    rows = [
        good[0],  # line 2
        (bad_check, good[0][1], "medeu"),  # 3: check digit
        ("12345", good[1][1], "medeu"),  # 4: format
        (good[1][0], good[2][1], "medeu"),  # 5: birth date mismatch
        (good[1][0], "31.02.1990", "medeu"),  # 6: not a date
        (good[1][0], future, "medeu"),  # 7: future
        (good[1][0], good[1][1], "Atlantis"),  # 8: unknown district
        good[1],  # 9
        good[0],  # 10: duplicate of line 2
        (good[1][0], good[1][1], "almaly"),  # 11: duplicate of line 9 (other district)
        good[2],  # 12
    ]
    census = load(register_csv(rows))
    assert census.status == DONE, census.message
    assert (census.rows_total, census.rows_imported, census.rows_rejected) == (11, 3, 8)
    report = report_rows(census)
    assert [(line, reason) for line, reason, _msg in report] == [
        ("3", "bad_iin:check_digit"),
        ("4", "bad_iin:format"),
        ("5", "bad_iin:birth_date"),
        ("6", "bad_date"),
        ("7", "future_date"),
        ("8", "unknown_district"),
        ("10", "duplicate_iin"),
        ("11", "duplicate_iin"),
    ]
    text = Path(census.error_report.path).read_text()
    for iin, _born, _slug in good:
        assert iin not in text
    assert bad_check not in text
    # The first occurrence wins, in its district.
    assert register_residents_count(district_id=district("medeu").pk) == 3


def test_duplicates_across_batches_are_caught(load, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", 3)
    monkeypatch.setattr(services, "PG_BATCH_ROWS", 3)
    people = [person(n) for n in range(7)]
    census = load(register_csv([*people, people[1], people[6], people[6]]))
    assert (census.rows_total, census.rows_imported, census.rows_rejected) == (10, 7, 3)
    assert [r[0] for r in report_rows(census)] == ["9", "10", "11"]


def test_only_census_officials_import(citizen, official):
    for user in (citizen, official):
        with pytest.raises(Forbidden) as caught:
            census_import_create(actor=user, file=upload(register_csv([person(1)])))
        assert caught.value.code == "census_permission_required"
    assert CensusImport.objects.count() == 0


def test_a_superuser_may_import(db):
    district("medeu")
    admin = UserFactory(is_superuser=True)
    census = census_import_create(
        actor=admin, file=upload(register_csv([person(1)])), enqueue=False
    )
    assert census.status == CensusImport.Status.QUEUED


def test_the_import_runs_as_a_task_after_commit(
    census_official, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        census = census_import_create(
            actor=census_official, file=upload(register_csv([person(1), person(2)]))
        )
    census.refresh_from_db()
    assert census.status == DONE and census.rows_imported == 2
    # Running it again (a re-delivered task) changes nothing.
    from residents.tasks import run_census_import

    run_census_import(str(census.pk))
    assert CensusEntry.objects.count() == 2
    assert AuditEntry.objects.filter(action="census.import_done").count() == 1


def test_reimport_replaces_the_register_and_makes_removed_residents_stale(load):
    people = [person(n) for n in range(6)]
    first = load(register_csv(people))
    users = [UserFactory() for _ in range(3)]
    for user, (iin, born, _slug) in zip(users, people, strict=False):
        resident_verify_census(actor=user, iin=iin, birth_date=born)
    assert verification_of(users[0])["level"] == "resident"
    # The new register drops people[0] and moves people[1] to another district.
    moved = (people[1][0], people[1][1], "almaly")
    second = load(register_csv([moved, *people[2:]]))
    assert second.status == DONE, second.message
    first.refresh_from_db()
    assert second.is_current and not first.is_current
    assert CensusImport.objects.filter(is_current=True).count() == 1
    # The old register's rows are gone.
    assert CensusEntry.objects.filter(census_import=first).count() == 0
    assert CensusEntry.objects.count() == 5
    assert verification_of(users[0])["level"] == "email"
    assert verification_of(users[1])["level"] == "email"
    assert verification_of(users[2])["level"] == "resident"
    assert ResidentVerification.objects.filter(stale_at__isnull=False).count() == 2
    assert (
        AuditEntry.objects.get(action="census.import_done", target_id=str(second.pk)).data[
            "verifications_stale"
        ]
        == 2
    )
    # The moved resident verifies again, now in the register's new district.
    resident_verify_census(actor=users[1], iin=people[1][0], birth_date=people[1][1])
    assert verification_of(users[1]) == {
        "level": "resident",
        "district": district("almaly").pk,
        "method": "census",
        "verified_at": ResidentVerification.objects.get(user=users[1]).verified_at,
    }


def test_a_failure_mid_import_leaves_the_previous_register_current(load, monkeypatch, settings):
    people = [person(n) for n in range(10)]
    first = load(register_csv(people[:4]))
    monkeypatch.setattr(services, "BATCH_ROWS", 3)
    monkeypatch.setattr(services, "PG_BATCH_ROWS", 3)
    real_insert = services._insert_batch
    calls = []

    def failing(census_id, batch):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_insert(census_id, batch)

    monkeypatch.setattr(services, "_insert_batch", failing)
    second = load(register_csv(people[4:]))
    assert second.status == FAILED
    assert not second.is_current
    first.refresh_from_db()
    assert first.is_current and current_census_import() == first
    assert CensusEntry.objects.filter(census_import=second).count() == 0
    assert CensusEntry.objects.filter(census_import=first).count() == 4
    assert media_census_files(settings) == []
    assert AuditEntry.objects.filter(action="census.import_failed").count() == 1
    # Its task re-delivered: a failed import is not run again.
    assert services.census_import_run(import_id=second.pk) is None


def test_a_failure_while_switching_over_leaves_the_previous_register(load, monkeypatch):
    first = load(register_csv([person(1)]))
    user = UserFactory()
    resident_verify_census(actor=user, iin=person(1)[0], birth_date=person(1)[1])

    def broken_audit(**kwargs):
        if kwargs["action"] == "census.import_done":
            raise RuntimeError("audit down")
        return real_audit(**kwargs)

    real_audit = services.audit_record
    monkeypatch.setattr(services, "audit_record", broken_audit)
    second = load(register_csv([person(2)]))
    assert second.status == FAILED
    first.refresh_from_db()
    assert first.is_current
    assert verification_of(user)["level"] == "resident"


def test_a_running_import_is_not_started_twice(census_official):
    census = census_import_create(
        actor=census_official, file=upload(register_csv([person(1)])), enqueue=False
    )
    from django.utils import timezone

    CensusImport.objects.filter(pk=census.pk).update(
        status=CensusImport.Status.RUNNING, heartbeat_at=timezone.now()
    )
    assert services.census_import_run(import_id=census.pk) is None
    # Abandoned (no progress for long): a re-delivered task starts it over.
    CensusImport.objects.filter(pk=census.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.census_import_run(import_id=census.pk).status == DONE


def test_the_command_imports_and_prints_the_counts(census_official, tmp_path, capsys):
    path = tmp_path / "register.csv"
    path.write_bytes(register_csv([person(1), person(2), ("1", "x", "y")]))
    call_command("census_import", str(path), "--by", census_official.email)
    out = capsys.readouterr().out
    assert "done; rows 3, imported 2, rejected 1" in out
    assert path.exists()  # the operator's own file is left alone
    census = current_census_import()
    assert census.created_by == census_official
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"iin\n1\n")
    with pytest.raises(CommandError):
        call_command("census_import", str(bad))
    assert current_census_import() == census


def test_a_byte_windows_1251_leaves_undefined_fails_only_its_row(load):
    rows = [person(1), (person(2)[0], person(2)[1], "Медеуский район")]
    data = register_csv(rows, encoding="cp1251") + b"\x98" + register_csv([person(3)], header=None)
    census = load(data)
    assert census.status == DONE, census.message
    assert (census.rows_imported, census.rows_rejected) == (2, 1)
    assert [r[:2] for r in report_rows(census)] == [["4", "bad_iin:format"]]
