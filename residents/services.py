"""State changes of residents: loading the register (census imports) and verifying accounts.

No raw IIN is stored, logged or audit-logged here: only keyed hashes (residents.iin) and, for
the account's own page and the audit log, the last four digits.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from accounts.models import District, Role, User
from accounts.permissions import require_moderator
from audit.services import audit_record
from civic.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    RateLimited,
)
from civic.ratelimit import rate_limit, rate_limit_check, rate_limit_count
from notifications.services import enqueue_on_commit, notification_send

from .iin import BadIIN, iin_birth_date, iin_key, iin_validate, register_key
from .models import CensusEntry, CensusImport, DeskCode, IdentityReport, ResidentVerification
from .permissions import (
    require_can_verify,
    require_census_importer,
    require_in_person_verifier,
)

logger = logging.getLogger(__name__)

RUN_TASK = "residents.run_census_import"
CENSUS_DIR = "census"
REPORT_DIR = "census/reports"
# Rows written per batch (and per progress save): bounded memory whatever the file's size.
BATCH_ROWS = 5000
PG_BATCH_ROWS = 20000
# A running import that saved no progress for this long was abandoned (its worker died):
# a re-delivered task starts it over; a younger one is left to the worker running it.
ABANDONED_SECONDS = 180
DELETE_BATCH = 50000

METHOD_CENSUS = "census"

# Header names, case-insensitive: the first of each set that a file has is used.
COLUMNS = {
    "iin": ("iin", "иин", "жсн"),
    "birth_date": ("birth_date", "date of birth", "дата рождения", "туған күні"),
    "district": ("district", "район", "аудан"),
}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")


# --- storing the upload ----------------------------------------------------------------------


def _census_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / CENSUS_DIR
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _store_upload(file) -> str:
    """Copy the upload to MEDIA_ROOT/census/ under a random name, readable by this user only."""
    suffix = ".xlsx" if str(getattr(file, "name", "")).lower().endswith(".xlsx") else ".dat"
    path = _census_dir() / f"{secrets.token_hex(16)}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        if hasattr(file, "chunks"):
            for chunk in file.chunks():
                out.write(chunk)
        else:
            while chunk := file.read(1 << 20):
                out.write(chunk)
    return str(path.relative_to(settings.MEDIA_ROOT))


def _file_size(file) -> int | None:
    size = getattr(file, "size", None)
    if size is None and hasattr(file, "fileno"):
        try:
            size = os.fstat(file.fileno()).st_size
        except OSError:
            size = None
    return size


def census_import_create(*, actor, file, enqueue: bool = True) -> CensusImport:
    """Queue the register in `file` (CSV or XLSX) for import; runs as a Celery task.

    `actor` None is the system: the `census_import` command run by the operator at the server.
    A file over CENSUS_MAX_BYTES is refused at once and never stored. `enqueue=False` leaves
    the run to the caller (the command runs it in its own process).
    """
    if actor is not None:
        require_census_importer(actor)
    name = os.path.basename(str(getattr(file, "name", "") or ""))[:255]
    size = _file_size(file)
    if size is not None and size > settings.CENSUS_MAX_BYTES:
        with transaction.atomic():
            census = CensusImport.objects.create(
                created_by=actor,
                original_name=name,
                status=CensusImport.Status.REFUSED,
                message=_g("The file is larger than %(max)s bytes and was not read.")
                % {"max": settings.CENSUS_MAX_BYTES},
                finished_at=timezone.now(),
            )
            audit_record(
                actor=actor,
                action="census.import_refused",
                target=census,
                data={"reason": "too_large", "bytes": size},
            )
        return census
    stored = _store_upload(file)
    try:
        with transaction.atomic():
            census = CensusImport.objects.create(
                created_by=actor, original_name=name, file_path=stored
            )
            audit_record(
                actor=actor,
                action="census.import_created",
                target=census,
                data={"bytes": size, "file": name},
            )
            if enqueue:
                enqueue_on_commit(RUN_TASK, str(census.pk))
    except Exception:
        _delete_file(stored)
        raise
    return census


# --- reading the file, streamed ---------------------------------------------------------------


class Refused(Exception):
    """The file as a whole is refused: nothing is imported, the message says why."""


def _delete_file(relative: str) -> None:
    if not relative:
        return
    try:
        (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)
    except OSError:
        logger.warning("census import: could not delete an uploaded register file")


def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _csv_encoding(path: Path) -> str:
    """UTF-8 (a BOM is skipped) if the whole file decodes strictly, else Windows-1251.
    Decoded incrementally: constant memory."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with open(path, "rb") as fh:
        head = fh.read(3)
        try:
            decoder.decode(head)
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1251"
    return "utf-8-sig"


