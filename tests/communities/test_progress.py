"""Progress of the work on an initiative in progress: who may report it, what is refused (and
changes nothing), and where it shows (the initiative's page, the API, the map, the People's
Budget round's page)."""

import json
import re

import pytest
from django.urls import reverse
from django.utils import translation

from audit.models import AuditEntry
from civic.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from communities.models import Attachment, Initiative, InitiativeProgress
from communities.selectors import initiative_progress
from communities.services import initiative_progress_add
from tests.communities.files import PDF, PNG, upload
from tests.factories import (
    CommunityFactory,
    OfficialFactory,
    UserFactory,
    make_initiative,
    make_member,
)

pytestmark = pytest.mark.django_db

LANGS = ["kk", "ru", "en"]


def url(name: str, lang: str = "en", **kwargs) -> str:
    with translation.override(lang):
        return reverse(name, kwargs=kwargs or None)


def _in_progress(**fields):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    initiative = make_initiative(community=community, author=lead, status="in_progress", **fields)
    return initiative, lead


def _state(initiative):
    """What a refused report must leave untouched."""
    initiative.refresh_from_db()
    return (
        InitiativeProgress.objects.count(),
        Attachment.objects.filter(initiative=initiative).count(),
        AuditEntry.objects.filter(action="initiative.progress").count(),
        initiative.status,
    )


# --- The service ------------------------------------------------------------------------------


def test_a_lead_reports_and_the_selector_gives_the_latest_first():
    initiative, lead = _in_progress()
    first = initiative_progress_add(
        actor=lead, initiative_id=initiative.pk, percent=20, note="Walls cleaned."
    )
    second = initiative_progress_add(
        actor=lead, initiative_id=initiative.pk, percent=45, note="  Roof repaired.  "
    )
    work = initiative_progress(initiative)
    assert work["percent"] == 45
    assert work["updated_at"] == second.created_at
    assert [u.pk for u in work["updates"]] == [second.pk, first.pk]
    assert second.note == "Roof repaired."
    assert second.created_by == lead
    entry = AuditEntry.objects.get(action="initiative.progress", data__percent=45)
    assert entry.actor == lead and entry.target_id == str(initiative.pk)


def test_an_official_reports_and_100_does_not_implement():
    initiative, _lead = _in_progress()
    official = OfficialFactory()
    initiative_progress_add(actor=official, initiative_id=initiative.pk, percent=100, note="")
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.IN_PROGRESS
    assert initiative_progress(initiative)["percent"] == 100


def test_implemented_initiatives_take_corrections():
    initiative = make_initiative(status="implemented")
    official = OfficialFactory()
    update = initiative_progress_add(actor=official, initiative_id=initiative.pk, percent=100)
    assert update.percent == 100


def test_a_photo_is_stored_as_a_dossier_photo_and_linked():
    initiative, lead = _in_progress()
    update = initiative_progress_add(
        actor=lead,
        initiative_id=initiative.pk,
        percent=30,
        note="Benches in.",
        photo=upload("benches.png", PNG, "image/png"),
    )
    photo = update.photo
    assert photo is not None and photo.kind == Attachment.Kind.PHOTO
    assert photo.initiative_id == initiative.pk and photo.content_type == "image/png"
    assert photo.file.read() == PNG


@pytest.mark.parametrize("who", ["citizen", "member", "other_lead"])
def test_others_may_not_report(who):
    initiative, _lead = _in_progress()
    actor = {
        "citizen": lambda: UserFactory(),
        "member": lambda: make_member(initiative.community),
        "other_lead": lambda: make_member(CommunityFactory(), role="lead"),
    }[who]()
    before = _state(initiative)
    with pytest.raises(Forbidden):
        initiative_progress_add(actor=actor, initiative_id=initiative.pk, percent=10)
    assert _state(initiative) == before


