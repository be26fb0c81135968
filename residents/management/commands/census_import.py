"""`manage.py census_import FILE [--by EMAIL]`: load the resident register synchronously."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from civic.errors import DomainError
from residents.services import census_import_create, census_import_run


class Command(BaseCommand):
    help = (
        "Import the resident register (CSV or XLSX: iin, birth_date, district) and make it current."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--by",
            metavar="EMAIL",
            help="the official with the census permission to record as importer "
            "(default: the system, i.e. the operator at the server)",
        )

    def handle(self, *args, file, by=None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = None
        if by:
            actor = get_user_model().objects.filter(email__iexact=by).first()
            if actor is None:
                raise CommandError(f"No account with the e-mail {by}")
        try:
            with open(path, "rb") as fh:
                census = census_import_create(
                    actor=actor, file=File(fh, name=path.name), enqueue=False
                )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        census = census_import_run(import_id=census.pk) or census
        census.refresh_from_db()
        self.stdout.write(
            f"import {census.pk}: {census.status}; rows {census.rows_total}, "
            f"imported {census.rows_imported}, rejected {census.rows_rejected}"
        )
        if census.message:
            self.stdout.write(str(census.message))
        if census.rows_rejected and census.error_report:
            self.stdout.write(f"error report: {census.error_report.path}")
        if census.status != census.Status.DONE:
            raise CommandError(f"the import was {census.status}; the previous register stays")