def _csv_rows(path: Path) -> Iterator[tuple[int, list, bool]]:
    """(line number, cells, has a formula) per non-blank row; the header is line 1."""
    encoding = _csv_encoding(path)
    # Windows-1251 leaves one byte (0x98) undefined: it reads as U+FFFD and fails its row.
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        first = fh.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        fh.seek(0)
        reader = csv.reader(fh, delimiter=delimiter)
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            yield reader.line_num, cells, False


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list, bool]]:
    """The first sheet, streamed in constant memory (residents.xlsx: openpyxl's read-only
    parsing, shared strings on disk). A formula cell marks its row."""
    from .xlsx import load_register_workbook

    try:
        book = load_register_workbook(path, directory=str(path.parent))
    except Exception as exc:
        raise Refused(_g("The file could not be read as CSV or XLSX.")) from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        for row in sheet.iter_rows():
            values = []
            formula = False
            line = None
            for cell in row:
                value = getattr(cell, "value", None)
                line = line or getattr(cell, "row", None)
                if getattr(cell, "data_type", None) == "f" or (
                    isinstance(value, str) and value.startswith("=")
                ):
                    formula = True
                values.append(value)
            if not any(v is not None and str(v).strip() for v in values):
                continue
            yield line or 0, values, formula
    finally:
        book.close()


def _header_map(cells: list) -> dict[str, int]:
    names = [str(c).strip().lower().lstrip("\ufeff") if c is not None else "" for c in cells]
    found = {}
    for column, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in names:
                found[column] = names.index(alias)
                break
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise Refused(
            _g(
                "The file lacks the required columns: %(missing)s (it needs iin, birth_date "
                "and district)."
            )
            % {"missing": ", ".join(missing)}
        )
    return found


def _district_lookup() -> dict[str, int]:
    lookup = {}
    for d in District.objects.all():
        for value in (d.slug, d.name_kk, d.name_ru, d.name_en):
            if value:
                lookup[value.strip().casefold()] = d.pk
    return lookup


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        # A spreadsheet keeps an IIN typed as a number without its leading zero.
        return str(value).zfill(12)
    return str(value).strip()


def _cell_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value or "").strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


REASONS = {
    "formula": _("The row holds a formula; only plain values are accepted."),
    "bad_date": _("The date of birth is missing or not a date (YYYY-MM-DD or DD.MM.YYYY)."),
    "future_date": _("The date of birth is in the future."),
    "unknown_district": _("The district is not one of the city's districts."),
    "duplicate_iin": _("The IIN is already on an earlier line of this file."),
}


def _check_row(cells, cols, districts, today) -> tuple[bytes, int] | tuple[None, str]:
    """(register key, district id) for a good row, or (None, reason code)."""

    def cell(name):
        index = cols[name]
        return cells[index] if index < len(cells) else None

    born = _cell_date(cell("birth_date"))
    if born is None:
        return None, "bad_date"
    if born > today:
        return None, "future_date"
    try:
        iin = iin_validate(_cell_text(cell("iin")), born)
    except BadIIN as exc:
        return None, f"bad_iin:{exc.reason}"
    district = districts.get(_cell_text(cell("district")).casefold())
    if district is None:
        return None, "unknown_district"
    return register_key(iin, born), district


def _reason_text(reason: str) -> str:
    if reason.startswith("bad_iin:"):
        return {
            "format": _g("The IIN is not 12 digits."),
            "date": _g("The IIN's first seven digits are not a real date of birth."),
            "check_digit": _g("The IIN's check digit is wrong."),
            "birth_date": _g("The IIN does not match the date of birth."),
        }.get(reason.split(":", 1)[1], _g("The IIN is not valid."))
    return str(REASONS.get(reason, reason))


# --- writing the rows -------------------------------------------------------------------------


def _existing_keys(census_id, keys: list[bytes]) -> set[bytes]:
    rows = CensusEntry.objects.filter(census_import_id=census_id, register_key__in=keys)
    return {bytes(k) for k in rows.values_list("register_key", flat=True)}


def _insert_batch(census_id, batch: list[tuple[bytes, int]]) -> None:
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        table = CensusEntry._meta.db_table
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(
                f"COPY {table} (census_import_id, register_key, district_id) FROM STDIN"
            ) as copy,
        ):
            for key, district in batch:
                copy.write_row((census_id, key, district))
        return
    CensusEntry.objects.bulk_create(
        [CensusEntry(census_import_id=census_id, register_key=k, district_id=d) for k, d in batch],
        batch_size=BATCH_ROWS,
    )