def test_anonymous_and_unverified_are_refused():
    from django.contrib.auth.models import AnonymousUser

    initiative, _lead = _in_progress()
    with pytest.raises(NotAuthenticated):
        initiative_progress_add(actor=AnonymousUser(), initiative_id=initiative.pk, percent=10)
    with pytest.raises(Forbidden):
        initiative_progress_add(
            actor=UserFactory(verified=False), initiative_id=initiative.pk, percent=10
        )
    assert InitiativeProgress.objects.count() == 0


@pytest.mark.parametrize("status", ["submitted", "under_review", "accepted", "rejected"])
def test_only_initiatives_in_progress_or_implemented(status):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    initiative = make_initiative(community=community, author=lead, status=status)
    before = _state(initiative)
    with pytest.raises(Conflict):
        initiative_progress_add(actor=lead, initiative_id=initiative.pk, percent=10)
    with pytest.raises(Conflict):
        initiative_progress_add(actor=OfficialFactory(), initiative_id=initiative.pk, percent=10)
    assert _state(initiative) == before


@pytest.mark.parametrize("percent", [-1, 101, 2**63, True, 12.5, "abc", "", None, "1000", "٣"])
def test_percent_out_of_bounds_is_refused(percent):
    initiative, lead = _in_progress()
    before = _state(initiative)
    with pytest.raises(InvalidInput):
        initiative_progress_add(actor=lead, initiative_id=initiative.pk, percent=percent)
    assert _state(initiative) == before


def test_bounds_are_accepted_and_a_form_string_too():
    initiative, lead = _in_progress()
    for percent in (0, 100, "55"):
        initiative_progress_add(actor=lead, initiative_id=initiative.pk, percent=percent)
    assert sorted(InitiativeProgress.objects.values_list("percent", flat=True)) == [0, 55, 100]


def test_the_database_refuses_a_percent_over_100():
    from django.db import IntegrityError, transaction

    initiative, lead = _in_progress()
    with pytest.raises(IntegrityError), transaction.atomic():
        InitiativeProgress.objects.create(initiative=initiative, percent=101, created_by=lead)


def test_bad_note_and_bad_photo_change_nothing():
    initiative, lead = _in_progress()
    before = _state(initiative)
    with pytest.raises(InvalidInput):
        initiative_progress_add(
            actor=lead, initiative_id=initiative.pk, percent=10, note="x" * 2001
        )
    with pytest.raises(InvalidInput):
        initiative_progress_add(actor=lead, initiative_id=initiative.pk, percent=10, note="a\x00")
    with pytest.raises(InvalidInput):  # a PDF is a document, not a photo
        initiative_progress_add(
            actor=lead,
            initiative_id=initiative.pk,
            percent=10,
            photo=upload("plan.pdf", PDF, "application/pdf"),
        )
    with pytest.raises(InvalidInput):  # a picture's name must match its content
        initiative_progress_add(
            actor=lead,
            initiative_id=initiative.pk,
            percent=10,
            photo=upload("photo.jpg", PNG, "image/jpeg"),
        )
    assert _state(initiative) == before


def test_unknown_initiative_is_not_found():
    lead = make_member(CommunityFactory(), role="lead")
    for bad in (999999, 2**63, "x"):
        with pytest.raises(NotFound):
            initiative_progress_add(actor=lead, initiative_id=bad, percent=10)


# --- The page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_page_shows_the_progress_section_in_every_language(client, lang):
    initiative, lead = _in_progress()
    initiative_progress_add(
        actor=lead,
        initiative_id=initiative.pk,
        percent=40,
        note="Foundation poured.",
        photo=upload("site.png", PNG, "image/png"),
    )
    html = client.get(url("initiatives:detail", lang, pk=initiative.pk)).content.decode()
    section = re.search(r'<section id="progress".*?</section>', html, re.S).group(0)
    assert 'data-width="40"' in section and "Foundation poured." in section
    assert "<img " in section
    with translation.override(lang):
        from django.utils.translation import gettext

        assert gettext("Progress") in section
    assert "style=" not in section  # the CSP allows no inline style
    assert "<form" not in section  # an anonymous reader gets no form


