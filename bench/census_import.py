"""Resident register benchmark: import Almaty's 2.3 million residents, time a verification.

    python -m bench.census_import               # 2,300,000 rows
    python -m bench.census_import --rows 50000  # a quick check of the benchmark itself

Needs a local PostgreSQL (BENCH_CENSUS_DATABASE_URL, default .../birge_bench_census: a
scratch database, dropped and created again) and Redis (BENCH_REDIS_URL, default db 3: the
verification's guessing limits count there). It writes a register CSV of fictional residents
with valid IINs (streamed to var/bench/, never held in memory), imports it through the same
services as the task and `manage.py census_import` (census_import_create, census_import_run:
COPY in batches, the switch-over transaction), then times `resident_verify_census` for one
account many times. Measured: rows, seconds, rows/s, the process's peak RSS
(resource.getrusage) before and after the import, and the verification's median and p99 in
ms. Target (issue 11): the import within 5 minutes with memory that does not grow with the
file, a verification within 20 ms. Prints a table and writes
bench/results/census-<time>.json and census-latest.json.

    python -m bench.census_import --xlsx 50000 200000   # XLSX memory, CSV alongside

The XLSX case: openpyxl's read-only mode streams the sheet's rows but loads the workbook's
shared-strings table whole, and a register whose IINs are text cells (as they must be, to
keep leading zeros) has one shared string per resident; the import reads XLSX through
residents.xlsx instead (shared strings on disk). For each size it writes the same register
as XLSX (shared strings, as Excel writes it) and as CSV, imports each in a fresh process
(peak RSS is per process), and reads the XLSX alone with openpyxl's read-only mode and with
residents.xlsx; it reports each one's peak RSS growth and the bytes per row between the two
largest files. Writes bench/results/census-xlsx-<time>.json and census-xlsx-latest.json; the
CSV benchmark's files are left as they are.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "var" / "bench"
DB_URL = os.environ.get(
    "BENCH_CENSUS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/birge_bench_census"
)
TARGET_SECONDS = 300.0
TARGET_VERIFY_MS = 20.0
DISTRICTS = ["alatau", "almaly", "auezov", "bostandyk", "zhetysu", "medeu", "nauryzbay", "turksib"]
FIRST_BIRTHDAY = dt.date(1930, 1, 1)
DAYS = 33000  # birthdays from 1930 to 2020


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recreate_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=DB_URL,
        # The verification's guessing limits count in the cache: Redis, as deployed.
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
        LOG_LEVEL="WARNING",
        CENSUS_PEPPER="bench-census-pepper-not-a-secret-0123456789abcdef",
        MEDIA_ROOT=str(WORK / "media"),
    )
    import django

    django.setup()


def resident(n: int) -> tuple[str, dt.date, str]:
    """The n-th fictional resident (distinct IINs: an even serial per birthday; a serial that
    has no check digit moves to the odd one after it)."""
    from residents.iin import iin_make

    born = FIRST_BIRTHDAY + dt.timedelta(days=n % DAYS)
    return iin_make(born, (n // DAYS) * 2, "f" if n % 2 else "m"), born, DISTRICTS[n % 8]


def write_register(path: Path, rows: int) -> float:
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["iin", "birth_date", "district"])
        for n in range(rows):
            iin, born, slug = resident(n)
            writer.writerow([iin, born.isoformat(), slug])
    return time.perf_counter() - started


def run_import(path: Path) -> dict:
    from django.core.files import File

    from residents.models import CensusImport
    from residents.services import census_import_create, census_import_run

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    with open(path, "rb") as fh:
        census = census_import_create(actor=None, file=File(fh, name=path.name), enqueue=False)
    census_import_run(import_id=census.pk)
    seconds = time.perf_counter() - started
    census = CensusImport.objects.get(pk=census.pk)
    return {
        "status": census.status,
        "rows_total": census.rows_total,
        "rows_imported": census.rows_imported,
        "rows_rejected": census.rows_rejected,
        "seconds": round(seconds, 2),
        "rows_per_second": round(census.rows_total / seconds) if seconds else None,
        "peak_rss_mb_before_import": round(rss_before, 1),
        "peak_rss_mb_after_import": round(peak_rss_mb(), 1),
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }


def time_verifications(rows: int, count: int) -> dict:
    from allauth.account.models import EmailAddress

    from accounts.models import User
    from residents.services import resident_verify_census

    user = User.objects.create_user("bench-resident@bench.birge.kz", "bench-resident-pass")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    step = max(rows // count, 1)
    times = []
    for i in range(count):
        iin, born, _slug = resident((i * step) % rows)
        started = time.perf_counter()
        resident_verify_census(actor=user, iin=iin, birth_date=born, address="203.0.113.9")
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return {
        "count": count,
        "median_ms": round(statistics.median(times), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def write_register_xlsx(path: Path, rows: int) -> float:
    """The register as an XLSX file the way Excel saves one: every text cell (each IIN) in the
    workbook's shared-strings table (xlsxwriter's default; openpyxl's write-only mode would
    write inline strings instead), the date of birth a real date cell."""
    import xlsxwriter

    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("register")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["iin", "birth_date", "district"])
    for n in range(rows):
        iin, born, slug = resident(n)
        sheet.write_string(n + 1, 0, iin)
        sheet.write_datetime(n + 1, 1, dt.datetime(born.year, born.month, born.day), date_format)
        sheet.write_string(n + 1, 2, slug)
    book.close()
    return time.perf_counter() - started


def read_child(path: Path, reader: str) -> None:
    """Run in a fresh process: only read every row of `path` with openpyxl's own read-only
    mode or with residents.xlsx (what the import uses); print the peak growth as JSON."""
    django_setup()
    Path("/proc/self/clear_refs").write_text("5")
    rss_start = _proc_status_mb("VmRSS")
    started = time.perf_counter()
    if reader == "openpyxl":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=False)
    else:
        from residents.xlsx import load_register_workbook

        book = load_register_workbook(path)
    rows = sum(1 for _row in book.worksheets[0].iter_rows())
    book.close()
    print(
        json.dumps(
            {
                "reader": reader,
                "rows": rows,
                "seconds": round(time.perf_counter() - started, 2),
                "peak_rss_growth_mb": round(_proc_status_mb("VmHWM") - rss_start, 1),
            }
        )
    )


def _proc_status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def import_child(path: Path) -> None:
    """Run in a fresh process: import `path`, print the result as JSON. The growth is the
    import's own: the high-water mark is reset (Linux: /proc/self/clear_refs) after setup,
    so what Django's start-up peaked at does not hide it."""
    django_setup()
    import django.db

    django.db.connection.ensure_connection()
    Path("/proc/self/clear_refs").write_text("5")
    rss_start = _proc_status_mb("VmRSS")
    result = run_import(path)
    result["rss_mb_at_start"] = round(rss_start, 1)
    result["peak_rss_mb_during_import"] = round(_proc_status_mb("VmHWM"), 1)
    result["peak_rss_growth_mb"] = round(result["peak_rss_mb_during_import"] - rss_start, 1)
    print(json.dumps(result))