def _write_batch(census, batch, report, counts) -> None:
    """Insert the batch's rows whose IIN no earlier line had; report the others."""
    keys = [key for _line, key, _d in batch]
    seen = _existing_keys(census.pk, keys)
    good = []
    for line, key, district in batch:
        if key in seen:
            counts["rejected"] += 1
            report.writerow([line, "duplicate_iin", _reason_text("duplicate_iin")])
            continue
        seen.add(key)
        good.append((key, district))
    with transaction.atomic():
        _insert_batch(census.pk, good)
        counts["imported"] += len(good)
        CensusImport.objects.filter(pk=census.pk).update(
            rows_total=counts["total"],
            rows_imported=counts["imported"],
            rows_rejected=counts["rejected"],
            heartbeat_at=timezone.now(),
        )


def _rows(path: Path):
    if _is_xlsx(path):
        return _xlsx_rows(path)
    return _csv_rows(path)


def _import_rows(census: CensusImport, path: Path, report) -> dict:
    counts = {"total": 0, "imported": 0, "rejected": 0}
    rows = _rows(path)
    header = next(rows, None)
    if header is None:
        raise Refused(_g("The file is empty."))
    cols = _header_map(header[1])
    districts = _district_lookup()
    today = timezone.localdate()
    size = PG_BATCH_ROWS if connection.vendor == "postgresql" else BATCH_ROWS
    batch: list[tuple[int, bytes, int]] = []
    for line, cells, formula in rows:
        counts["total"] += 1
        if formula:
            key, result = None, "formula"
        else:
            key, result = _check_row(cells, cols, districts, today)
        if key is None:
            counts["rejected"] += 1
            report.writerow([line, result, _reason_text(result)])
            continue
        batch.append((line, key, result))
        if len(batch) >= size:
            _write_batch(census, batch, report, counts)
            batch = []
    _write_batch(census, batch, report, counts)
    if counts["total"] == 0:
        raise Refused(_g("The file has a header but no rows."))
    if counts["imported"] == 0:
        raise Refused(_g("No row of the file could be imported; see the error report."))
    return counts


# --- running an import ------------------------------------------------------------------------


def _claim(import_id) -> CensusImport | None:
    """Mark the import running, or None if it is finished or another worker runs it."""
    with transaction.atomic():
        census = CensusImport.objects.select_for_update().filter(pk=import_id).first()
        if census is None:
            return None
        if census.status in (
            CensusImport.Status.DONE,
            CensusImport.Status.FAILED,
            CensusImport.Status.REFUSED,
        ):
            return None
        now = timezone.now()
        if (
            census.status == CensusImport.Status.RUNNING
            and census.heartbeat_at
            and (now - census.heartbeat_at).total_seconds() < ABANDONED_SECONDS
        ):
            return None
        census.status = CensusImport.Status.RUNNING
        census.heartbeat_at = now
        census.rows_total = census.rows_imported = census.rows_rejected = 0
        census.save(
            update_fields=[
                "status",
                "heartbeat_at",
                "rows_total",
                "rows_imported",
                "rows_rejected",
            ]
        )
    # An abandoned earlier run may have left rows: start over.
    _delete_entries(census.pk)
    return census


def _delete_entries(census_id) -> None:
    """Delete an import's rows in batches (short statements; never inside the switch-over)."""
    while True:
        ids = list(
            CensusEntry.objects.filter(census_import_id=census_id).values_list("pk", flat=True)[
                :DELETE_BATCH
            ]
        )
        if not ids:
            return
        CensusEntry.objects.filter(pk__in=ids).delete()


def _make_current(census: CensusImport, counts: dict, report_name: str) -> int:
    """Switch the register to `census` in one transaction; returns verifications made stale."""
    now = timezone.now()
    with transaction.atomic():
        previous = list(
            CensusImport.objects.select_for_update().filter(is_current=True).exclude(pk=census.pk)
        )
        CensusImport.objects.filter(pk__in=[p.pk for p in previous]).update(is_current=False)
        CensusImport.objects.filter(pk=census.pk).update(
            is_current=True,
            status=CensusImport.Status.DONE,
            finished_at=now,
            rows_total=counts["total"],
            rows_imported=counts["imported"],
            rows_rejected=counts["rejected"],
            error_report=report_name,
            file_path="",
            heartbeat_at=now,
        )
        # A resident the new register no longer holds (or holds in another district) must
        # verify again; their ballots stay.
        in_register = CensusEntry.objects.filter(
            census_import_id=census.pk,
            register_key=OuterRef("register_key"),
            district_id=OuterRef("district_id"),
        )
        stale = (
            ResidentVerification.objects.filter(stale_at__isnull=True)
            .exclude(Exists(in_register))
            .update(stale_at=now)
        )
        audit_record(
            actor=census.created_by,
            action="census.import_done",
            target=census,
            data={
                "rows_total": counts["total"],
                "rows_imported": counts["imported"],
                "rows_rejected": counts["rejected"],
                "verifications_stale": stale,
                "previous": [str(p.pk) for p in previous],
            },
        )
    return stale