def test_the_form_is_for_leads_and_officials_only(client):
    initiative, lead = _in_progress()
    form_action = url("initiatives:progress_add", pk=initiative.pk)
    for user, shown in (
        (lead, True),
        (OfficialFactory(), True),
        (make_member(initiative.community), False),
        (UserFactory(), False),
    ):
        client.force_login(user)
        html = client.get(initiative.get_absolute_url()).content.decode()
        assert (form_action in html) is shown


def test_no_section_before_the_work_starts(client):
    initiative = make_initiative(status="accepted")
    client.force_login(OfficialFactory())
    html = client.get(initiative.get_absolute_url()).content.decode()
    assert 'id="progress"' not in html


def test_the_form_posts_a_report_with_a_photo(client):
    initiative, lead = _in_progress()
    client.force_login(lead)
    response = client.post(
        url("initiatives:progress_add", pk=initiative.pk),
        {"percent": "60", "note": "Paths laid.", "photo": upload("p.png", PNG, "image/png")},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#progress")
    update = InitiativeProgress.objects.get()
    assert (update.percent, update.note, update.created_by) == (60, "Paths laid.", lead)
    assert update.photo.kind == Attachment.Kind.PHOTO
    html = client.get(initiative.get_absolute_url()).content.decode()
    photo_url = url("initiatives:attachment", pk=initiative.pk, attachment_id=update.photo.pk)
    assert photo_url in html
    assert client.get(photo_url).status_code == 200


@pytest.mark.parametrize("percent", ["101", "-5", "x", ""])
def test_the_form_refuses_bad_percents_with_400(client, percent):
    initiative, lead = _in_progress()
    client.force_login(lead)
    response = client.post(url("initiatives:progress_add", pk=initiative.pk), {"percent": percent})
    assert response.status_code == 400
    assert InitiativeProgress.objects.count() == 0


def test_the_form_refuses_a_citizen_and_a_wrong_status(client):
    initiative, _lead = _in_progress()
    client.force_login(UserFactory())
    response = client.post(url("initiatives:progress_add", pk=initiative.pk), {"percent": "10"})
    assert response.status_code == 403
    accepted = make_initiative(status="accepted")
    client.force_login(OfficialFactory())
    response = client.post(url("initiatives:progress_add", pk=accepted.pk), {"percent": "10"})
    assert response.status_code == 409
    assert InitiativeProgress.objects.count() == 0


def test_the_form_needs_a_sign_in(client):
    initiative, _lead = _in_progress()
    response = client.post(url("initiatives:progress_add", pk=initiative.pk), {"percent": "10"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert InitiativeProgress.objects.count() == 0


# --- The API ----------------------------------------------------------------------------------


def _post(client, initiative_id, payload):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        f"/api/v1/initiatives/{initiative_id}/progress", body, content_type="application/json"
    )


def test_api_reports_progress_and_the_initiative_shows_it(client):
    initiative, lead = _in_progress()
    client.force_login(lead)
    response = _post(client, initiative.pk, {"percent": 70, "note": "Lights on."})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["percent"] == 70 and body["note"] == "Lights on." and body["photo_url"] is None
    detail = client.get(f"/api/v1/initiatives/{initiative.pk}").json()
    assert detail["progress"]["percent"] == 70
    assert detail["progress"]["updated_at"]
    listed = client.get("/api/v1/initiatives?status=in_progress").json()["items"]
    assert [i["progress"]["percent"] for i in listed if i["id"] == initiative.pk] == [70]


def test_api_progress_is_null_before_any_report(client):
    initiative = make_initiative(status="submitted")
    detail = client.get(f"/api/v1/initiatives/{initiative.pk}").json()
    assert detail["progress"] == {"percent": None, "updated_at": None}


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"percent": 101}, 400),
        ({"percent": -1}, 400),
        ({"percent": 2**63}, 400),
        ({"percent": "50"}, 422),
        ({"percent": True}, 422),
        ({"note": "no percent"}, 422),
        ({"percent": 10, "extra": 1}, 422),
        ("not json", 400),
    ],
)
def test_api_refuses_bad_input(client, payload, status):
    initiative, lead = _in_progress()
    client.force_login(lead)
    response = _post(client, initiative.pk, payload)
    assert response.status_code in ({status, 422} if status == 400 else {status}), response.content
    assert InitiativeProgress.objects.count() == 0