def xlsx_memory(sizes: list[int]) -> None:
    import subprocess

    recreate_database()
    django_setup()
    from django.core.management import call_command

    call_command("migrate", "-v0")
    def child(*args: str) -> dict:
        out = subprocess.run(
            [sys.executable, "-m", "bench.census_import", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    cases, reads = [], []
    for rows in sizes:
        for fmt, writer in (("xlsx", write_register_xlsx), ("csv", write_register)):
            path = WORK / f"census-{rows}.{fmt}"
            generate_seconds = writer(path, rows)
            try:
                result = child("--import-child", str(path))
                if fmt == "xlsx":
                    for reader in ("openpyxl", "register"):
                        read = child("--read-child", str(path), "--reader", reader)
                        reads.append({**read, "file_rows": rows})
                        print(
                            f"read {reader:<8} {rows:>9,} rows  {read['seconds']:>7} s  "
                            f"peak RSS +{read['peak_rss_growth_mb']} MB"
                        )
            finally:
                path.unlink(missing_ok=True)
            result.update(format=fmt, rows=rows, generate_seconds=round(generate_seconds, 1))
            cases.append(result)
            print(
                f"{fmt:<4} {rows:>9,} rows  {result['file_mb']:>6} MB  "
                f"{result['seconds']:>7} s  RSS {result['rss_mb_at_start']} MB, peak "
                f"{result['peak_rss_mb_during_import']} MB (+{result['peak_rss_growth_mb']})"
            )
            sys.stdout.flush()
    growth = {
        fmt: {c["rows"]: c["peak_rss_growth_mb"] for c in cases if c["format"] == fmt}
        for fmt in ("xlsx", "csv")
    }
    read_growth = {
        reader: {r["file_rows"]: r["peak_rss_growth_mb"] for r in reads if r["reader"] == reader}
        for reader in ("openpyxl", "register")
    }
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": cases,
        # Reading the XLSX alone: openpyxl's read-only mode against residents.xlsx.
        "xlsx_reads": reads,
        **slopes(sizes, growth, read_growth),
        "cpus": os.cpu_count(),
    }
    print(json.dumps({k: v for k, v in report.items() if k not in ("cases", "xlsx_reads")}))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2)
    (RESULTS / f"census-xlsx-{stamp}.json").write_text(text)
    (RESULTS / "census-xlsx-latest.json").write_text(text)