def _finish_unsuccessful(census, status, message, counts, report_name) -> None:
    _delete_entries(census.pk)
    with transaction.atomic():
        CensusImport.objects.filter(pk=census.pk).update(
            status=status,
            message=message,
            finished_at=timezone.now(),
            file_path="",
            rows_total=counts["total"],
            rows_imported=0,
            rows_rejected=counts["rejected"],
            error_report=report_name,
        )
        audit_record(
            actor=census.created_by,
            action="census.import_refused"
            if status == CensusImport.Status.REFUSED
            else "census.import_failed",
            target=census,
            data={"rows_total": counts["total"], "rows_rejected": counts["rejected"]},
        )


def census_import_run(*, import_id) -> CensusImport | None:
    """Load a queued import: stream the file, write the good rows in batches, then switch the
    register over in one transaction. Safe to run twice: a finished import is left alone.

    Until the switch the previous register stays current; if anything fails, this import is
    marked failed (or refused, for a file refused as a whole) and its rows are deleted. The
    uploaded file is deleted whatever the outcome.
    """
    census = _claim(import_id)
    if census is None:
        return None
    path = Path(settings.MEDIA_ROOT) / census.file_path
    report_name = f"{REPORT_DIR}/{census.pk}.csv"
    report_path = Path(settings.MEDIA_ROOT) / report_name
    report_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    counts = {"total": 0, "imported": 0, "rejected": 0}
    try:
        with open(report_path, "w", encoding="utf-8", newline="") as report_file:
            report = csv.writer(report_file)
            report.writerow(["line", "reason", "message"])
            try:
                if not census.file_path or not path.exists():
                    raise Refused(_g("The uploaded file is gone; upload it again."))
                if path.stat().st_size > settings.CENSUS_MAX_BYTES:
                    raise Refused(
                        _g("The file is larger than %(max)s bytes and was not read.")
                        % {"max": settings.CENSUS_MAX_BYTES}
                    )
                if path.stat().st_size == 0:
                    raise Refused(_g("The file is empty."))
                counts = _import_rows(census, path, report)
            except Refused as refused:
                report_file.flush()
                counts = _progress(census.pk, counts)
                _finish_unsuccessful(
                    census, CensusImport.Status.REFUSED, str(refused), counts, report_name
                )
                return CensusImport.objects.get(pk=census.pk)
        _make_current(census, counts, report_name)
    except Exception:
        logger.exception("census import %s failed; the previous register stays current", census.pk)
        counts = _progress(census.pk, counts)
        _finish_unsuccessful(
            census,
            CensusImport.Status.FAILED,
            _g("The import failed; the previous register stays current. Try again."),
            counts,
            report_name,
        )
        return CensusImport.objects.get(pk=census.pk)
    finally:
        _delete_file(census.file_path)
    # The older registers' rows go after the switch, outside its transaction.
    for old in (
        CensusImport.objects.filter(is_current=False)
        .exclude(pk=census.pk)
        .values_list("pk", flat=True)
    ):
        _delete_entries(old)
    if connection.vendor == "postgresql":
        # Fresh statistics for the planner after millions of rows came and went.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {CensusEntry._meta.db_table}")
    return CensusImport.objects.get(pk=census.pk)


def _progress(census_id, counts: dict) -> dict:
    """The counts saved so far (a failure may come before the local ones were returned)."""
    if counts["total"]:
        return counts
    saved = (
        CensusImport.objects.filter(pk=census_id)
        .values("rows_total", "rows_imported", "rows_rejected")
        .first()
        or {}
    )
    return {
        "total": saved.get("rows_total", 0),
        "imported": saved.get("rows_imported", 0),
        "rejected": saved.get("rows_rejected", 0),
    }


# --- verification -----------------------------------------------------------------------------