def test_api_permissions_and_status(client):
    initiative, _lead = _in_progress()
    assert _post(client, initiative.pk, {"percent": 10}).status_code == 401
    client.force_login(UserFactory())
    assert _post(client, initiative.pk, {"percent": 10}).status_code == 403
    accepted = make_initiative(status="accepted")
    client.force_login(OfficialFactory())
    assert _post(client, accepted.pk, {"percent": 10}).status_code == 409
    assert _post(client, 999999, {"percent": 10}).status_code == 404
    assert InitiativeProgress.objects.count() == 0


# --- The map ----------------------------------------------------------------------------------


def test_map_markers_carry_the_percent(client):
    working, lead = _in_progress(title="Depot", latitude="43.2567", longitude="76.9286")
    initiative_progress_add(actor=lead, initiative_id=working.pk, percent=40)
    waiting = make_initiative(status="submitted", latitude="43.25", longitude="76.92")
    response = client.get(url("initiatives:map"))
    markers = {m["id"]: m for m in response.context["markers"]}
    assert markers[working.pk]["progress"] == 40
    assert markers[working.pk]["status"] == "In progress · 40\u202f%"
    assert markers[waiting.pk]["progress"] is None
    assert markers[waiting.pk]["status"] == "Submitted"
    html = response.content.decode()
    data = json.loads(re.search(r'id="initiative-markers"[^>]*>(.*?)</script>', html, re.S)[1])
    assert {m["id"]: m["progress"] for m in data} == {working.pk: 40, waiting.pk: None}


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_map_popup_status_is_in_the_readers_language(client, lang):
    working, lead = _in_progress(latitude="43.2567", longitude="76.9286")
    initiative_progress_add(actor=lead, initiative_id=working.pk, percent=40)
    response = client.get(url("initiatives:map", lang))
    (marker,) = response.context["markers"]
    with translation.override(lang):
        label = str(Initiative.Status.IN_PROGRESS.label)
    assert marker["status"].startswith(label) and marker["status"].endswith(" 40\u202f%")


# --- The People's Budget round's page ---------------------------------------------------------


def test_the_round_page_shows_a_funded_initiatives_percent_and_updates(client):
    from budgets.services import (
        ProjectInput,
        forget_round_meta,
        project_add,
        round_close,
        round_open,
    )
    from communities.services import initiative_transition
    from tests.budgets.test_views import PROJECTS, _store_outcomes_for, ids, make_round

    forget_round_meta()
    official = OfficialFactory()
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    initiative = make_initiative(
        community=community, author=lead, status="accepted", budget_kzt="400000000"
    )
    budget_round = make_round(official=official, projects=PROJECTS[1:], open_now=False)
    project_add(
        actor=official,
        round_id=budget_round.pk,
        data=ProjectInput(initiative_id=initiative.pk, cost=None, cost_note=""),
    )
    round_open(actor=official, round_id=budget_round.pk)
    round_close(actor=official, round_id=budget_round.pk)
    _b, c, a = ids(budget_round)
    _store_outcomes_for(budget_round, funded=[a, c])
    initiative.refresh_from_db()
    if initiative.status == Initiative.Status.ACCEPTED:
        initiative_transition(actor=official, initiative_id=initiative.pk, to="in_progress")
    initiative_progress_add(
        actor=lead, initiative_id=initiative.pk, percent=35, note="Scaffolding up."
    )
    html = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    progress = html.split('id="progress-title"')[1]
    assert '<progress max="100" value="35">' in progress
    assert "Scaffolding up." in progress
    forget_round_meta()
