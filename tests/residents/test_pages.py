"""The residents' pages: verify your residence (census form, refusals, report, removal), the
profile's read-only district, the moderators' identity reports, the officials' register page.
No page ever shows a submitted IIN."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from residents.models import CensusImport, IdentityReport, ResidentVerification
from residents.services import identity_report_create, resident_verify_census
from tests.factories import ModeratorFactory, UserFactory, district

from .conftest import person, register_csv, upload

pytestmark = pytest.mark.django_db

LANGS = ("kk", "ru", "en")
VERIFY = "/en/residents/"
CENSUS_VERIFY = "/en/residents/census/verify/"
REPORT = "/en/residents/report/"
REPORTS = "/en/residents/reports/"
CENSUS = "/en/residents/census/"
PROFILE = "/en/profile/"


@pytest.fixture
def register(load):
    people = [person(n, slug) for n, slug in enumerate(["medeu", "almaly"] * 3)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


@pytest.fixture
def pages():
    """Every response a test got, to check that no IIN is in any of them."""
    return []


def _get(client, pages, path, **kw):
    response = client.get(path, **kw)
    pages.append(response)
    return response


def _post(client, pages, path, data, **kw):
    response = client.post(path, data, **kw)
    pages.append(response)
    return response


def _no_iin(pages, *iins):
    assert pages
    for response in pages:
        content = response.content.decode()
        for iin in iins:
            assert iin not in content, response


def _verify(client, pages, iin, born, **kw):
    return _post(client, pages, CENSUS_VERIFY, {"iin": iin, "birth_date": born.isoformat()}, **kw)


# --- the verify page ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_verify_page_renders_in_each_language_with_every_enabled_method(client, citizen, lang):
    from residents.methods import enabled_methods

    client.force_login(citizen)
    response = client.get(f"/{lang}/residents/")
    assert response.status_code == 200
    content = response.content.decode()
    assert f'<html lang="{lang}">' in content
    assert f'action="/{lang}/residents/census/verify/"' in content
    assert 'inputmode="numeric"' in content and 'type="date"' in content
    for method in enabled_methods():
        assert f'id="method-{method.key}"' in content
    assert "You are not verified as a resident yet." in content or lang != "en"


def test_the_verify_page_wants_a_signed_in_citizen(client, unverified_user):
    response = client.get(VERIFY)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(unverified_user)
    assert client.get(VERIFY).status_code == 403
    assert client.post(CENSUS_VERIFY, {"iin": "1", "birth_date": "1990-01-01"}).status_code == 403


def test_a_match_verifies_and_the_page_shows_only_the_last_four_digits(
    client, citizen, register, pages
):
    iin, born, _ = register[1]
    client.force_login(citizen)
    response = _verify(client, pages, iin, born)
    assert response.status_code == 302 and response["Location"] == VERIFY
    verification = ResidentVerification.objects.get(user=citizen)
    assert verification.district == district("almaly")
    page = _get(client, pages, VERIFY)
    content = page.content.decode()
    assert f"···{iin[-4:]}" in content
    assert "You are now a verified resident of Almaly" in content
    assert "Resident register match" in content
    _no_iin(pages, iin)


def test_a_bad_iin_is_422_and_not_echoed(client, citizen, register, pages):
    iin, born, _ = register[0]
    bad = iin[:-1] + str((int(iin[-1]) + 1) % 10)
    client.force_login(citizen)
    response = _verify(client, pages, bad, born)
    assert response.status_code == 422
    assert 'name="iin"' in response.content.decode()
    assert not ResidentVerification.objects.exists()
    # An empty form is refused the same way.
    assert _post(client, pages, CENSUS_VERIFY, {"iin": "", "birth_date": ""}).status_code == 422
    _no_iin(pages, bad, iin)


def test_an_iin_not_in_the_register_is_404(client, citizen, register, pages):
    iin, born, _ = person(999)
    client.force_login(citizen)
    client.get("/en/residents/")  # the page the form was sent from (it shows a desk code)
    response = _verify(client, pages, iin, born)
    assert response.status_code == 404
    content = response.content.decode()
    assert "not in the city" in content
    # Re-rendered after a POST, a method's "come back here" is the verify page, not the POST.
    new_code_form = content.split('action="/en/residents/in_person/code/"')[1].split("</form>")[0]
    assert 'name="next" value="/en/residents/"' in new_code_form
    _no_iin(pages, iin)


def test_a_taken_iin_is_409_with_a_report_form_that_reaches_the_moderators(
    client, citizen, register, pages
):
    iin, born, _ = register[2]
    holder = UserFactory(email="holder@example.kz")
    resident_verify_census(actor=holder, iin=iin, birth_date=born)
    client.force_login(citizen)
    response = _verify(client, pages, iin, born)
    assert response.status_code == 409
    content = response.content.decode()
    assert "Report this to the moderators" in content
    assert 'action="/en/residents/report/"' in content
    # The report asks for the IIN again: never prefilled.
    response = _post(
        client,
        pages,
        REPORT,
        {"report-iin": iin, "report-birth_date": born.isoformat(), "report-message": "Not me"},
    )
    assert response.status_code == 302
    report = IdentityReport.objects.get()
    assert (report.reporter, report.reported, report.message) == (citizen, holder, "Not me")
    # A second report while the first is open: 409, on the page, without the IIN.
    again = _post(client, pages, REPORT, {"report-iin": iin, "report-birth_date": ""})
    assert again.status_code == 409
    _no_iin(pages, iin)


def test_past_the_limit_429_with_retry_after(client, citizen, register, pages, settings):
    settings.RESIDENT_VERIFY_LIMITS = {"account": 2, "address": 20, "window": 3600}
    iin, born, _ = person(999)
    client.force_login(citizen)
    assert _verify(client, pages, iin, born).status_code == 404
    assert _verify(client, pages, iin, born).status_code == 404
    good_iin, good_born, _ = register[0]
    response = _verify(client, pages, good_iin, good_born)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed attempts" in response.content.decode()
    assert not ResidentVerification.objects.exists()
    _no_iin(pages, iin, good_iin)


def test_a_stale_verification_asks_to_verify_again(client, citizen, register):
    iin, born, _ = register[0]
    verification = resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    ResidentVerification.objects.filter(pk=verification.pk).update(
        stale_at=verification.verified_at
    )
    client.force_login(citizen)
    content = client.get(VERIFY).content.decode()
    assert "no longer lists you" in content
    assert f"···{iin[-4:]}" in content


def test_removing_the_verification(client, citizen, register, pages):
    iin, born, _ = register[0]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    client.force_login(citizen)
    page = _get(client, pages, VERIFY)
    assert "The ballots you already cast stay counted." in page.content.decode()
    assert client.get("/en/residents/remove/").status_code == 405
    response = _post(client, pages, "/en/residents/remove/", {})
    assert response.status_code == 302
    assert not ResidentVerification.objects.filter(user=citizen).exists()
    assert "not verified as a resident yet" in _get(client, pages, VERIFY).content.decode()
    _no_iin(pages, iin)


def test_removing_keeps_the_ballots_already_cast(client, citizen, register):
    from polls.models import Ballot
    from polls.services import vote_cast
    from tests.factories import choice_ids, make_poll

    iin, born, _ = register[0]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    poll = make_poll(eligibility="city")
    vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[0]], user=citizen)
    client.force_login(citizen)
    assert client.post("/en/residents/remove/", {}).status_code == 302
    assert not ResidentVerification.objects.filter(user=citizen).exists()
    assert Ballot.objects.filter(poll=poll).count() == 1


# --- the profile -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_profile_shows_the_verification_and_links_to_the_verify_page(
    client, citizen, register, lang
):
    iin, born, _ = register[1]
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    client.force_login(citizen)
    response = client.get(f"/{lang}/profile/")
    assert response.status_code == 200
    content = response.content.decode()
    assert f'href="/{lang}/residents/"' in content
    assert f"···{iin[-4:]}" in content
    assert iin not in content
    assert "disabled" in content.split('name="district"')[1].split(">")[0]


def test_a_residents_district_cannot_be_changed_from_the_profile(client, citizen, register):
    iin, born, _ = register[1]  # almaly in the register
    citizen.district = district("medeu")
    citizen.save()
    resident_verify_census(actor=citizen, iin=iin, birth_date=born)
    client.force_login(citizen)
    response = client.post(
        PROFILE,
        {
            "display_name": "New name",
            "district": district("bostandyk").pk,
            "preferred_language": "ru",
        },
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.display_name == "New name"  # the rest of the form works
    assert citizen.preferred_language == "ru"
    assert citizen.district == district("medeu")  # unchanged
    from residents.selectors import resident_district_id

    assert resident_district_id(citizen) == district("almaly").pk


def test_a_non_resident_still_changes_their_district(client, citizen):
    client.force_login(citizen)
    content = client.get(PROFILE).content.decode()
    assert 'href="/en/residents/"' in content
    assert "disabled" not in content.split('name="district"')[1].split(">")[0]
    response = client.post(
        PROFILE,
        {"display_name": "", "district": district("medeu").pk, "preferred_language": "en"},
    )
    assert response.status_code == 302
    citizen.refresh_from_db()
    assert citizen.district == district("medeu")


# --- moderators --------------------------------------------------------------------------------


@pytest.fixture
def open_report(register):
    iin, born, _ = register[3]
    holder = UserFactory(email="holder@example.kz", display_name="Holder")
    resident_verify_census(actor=holder, iin=iin, birth_date=born)
    reporter = UserFactory(email="reporter@example.kz", display_name="Reporter")
    report = identity_report_create(actor=reporter, iin=iin, message="Someone took my IIN")
    return report, iin


@pytest.mark.parametrize("lang", LANGS)
def test_moderators_see_both_accounts_never_the_iin(client, open_report, lang):
    _report, iin = open_report
    client.force_login(ModeratorFactory())
    response = client.get(f"/{lang}/residents/reports/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "holder@example.kz" in content and "reporter@example.kz" in content
    assert "Someone took my IIN" in content
    assert iin not in content


def test_only_moderators_see_reports(client, citizen, open_report):
    report, _ = open_report
    assert client.get(REPORTS).status_code == 302
    client.force_login(citizen)
    assert client.get(REPORTS).status_code == 403
    response = client.post(f"/en/residents/reports/{report.pk}/", {"status": "resolved"})
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.status == IdentityReport.Status.OPEN


def test_a_moderator_resolves_and_dismisses(client, open_report, register):
    report, _ = open_report
    moderator = ModeratorFactory()
    client.force_login(moderator)
    response = client.post(
        f"/en/residents/reports/{report.pk}/", {"status": "resolved", "note": "freed"}
    )
    assert response.status_code == 302 and response["Location"] == REPORTS
    report.refresh_from_db()
    assert (report.status, report.note, report.resolved_by) == ("resolved", "freed", moderator)
    assert "No open identity reports." in client.get(REPORTS).content.decode()
    # Closed already: 409.
    again = client.post(f"/en/residents/reports/{report.pk}/", {"status": "dismissed"})
    assert again.status_code == 409


# --- officials: the register -------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_register_page_renders_for_census_officials(client, census_official, load, lang):
    load(register_csv([person(1)]))
    client.force_login(census_official)
    response = client.get(f"/{lang}/residents/census/")
    assert response.status_code == 200
    content = response.content.decode()
    assert f'<html lang="{lang}">' in content
    assert 'enctype="multipart/form-data"' in content
    assert "birth_date" in content
    assert 'http-equiv="refresh"' not in content  # nothing running


def test_staff_find_their_residents_pages_from_the_profile(client, census_official, moderator):
    client.force_login(census_official)
    content = client.get(PROFILE).content.decode()
    assert f'href="{CENSUS}"' in content and f'href="{REPORTS}"' not in content
    client.force_login(moderator)
    content = client.get(PROFILE).content.decode()
    assert f'href="{REPORTS}"' in content and f'href="{CENSUS}"' not in content


def test_only_census_officials_see_the_register_page(client, citizen, official, moderator):
    assert client.get(CENSUS).status_code == 302
    for user in (citizen, official, moderator):
        client.force_login(user)
        assert client.get(CENSUS).status_code == 403
        response = client.post(CENSUS, {"file": upload(register_csv([person(1)]))})
        assert response.status_code == 403
    assert not CensusImport.objects.exists()


def test_uploading_a_register_imports_it_after_commit(
    client, census_official, django_capture_on_commit_callbacks
):
    people = [person(n) for n in range(3)]
    bad = ("123", people[0][1], "medeu")
    client.force_login(census_official)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CENSUS, {"file": upload(register_csv([*people, bad]))})
    assert response.status_code == 302 and response["Location"] == CENSUS
    census = CensusImport.objects.get()
    assert census.status == "done" and census.is_current
    assert (census.rows_imported, census.rows_rejected) == (3, 1)
    assert census.created_by == census_official
    content = client.get(CENSUS).content.decode()
    assert "Current register" in content
    assert census_official.email in content
    errors_url = f"/api/v1/census/imports/{census.pk}/errors"
    assert f'href="{errors_url}"' in content
    report = client.get(errors_url)
    assert report.status_code == 200
    assert b"".join(report.streaming_content).decode().count("\n") >= 2  # header, the bad row
    for iin, _born, _slug in people:
        assert iin not in content


def test_a_queued_import_makes_the_page_refresh(client, census_official):
    client.force_login(census_official)
    # Without capturing on-commit callbacks the task is never run here: the import stays queued.
    response = client.post(CENSUS, {"file": upload(register_csv([person(1)]))})
    assert response.status_code == 302
    assert CensusImport.objects.get().status == "queued"
    content = client.get(CENSUS).content.decode()
    assert 'http-equiv="refresh"' in content


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("register.csv", b"", 400, "The file is empty."),
        ("register.pdf", b"%PDF-1.4", 415, "CSV file (.csv) or an Excel workbook"),
        ("register.csv", b"iin,birth_date,district\n" + b"x" * 200, 413, "too large"),
    ],
)
def test_a_refused_upload_creates_nothing(
    client, census_official, settings, name, data, status, message
):
    settings.CENSUS_MAX_BYTES = 100
    client.force_login(census_official)
    response = client.post(CENSUS, {"file": upload(data, name)})
    assert response.status_code == status
    assert message in response.content.decode()
    assert not CensusImport.objects.exists()


def test_no_file_at_all_is_refused(client, census_official):
    client.force_login(census_official)
    assert client.post(CENSUS, {}).status_code == 400
    assert not CensusImport.objects.exists()


def test_a_superuser_without_the_role_may_upload(client, db):
    admin = UserFactory(is_superuser=True)
    client.force_login(admin)
    assert client.get(CENSUS).status_code == 200
    assert Permission.objects.filter(codename="import_census").exists()