def resident_bind(
    *, actor, iin: str, birth_date: dt.date, method: str, verified_by=None, district=None
):
    """Bind the (valid) IIN to `actor` as a resident of the register's district.

    The shared step of every method (census match, in person, identity provider). One IIN,
    one account is the database's unique iin_key: a second account gets 409 iin_taken, also
    when both try at the same instant. `district` (a District) counts only while no register
    is loaded: an official who checked an ID document at a desk vouches for its address.
    """
    rkey = register_key(iin, birth_date)
    # No ORDER BY (first() would add one by id): the lookup is the unique (import, key) index.
    entry = next(
        iter(
            CensusEntry.objects.filter(census_import__is_current=True, register_key=rkey)
            .order_by()
            .values("district_id", "census_import_id")[:1]
        ),
        None,
    )
    if (
        entry is None
        and district is not None
        and not CensusImport.objects.filter(is_current=True).exists()
    ):
        entry = {"district_id": district.pk, "census_import_id": None}
    if entry is None:
        raise NotFound(
            _("This IIN and date of birth are not in the city's resident register."),
            code="not_in_register",
        )
    ikey = iin_key(iin)
    values = {
        "iin_key": ikey,
        "register_key": rkey,
        "district_id": entry["district_id"],
        "method": method,
        "verified_at": timezone.now(),
        "verified_by": verified_by,
        "census_import_id": entry["census_import_id"],
        "stale_at": None,
        "iin_last4": iin[-4:],
    }
    try:
        with transaction.atomic():
            verification, _created = ResidentVerification.objects.update_or_create(
                user=actor, defaults=values
            )
            audit_record(
                actor=verified_by or actor,
                action="resident.verified",
                target=actor,
                data={"method": method, "district": entry["district_id"], "iin_last4": iin[-4:]},
            )
    except IntegrityError:
        if ResidentVerification.objects.filter(iin_key=ikey).exclude(user=actor).exists():
            raise Conflict(
                _(
                    "This IIN is already bound to another account. If it is yours, report it "
                    "to the moderators."
                ),
                code="iin_taken",
            ) from None
        raise Conflict(code="verification_busy") from None
    return verification


# Failures that count towards the guessing limits; other refusals (a missing date) do not.
VERIFY_FAILURES = ("bad_iin", "not_in_register", "iin_taken")
VERIFY_SCOPE_ACCOUNT = "residents.verify_failures.account"
VERIFY_SCOPE_ADDRESS = "residents.verify_failures.address"


def _verify_limits() -> dict:
    return settings.RESIDENT_VERIFY_LIMITS


def verify_throttle(*, actor, address: str | None = None, method: str = METHOD_CENSUS) -> None:
    """Refuse (429 with Retry-After) an account or address that used up its failed attempts
    in this window, before anything is validated; the refusal is audit-logged. Only counts
    failures (verify_failure_count), so successes never use up the limit."""
    limits = _verify_limits()
    window = limits["window"]
    refusals = []
    for scope, key, limit in (
        (VERIFY_SCOPE_ACCOUNT, actor.pk, limits["account"]),
        (VERIFY_SCOPE_ADDRESS, address, limits["address"]),
    ):
        if key in (None, ""):
            continue
        try:
            rate_limit_check(
                scope=scope,
                key=key,
                limit=limit,
                window=window,
                message=_(
                    "Too many failed attempts to verify. Check your IIN and date of birth on "
                    "your ID document and try again later."
                ),
            )
        except RateLimited as exc:
            refusals.append((scope, exc))
    if not refusals:
        return
    # Both used up: the later window end is when an attempt may succeed again.
    scope, exc = max(refusals, key=lambda r: r[1].retry_after or 0)
    audit_record(
        actor=actor,
        action="resident.verify_throttled",
        target=actor,
        data={
            "method": method,
            "limit": "account" if scope == VERIFY_SCOPE_ACCOUNT else "address",
        },
    )
    raise exc


def verify_failure_count(*, actor, address: str | None = None) -> None:
    """Count one failed attempt of the account and of the address."""
    window = _verify_limits()["window"]
    rate_limit_count(scope=VERIFY_SCOPE_ACCOUNT, key=actor.pk, window=window)
    if address:
        rate_limit_count(scope=VERIFY_SCOPE_ADDRESS, key=address, window=window)


class BadBirthDate(InvalidInput):
    """A date of birth that is not one: 422, code bad_birth_date."""

    status = 422
    close_code = 4422


def birth_date_parse(value) -> dt.date:
    """A date of birth given as a date or as YYYY-MM-DD text; BadBirthDate (422) otherwise,
    also for a date in the future or before 1800 (no IIN carries one)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        text = str(value or "").strip()[:32]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise BadBirthDate(_("Give the date of birth as YYYY-MM-DD."), code="bad_birth_date")
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise BadBirthDate(
                _("Give a real date of birth (YYYY-MM-DD)."), code="bad_birth_date"
            ) from None
    if value.year < 1800 or value > timezone.localdate():
        raise BadBirthDate(_("Give a real date of birth (YYYY-MM-DD)."), code="bad_birth_date")
    return value


def resident_verify_census(
    *, actor, iin: str, birth_date: dt.date, address: str | None = None
) -> ResidentVerification:
    """Verify `actor` by their IIN and date of birth against the current register.

    `address` is the client's (civic.ratelimit.client_address): past RESIDENT_VERIFY_LIMITS
    failures of the account or the address in the window, 429 before anything is checked.
    `birth_date` is a date or YYYY-MM-DD text (422 bad_birth_date, not counted). 422 bad_iin
    (format, date part, check digit, date of birth), 404 not_in_register, 409 iin_taken. Failures are counted and audit-logged (the reason, never the IIN).
    """
    require_can_verify(actor)
    verify_throttle(actor=actor, address=address)
    try:
        birth_date = birth_date_parse(birth_date)
        iin = iin_validate(iin, birth_date)
        return resident_bind(actor=actor, iin=iin, birth_date=birth_date, method=METHOD_CENSUS)
    except (InvalidInput, NotFound, Conflict) as exc:
        if exc.code in VERIFY_FAILURES:
            verify_failure_count(actor=actor, address=address)
        audit_record(
            actor=actor,
            action="resident.verify_failed",
            target=actor,
            data={"method": METHOD_CENSUS, "code": exc.code},
        )
        raise


def verification_remove(*, actor) -> bool:
    """Remove the actor's own verification (their ballots stay). True if there was one."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated()
    with transaction.atomic():
        deleted, _rows = ResidentVerification.objects.filter(user=actor).delete()
        if deleted:
            audit_record(actor=actor, action="resident.verification_removed", target=actor)
    return bool(deleted)


