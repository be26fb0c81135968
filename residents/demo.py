"""The demo's resident register: fictional residents across Almaty's districts, for seed_demo.

Called by `manage.py seed_demo` in demo mode. The register goes through the real import
service (the uploaded copy is deleted after the import, as for an official's upload); the demo
citizen and the demo voters (who vote in the demo's polls for verified residents) verify
through the census method, as citizens would, each in their profile's district except the
citizen (Medeu). Running it again adds nothing: an existing current register is kept, and
verified accounts stay as they are.

Every IIN here is made up (residents.iin.iin_make, serials 9000 and up): valid check digits,
nobody's identity.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile

from accounts.districts import ALMATY_DISTRICTS
from accounts.models import User
from civic.errors import Conflict, NotFound

from .iin import iin_make
from .models import CensusImport, ResidentVerification
from .services import census_import_create, census_import_run, resident_verify_census

# Fictional residents no demo account is (the citizen is the first); then one entry per voter.
REGISTER_SIZE = 60
VOTERS_FIRST = 100
REGISTER_NAME = "demo-register.csv"
# The demo citizen is a verified resident of this district (the register's, not the profile's).
CITIZEN_DISTRICT = "medeu"
# Register entries no demo account claims: the README lists them to verify another account.
UNCLAIMED = (57, 58, 59)
# What the demo official may do with the register (a permission that does not exist yet in
# this version is skipped).
OFFICIAL_PERMISSIONS = ("import_census", "verify_in_person")


def demo_person(n: int) -> tuple[str, dt.date, str]:
    """The register's n-th fictional resident: (IIN, date of birth, district slug).
    Deterministic, so the README's entries stay true from one seed to the next."""
    slugs = [slug for slug, *_names in ALMATY_DISTRICTS]
    born = dt.date(1958, 3, 14) + dt.timedelta(days=n * 331 % 16000)
    district = CITIZEN_DISTRICT if n == 0 else slugs[n % len(slugs)]
    return iin_make(born, 9000 + n * 7, "f" if n % 2 else "m"), born, district


def voter_person(index: int, voter: User) -> tuple[str, dt.date, str]:
    """The register's entry for the index-th demo voter: resident of their profile's district."""
    iin, born, _district = demo_person(VOTERS_FIRST + index)
    return iin, born, voter.district.slug if voter.district else CITIZEN_DISTRICT


def demo_register(voters=()) -> list[tuple[str, dt.date, str]]:
    return [demo_person(n) for n in range(REGISTER_SIZE)] + [
        voter_person(i, voter) for i, voter in enumerate(voters)
    ]


def register_csv(voters=()) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["iin", "birth_date", "district"])
    for iin, born, district in demo_register(voters):
        writer.writerow([iin, born.isoformat(), district])
    return out.getvalue().encode()


def _grant_official(official: User) -> list[str]:
    perms = list(
        Permission.objects.filter(
            content_type__app_label="residents", codename__in=OFFICIAL_PERMISSIONS
        )
    )
    official.user_permissions.add(*perms)
    return sorted(f"residents.{p.codename}" for p in perms)


def _load_register(official: User, voters, stdout) -> CensusImport | None:
    current = CensusImport.objects.filter(is_current=True).first()
    if current is not None:
        stdout.write(f"Resident register: kept the current one ({current.rows_imported} residents)")
        return current
    census = census_import_create(
        actor=official, file=ContentFile(register_csv(voters), name=REGISTER_NAME), enqueue=False
    )
    census = census_import_run(import_id=census.pk) or CensusImport.objects.get(pk=census.pk)
    stdout.write(
        f"Resident register: {census.rows_imported} fictional residents loaded ({census.status})"
    )
    return census


def _verify(user: User, person: tuple[str, dt.date, str]) -> str:
    """How it went: verified, kept (already a live resident), or the refusal's code."""
    if ResidentVerification.objects.filter(user=user, stale_at__isnull=True).exists():
        return "kept"
    iin, born, _district = person
    try:
        resident_verify_census(actor=user, iin=iin, birth_date=born)
    except (NotFound, Conflict) as exc:
        # A register that is not the demo's (kept above) may lack them: say so, go on.
        return exc.code
    return "verified"


def seed_residents(*, official: User, citizen: User, voters=(), stdout) -> None:
    """The demo register, the official's census and desk permissions, the citizen and the
    demo voters verified."""
    granted = _grant_official(official)
    census = _load_register(official, voters, stdout)
    if census is not None and census.is_current:
        outcome = _verify(citizen, demo_person(0))
        stdout.write(f"  {citizen.email}: {outcome} (resident of {CITIZEN_DISTRICT})")
        outcomes = [_verify(voter, voter_person(i, voter)) for i, voter in enumerate(voters)]
        if voters:
            summary = ", ".join(f"{outcomes.count(o)} {o}" for o in sorted(set(outcomes)))
            stdout.write(f"  demo voters: {summary}")
    stdout.write(f"  {official.email} may: {', '.join(granted)}")
    stdout.write("  Unclaimed register entries to verify another account (fictional):")
    for n in UNCLAIMED:
        iin, born, district = demo_person(n)
        stdout.write(f"    IIN {iin}  born {born.isoformat()}  {district}")