def slopes(sizes: list[int], growth: dict, read_growth: dict) -> dict:
    """Bytes of peak memory per extra row between the two largest files (both past the
    import's batch of PG_BATCH_ROWS rows, which the smaller ones may not fill), and what that
    makes for Almaty's 2.3 million rows."""
    if len(sizes) < 2:
        return {}
    small, large = sorted(sizes)[-2:]

    def per_row(g: dict) -> float:
        return round((g[large] - g[small]) * 1024 * 1024 / (large - small), 1)

    imports = {fmt: per_row(g) for fmt, g in growth.items()}
    reads = {reader: per_row(g) for reader, g in read_growth.items() if g}
    return {
        "bytes_per_row_between": [small, large],
        "import_bytes_per_row": imports,
        "xlsx_read_bytes_per_row": reads,
        "extrapolated_growth_mb_for_2_3_million_rows": {
            **{f"import_{k}": max(0, round(v * 2_300_000 / 2**20)) for k, v in imports.items()},
            **{f"read_{k}": max(0, round(v * 2_300_000 / 2**20)) for k, v in reads.items()},
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2_300_000)
    parser.add_argument("--verifications", type=int, default=500)
    parser.add_argument(
        "--xlsx",
        type=int,
        nargs="+",
        metavar="ROWS",
        help="measure the import's peak memory for XLSX (and CSV) registers of these sizes",
    )
    parser.add_argument("--import-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--read-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="register", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.read_child:
        read_child(args.read_child, args.reader)
        return
    if args.import_child:
        import_child(args.import_child)
        return
    if args.xlsx:
        xlsx_memory(args.xlsx)
        return

    recreate_database()
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "-v0")
    path = WORK / f"census-{args.rows}.csv"
    generate_seconds = write_register(path, args.rows)
    try:
        result = run_import(path)
    finally:
        path.unlink(missing_ok=True)
    verify = time_verifications(args.rows, args.verifications)
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg_version = cursor.fetchone()[0].split(",")[0]
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "generate_seconds": round(generate_seconds, 1),
        "import": result,
        "verification": verify,
        "cpus": os.cpu_count(),
        "postgres": pg_version,
        "target": {
            "import_seconds": TARGET_SECONDS,
            "verify_ms": TARGET_VERIFY_MS,
            "pass": result["status"] == "done"
            and result["seconds"] <= TARGET_SECONDS
            and verify["median_ms"] <= TARGET_VERIFY_MS,
        },
    }
    print_table(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2)
    (RESULTS / f"census-{stamp}.json").write_text(text)
    (RESULTS / "census-latest.json").write_text(text)


def print_table(r: dict) -> None:
    i, v = r["import"], r["verification"]
    lines = [
        ("rows in file", f"{r['rows']:,}"),
        ("file size", f"{i['file_mb']} MB (written in {r['generate_seconds']} s)"),
        ("import status", i["status"]),
        ("imported / rejected", f"{i['rows_imported']:,} / {i['rows_rejected']:,}"),
        ("import seconds", f"{i['seconds']} (target <= {TARGET_SECONDS:.0f})"),
        ("rows/s", f"{i['rows_per_second']:,}"),
        ("peak RSS before / after", f"{i['peak_rss_mb_before_import']} / "
         f"{i['peak_rss_mb_after_import']} MB"),
        ("verification median", f"{v['median_ms']} ms (target <= {TARGET_VERIFY_MS:.0f})"),
        ("verification p99 / max", f"{v['p99_ms']} / {v['max_ms']} ms over {v['count']}"),
        ("pass", str(r["target"]["pass"])),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