# --- in person --------------------------------------------------------------------------------
# A citizen shows a one-time code from their verification page at a service desk; an official
# with the desk permission checks their ID document and binds its IIN to the code's account.

METHOD_IN_PERSON = "in_person"
# No 0/O or 1/I: the code is read off a phone and typed by hand.
DESK_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DESK_CODE_LENGTH = 8
# Code lookups an official may make a minute, and wrong codes an hour: plenty for a queue at
# the desk, hopeless for guessing one of 32**8 codes.
DESK_LOOKUPS_PER_MINUTE = 20
DESK_FAILURES_PER_HOUR = 30
DESK_CODE_FAILURES = ("code_unknown", "code_used", "code_expired")


def desk_code_normalize(code: str) -> str:
    """The code as issued: upper case, without the dash or spaces typed or scanned with it."""
    return "".join(c for c in str(code or "")[:64].upper() if c.isascii() and c.isalnum())


def desk_code_format(code: str) -> str:
    """ABCD-EFGH: how a code is shown and read aloud."""
    code = desk_code_normalize(code)
    return f"{code[:4]}-{code[4:]}"


def desk_code_hash(code: str) -> bytes:
    """The keyed hash a code is stored and looked up by (the code itself is never stored)."""
    return salted_hmac(
        "residents.desk_code", desk_code_normalize(code), algorithm="sha256"
    ).digest()


def desk_code_issue(*, actor) -> tuple[str, dt.datetime]:
    """A new one-time desk code for `actor` (formatted ABCD-EFGH) and when it expires.

    It replaces the account's previous code, used or not. Valid RESIDENT_DESK_CODE_MINUTES.
    """
    require_can_verify(actor)
    now = timezone.now()
    expires_at = now + dt.timedelta(minutes=settings.RESIDENT_DESK_CODE_MINUTES)
    for _attempt in range(5):
        code = "".join(secrets.choice(DESK_CODE_ALPHABET) for _i in range(DESK_CODE_LENGTH))
        try:
            with transaction.atomic():
                DeskCode.objects.update_or_create(
                    user=actor,
                    defaults={
                        "code_hash": desk_code_hash(code),
                        "created_at": now,
                        "expires_at": expires_at,
                        "used_at": None,
                    },
                )
        except IntegrityError:
            continue  # another account holds a code with this hash, or a parallel issue won
        return desk_code_format(code), expires_at
    raise Conflict(code="desk_code_busy")


