"""seed_demo: Almaty's districts, communities and demo accounts; safe to run twice."""

import pytest
from django.core.management import call_command

from accounts.models import District, User
from accounts.permissions import is_citizen, is_moderator, is_official
from communities.models import Community

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent(capsys, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    first = (District.objects.count(), Community.objects.count(), User.objects.count())
    call_command("seed_demo")
    second = (District.objects.count(), Community.objects.count(), User.objects.count())
    assert first == second
    assert first[0] == 8
    assert first[1] >= 3
    out = capsys.readouterr().out
    assert "official@demo.birge.kz" in out and "birge-official-2026" in out


def test_seed_demo_accounts_have_their_roles(settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    assert is_official(User.objects.get(email="official@demo.birge.kz"))
    assert is_moderator(User.objects.get(email="moderator@demo.birge.kz"))
    citizen = User.objects.get(email="citizen@demo.birge.kz")
    assert is_citizen(citizen) and not is_official(citizen)
    assert citizen.check_password("birge-citizen-2026")


def test_no_demo_accounts_outside_demo_mode(settings, capsys):
    settings.DEMO_MODE = False
    call_command("seed_demo")
    assert not User.objects.exists()
    assert "birge-" not in capsys.readouterr().out
    assert Community.objects.filter(status=Community.Status.APPROVED).count() >= 3


def test_seed_demo_has_initiatives_in_every_status_with_a_pdf_dossier(settings):
    from communities.models import Attachment, Initiative
    from communities.selectors import review_queue
    from communities.services import supports_verify

    settings.DEMO_MODE = True
    call_command("seed_demo")
    call_command("seed_demo")
    statuses = set(Initiative.objects.values_list("status", flat=True))
    assert statuses == set(Initiative.Status.values)
    assert Initiative.objects.count() == len(Initiative.Status.values)  # nothing doubled
    depot = Initiative.objects.get(community__slug="tram-depot", status="accepted")
    assert depot.official_response and depot.supports_count > 0
    pdfs = Attachment.objects.filter(initiative=depot, content_type="application/pdf")
    assert sorted(pdfs.values_list("title", "version")) == [
        ("Cost estimate", 1),
        ("Design", 1),
        ("Design", 2),
    ]
    with pdfs.first().file.open("rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert review_queue().filter(status="under_review").exists()
    # The initiative in progress shows how it goes (reported once, however often seeded).
    from communities.selectors import initiative_progress

    trees = Initiative.objects.get(status="in_progress")
    progress = initiative_progress(trees)
    assert progress["percent"] == 32
    assert len(progress["updates"]) == 2
    assert Community.objects.filter(status=Community.Status.PENDING).exists()
    assert supports_verify() == []
    from polls.models import Choice

    linked = Choice.objects.filter(initiative__isnull=False)
    assert linked.count() >= 2 and linked.values("poll").distinct().count() == 1


def test_seed_demo_loads_a_register_and_verifies_the_demo_citizen(settings, tmp_path, capsys):
    from residents.demo import REGISTER_SIZE, UNCLAIMED, demo_person
    from residents.models import CensusEntry, CensusImport, ResidentVerification
    from residents.selectors import register_residents_count, verification_of
    from residents.services import resident_verify_census

    settings.DEMO_MODE = True
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo")
    current = CensusImport.objects.get(is_current=True)
    assert current.status == CensusImport.Status.DONE
    # The fictional pool and one entry per demo voter (60), who are verified residents.
    assert current.rows_imported == register_residents_count() == REGISTER_SIZE + 60
    voters = User.objects.filter(email__startswith="resident", email__endswith="@demo.birge.kz")
    assert voters.count() == 60
    for voter in voters:
        assert verification_of(voter)["district"] == voter.district_id
    # Every district has residents in the register.
    assert CensusEntry.objects.values("district").distinct().count() == 8
    # The uploaded copy is gone; only the (empty) error report stays.
    census_files = (tmp_path / "media" / "census").rglob("*")
    assert [p.name for p in census_files if p.is_file()] == [f"{current.pk}.csv"]
    citizen = User.objects.get(email="citizen@demo.birge.kz")
    medeu = District.objects.get(slug="medeu")
    assert verification_of(citizen)["level"] == "resident"
    assert verification_of(citizen)["district"] == medeu.pk
    official = User.objects.get(email="official@demo.birge.kz")
    assert official.has_perm("residents.import_census")
    assert official.has_perm("residents.verify_in_person")
    out = capsys.readouterr().out
    listed = [demo_person(n) for n in UNCLAIMED]
    for iin, born, _district in listed:
        assert f"IIN {iin}  born {born.isoformat()}" in out

    call_command("seed_demo")
    assert CensusImport.objects.count() == 1
    assert CensusEntry.objects.count() == REGISTER_SIZE + 60
    assert ResidentVerification.objects.count() == 1 + 60
    assert verification_of(citizen)["district"] == medeu.pk

    # A listed entry verifies another account (the README's how-to).
    lead = User.objects.get(email="lead@demo.birge.kz")
    iin, born, district = listed[0]
    resident_verify_census(actor=lead, iin=iin, birth_date=born)
    assert verification_of(lead)["district"] == District.objects.get(slug=district).pk
