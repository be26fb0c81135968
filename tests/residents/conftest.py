"""Fixtures of the residents tests: fictional residents with valid IINs, register files."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from residents.iin import iin_make
from residents.services import census_import_create, census_import_run
from tests.factories import UserFactory, district


def person(n: int, slug: str = "medeu") -> tuple[str, dt.date, str]:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=n * 37 % 20000)
    return iin_make(born, n % 10000, "f" if n % 2 else "m"), born, slug


def register_csv(
    rows, *, header=("iin", "birth_date", "district"), encoding="utf-8", delimiter=","
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow([v.isoformat() if isinstance(v, dt.date) else v for v in row])
    return out.getvalue().encode(encoding)


def upload(data: bytes, name: str = "register.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.fixture
def census_official(db):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="import_census"))
    district("medeu")  # the districts exist
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def load(census_official):
    """Import `data` (bytes) as the official, run it, return the import."""

    def _load(data: bytes, name: str = "register.csv"):
        census = census_import_create(actor=census_official, file=upload(data, name), enqueue=False)
        census_import_run(import_id=census.pk)
        census.refresh_from_db()
        return census

    return _load


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