def desk_code_current(*, user, code: str) -> DeskCode | None:
    """`user`'s code if `code` is it and it is still usable (unused, unexpired)."""
    if not code or not getattr(user, "is_authenticated", False):
        return None
    return (
        DeskCode.objects.filter(
            user=user,
            code_hash=desk_code_hash(code),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .order_by()
        .first()
    )


def _desk_throttle(official) -> None:
    rate_limit_check(
        scope="residents.desk_failures",
        key=official.pk,
        limit=DESK_FAILURES_PER_HOUR,
        window=3600,
        message=_("Too many wrong codes were entered at this desk. Try again later."),
    )
    rate_limit(scope="residents.desk_lookup", user_id=official.pk, limit=DESK_LOOKUPS_PER_MINUTE)


def _desk_code_find(code: str, *, lock: bool = False) -> DeskCode:
    """The usable code, or code_unknown (404), code_used or code_expired (409)."""
    normalized = desk_code_normalize(code)
    found = None
    if len(normalized) == DESK_CODE_LENGTH:
        rows = DeskCode.objects.select_related("user").filter(code_hash=desk_code_hash(normalized))
        if lock:
            rows = rows.select_for_update(of=("self",))
        found = next(iter(rows.order_by()[:1]), None)
    if found is None or not found.user.is_active:
        raise NotFound(
            _("There is no such code. Check it with the citizen, letter by letter."),
            code="code_unknown",
        )
    refusal = None
    if found.used_at is not None:
        refusal = Conflict(
            _("This code has already been used. The citizen's page shows a new one."),
            code="code_used",
        )
    elif found.expires_at <= timezone.now():
        refusal = Conflict(
            _("This code has expired. The citizen gets a new one by reloading their page."),
            code="code_expired",
        )
    if refusal is not None:
        refusal.account = found.user  # whose old code it was, for the audit log
        raise refusal
    return found


def _desk_failed(*, official, exc, step: str, target=None, iin: str = "") -> None:
    """Audit a refused desk attempt (never the IIN: its last four digits at most)."""
    if exc.code in DESK_CODE_FAILURES:
        rate_limit_count(scope="residents.desk_failures", key=official.pk, window=3600)
    data = {"method": METHOD_IN_PERSON, "step": step, "code": exc.code}
    iin = (iin or "").strip()
    if len(iin) == 12 and iin.isascii() and iin.isdigit():
        data["iin_last4"] = iin[-4:]
    target = target or getattr(exc, "account", None)
    audit_record(actor=official, action="resident.desk_failed", target=target, data=data)


def desk_code_lookup(*, official, code: str):
    """The account whose code the citizen shows at the desk, for the official to confirm.

    Checks the desk permission and throttles the official's lookups (429 past the limits);
    unknown, used or expired codes are refused and audit-logged.
    """
    require_in_person_verifier(official)
    _desk_throttle(official)
    try:
        return _desk_code_find(code).user
    except (NotFound, Conflict) as exc:
        _desk_failed(official=official, exc=exc, step="lookup")
        raise


def _desk_district(district) -> District | None:
    if district is None or district == "":
        return None
    if isinstance(district, District):
        return district
    try:
        return District.objects.get(pk=int(district))
    except (TypeError, ValueError, District.DoesNotExist):
        raise InvalidInput(_("Choose one of the city's districts."), code="bad_district") from None


def resident_verify_in_person(
    *, official, code: str, iin: str, birth_date: dt.date | None = None, district=None
) -> ResidentVerification:
    """Verify the account whose desk `code` the citizen shows, by the IIN on their ID document.

    `birth_date` defaults to the date the IIN carries (give it only when the document says
    otherwise). With a register loaded the IIN is matched against it (404 not_in_register)
    and `district` is ignored; with none loaded the official picks the district from the
    document's address (400 district_required). 422 bad_iin, 409 iin_taken; the code is
    marked used in the same transaction. Refusals are audit-logged, the binding too (by
    resident_bind, with the official as the actor).
    """
    require_in_person_verifier(official)
    _desk_throttle(official)
    citizen = None
    try:
        with transaction.atomic():
            desk_code = _desk_code_find(code, lock=True)
            citizen = desk_code.user
            if citizen.pk == official.pk:
                raise Forbidden(
                    _("You cannot verify your own account: another official must do it."),
                    code="own_account",
                )
            iin = iin_validate(iin)
            if birth_date is None:
                birth_date = iin_birth_date(iin)
            if not isinstance(birth_date, dt.date) or birth_date > timezone.localdate():
                raise InvalidInput(
                    _("Give a real date of birth (YYYY-MM-DD)."), code="bad_birth_date"
                )
            chosen = _desk_district(district)
            if chosen is None and not CensusImport.objects.filter(is_current=True).exists():
                raise InvalidInput(
                    _(
                        "No resident register is loaded: choose the district of the address "
                        "on the ID document."
                    ),
                    code="district_required",
                )
            verification = resident_bind(
                actor=citizen,
                iin=iin,
                birth_date=birth_date,
                method=METHOD_IN_PERSON,
                verified_by=official,
                district=chosen,
            )
            DeskCode.objects.filter(pk=desk_code.pk).update(used_at=timezone.now())
    except (InvalidInput, NotFound, Conflict, Forbidden) as exc:
        _desk_failed(official=official, exc=exc, step="verify", target=citizen, iin=str(iin or ""))
        raise
    return verification


# --- identity reports -------------------------------------------------------------------------
# A citizen whose IIN is already bound to another account (409 iin_taken) reports it; the
# moderators see both accounts, never the IIN, and resolve or dismiss the report.

IDENTITY_REPORT_NOTIFY_TASK = "residents.notify_identity_report"
IDENTITY_REPORT_MESSAGE_MAX = 2000
IDENTITY_REPORT_NOTE_MAX = 2000


def identity_report_create(
    *,
    actor,
    iin: str,
    birth_date: dt.date | None = None,
    message: str = "",
    address: str | None = None,
) -> IdentityReport:
    """Report that the account holding `iin` is not `actor`'s; moderators are told after commit.

    The IIN is checked like a verification and under the same guessing limits, so the report
    tells no more than the 409 iin_taken did: 429 past the limits, 422 bad_iin, and 404
    iin_not_taken when no other account holds it (counted as a failure, like not_in_register).
    400 own_iin when the actor holds it; 409 already_reported while the actor's report on that
    account is open. The IIN is neither stored nor audit-logged (the last four digits at most).
    """
    require_can_verify(actor)
    verify_throttle(actor=actor, address=address, method="identity_report")
    birth_date = None if birth_date in (None, "") else birth_date_parse(birth_date)
    message = str(message or "").strip()
    if len(message) > IDENTITY_REPORT_MESSAGE_MAX:
        raise InvalidInput(
            _("The message is too long (at most %(max)s characters).")
            % {"max": IDENTITY_REPORT_MESSAGE_MAX},
            code="message_too_long",
        )
    try:
        iin = iin_validate(iin, birth_date)
        holder = (
            ResidentVerification.objects.filter(iin_key=iin_key(iin))
            .select_related("user")
            .order_by()
            .first()
        )
        if holder is None:
            raise NotFound(
                _("No other account holds this IIN: verify your account with it instead."),
                code="iin_not_taken",
            )
    except (BadIIN, NotFound) as exc:
        verify_failure_count(actor=actor, address=address)
        audit_record(
            actor=actor,
            action="resident.identity_report_failed",
            target=actor,
            data={"code": exc.code},
        )
        raise
    if holder.user_id == actor.pk:
        raise InvalidInput(
            _("Your own account holds this IIN: there is nothing to report."), code="own_iin"
        )
    try:
        with transaction.atomic():
            report = IdentityReport.objects.create(
                reporter=actor, reported=holder.user, message=message
            )
            audit_record(
                actor=actor,
                action="resident.identity_reported",
                target=report,
                data={"reported": holder.user_id, "iin_last4": iin[-4:]},
            )
            enqueue_on_commit(IDENTITY_REPORT_NOTIFY_TASK, report.pk)
    except IntegrityError:
        raise Conflict(
            _("You have already reported this; the moderators are looking into it."),
            code="already_reported",
        ) from None
    return report


IDENTITY_REPORT_DECISIONS = (IdentityReport.Status.RESOLVED, IdentityReport.Status.DISMISSED)


def identity_report_resolve(
    *, actor, report_id: int, status: str, note: str = ""
) -> IdentityReport:
    """A moderator closes an open report: resolved (acted upon) or dismissed.

    400 bad_status, 404 for no such report, 403 own_report for a moderator who is one of the
    two accounts, 409 report_closed when it was closed already. Audit-logged.
    """
    require_moderator(actor)
    if status not in IDENTITY_REPORT_DECISIONS:
        raise InvalidInput(_("Choose resolved or dismissed."), code="bad_status")
    note = str(note or "").strip()
    if len(note) > IDENTITY_REPORT_NOTE_MAX:
        raise InvalidInput(
            _("The note is too long (at most %(max)s characters).")
            % {"max": IDENTITY_REPORT_NOTE_MAX},
            code="note_too_long",
        )
    with transaction.atomic():
        report = IdentityReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(code="not_found")
        if actor.pk in (report.reporter_id, report.reported_id):
            raise Forbidden(
                _("Another moderator must decide a report about your own account."),
                code="own_report",
            )
        if report.status != IdentityReport.Status.OPEN:
            raise Conflict(_("This report has already been closed."), code="report_closed")
        report.status = status
        report.note = note
        report.resolved_by = actor
        report.resolved_at = timezone.now()
        report.save(update_fields=["status", "note", "resolved_by", "resolved_at"])
        audit_record(
            actor=actor,
            action="resident.identity_report_closed",
            target=report,
            data={
                "status": status,
                "reporter": report.reporter_id,
                "reported": report.reported_id,
            },
        )
    return report


def identity_report_notify(*, report_id: int) -> int:
    """Tell the moderators of a new open report, once each (the task calls this; safe to run
    twice). The notification names no account and no IIN: the moderation page shows them."""
    report = IdentityReport.objects.filter(pk=report_id, status=IdentityReport.Status.OPEN).first()
    if report is None:
        return 0
    url = reverse("residents:reports")
    moderators = list(
        User.objects.filter(is_active=True, groups__name=Role.MODERATOR.value)
        .exclude(pk__in=(report.reporter_id, report.reported_id))
        .distinct()
    )
    for moderator in moderators:
        notification_send(
            user=moderator,
            kind="residents.identity_report",
            key=f"identity-report:{report.pk}",
            params={"report": report.pk},
            url=url,
        )
    return len(moderators)
