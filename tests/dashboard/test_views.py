"""Dashboard pages: who may open them, what they show in each language, the no-JavaScript
decision form, the projector screen, and exports made and downloaded through the pages."""

import csv
import io
import json

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import District
from communities.models import Initiative
from dashboard.models import Export
from polls.models import Poll
from polls.selectors import poll_counts
from polls.services import vote_cast
from tests.factories import UserFactory, choice_ids, district, make_initiative, make_poll

pytestmark = pytest.mark.django_db

TITLES = {
    "kk": "Алматының өзекті мәселелері",
    "ru": "Самые острые проблемы Алматы",
    "en": "Most pressing problems of Almaty",
}
CHOICES = {"kk": "Таңдау 1", "ru": "Вариант 1", "en": "Choice 1"}


UNKNOWN = "00000000-0000-4000-8000-000000000000"  # an export id no export has


def url(name: str, lang: str = "en", **kwargs) -> str:
    with translation.override(lang):
        return reverse(f"dashboard:{name}", kwargs=kwargs)


def login_url(lang: str = "en") -> str:
    with translation.override(lang):
        return reverse("account_login")


@pytest.fixture
def poll(official):
    return make_poll(official=official, ballot_mode="both")  # citizens and festival guests


def _vote(poll, index: int, user=None, **user_fields):
    user = user or UserFactory(**user_fields)
    vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[index]], user=user)
    return user


@pytest.fixture
def export_done(client, django_capture_on_commit_callbacks):
    """Post the exports form; Celery runs eagerly after commit, so the file is ready."""

    def post(data: dict) -> Export:
        before = set(Export.objects.values_list("pk", flat=True))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url("exports"), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == url("exports")
        (export,) = Export.objects.exclude(pk__in=before)
        assert export.state == Export.State.DONE, export.error
        return export

    return post


def _download_csv(client, export: Export) -> list[list[str]]:
    response = client.get(url("export_download", public_id=export.public_id))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert f'filename="{export.filename}"' in response["Content-Disposition"]
    assert response["Content-Disposition"].startswith("attachment")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


# --- Who may open what ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["index", "exports"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert response["Location"] == f"{login_url()}?next={url(name)}"


def test_anonymous_visitors_are_sent_to_login_from_projector_decide_and_download(client, poll):
    for target, method in [
        (url("projector", poll_id=poll.pk), client.get),
        (url("decide", initiative_id=1), client.post),
        (url("export_download", public_id=UNKNOWN), client.get),
    ]:
        response = method(target)
        assert response.status_code == 302, target
        assert response["Location"].startswith(login_url() + "?next=")


def test_a_citizen_gets_the_403_page(client, citizen, poll):
    client.force_login(citizen)
    for target in (url("index"), url("projector", poll_id=poll.pk), url("exports")):
        response = client.get(target)
        assert response.status_code == 403, target
        assert "Something is not right" in response.content.decode()
    assert "officials and moderators" in client.get(url("index")).content.decode()


def test_a_citizen_cannot_download_an_export_or_read_its_status(
    client, citizen, official, poll, django_capture_on_commit_callbacks
):
    from dashboard.services import export_create

    with django_capture_on_commit_callbacks(execute=True):
        export = export_create(actor=official, kind="poll_results", format="csv", poll_id=poll.pk)
    client.force_login(citizen)
    response = client.get(url("export_download", public_id=export.public_id))
    assert response.status_code == 403
    assert "filename" not in response.get("Content-Disposition", "")
    status = client.get(url("export_status", public_id=export.public_id))
    assert status.status_code == 403 and status.json()["code"] == "not_official"


def test_moderators_watch_the_dashboard_but_exports_are_for_officials(client, moderator, poll):
    client.force_login(moderator)
    assert client.get(url("index")).status_code == 200
    assert client.get(url("projector", poll_id=poll.pk)).status_code == 200
    response = client.get(url("exports"))
    assert response.status_code == 403
    assert "Only akimat officials" in response.content.decode()
    response = client.post(
        url("exports"), {"kind": "poll_results", "format": "csv", "poll": poll.pk}
    )
    assert response.status_code == 403
    assert not Export.objects.exists()


def test_the_nav_links_the_dashboard_for_staff_only(client, citizen, official, moderator):
    link = f'href="{url("index")}"'
    client.force_login(citizen)
    assert link not in client.get("/en/").content.decode()
    for user in (official, moderator):
        client.force_login(user)
        assert link in client.get("/en/").content.decode()


# --- The overview -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("role", ["official", "moderator"])
def test_staff_see_the_dashboard_in_their_language(client, request, poll, lang, role):
    _vote(poll, 0, district=district("almaly"))
    _vote(poll, 0)
    _vote(poll, 1)
    client.force_login(request.getfixturevalue(role))
    response = client.get(url("index", lang))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert TITLES[lang] in html
    assert CHOICES[lang] in html
    for other in {"kk", "ru", "en"} - {lang}:
        assert TITLES[other] not in html
    assert url("projector", lang, poll_id=poll.pk) in html
    # Tallies, the turnout timeline and the districts are in the page without JavaScript.
    assert 'data-field="total">3<' in html
    timeline = html.split('data-field="timeline"')[1].split("</svg>")[0]
    assert timeline.count("<rect ") == 30
    almaly = district("almaly")
    assert getattr(almaly, f"name_{lang}") in html
    # Only officials get the decision forms and the exports link.
    assert ('href="' + url("exports", lang) + '"' in html) == (role == "official")


def test_the_dashboard_shows_the_review_queue_longest_waiting_first(client, official):
    first = make_initiative(status="under_review", title="Bike lanes on Abay avenue")
    second = make_initiative(status="under_review", title="Trees for Sairan lake")
    make_initiative(status="accepted", title="Already decided")
    client.force_login(official)
    html = client.get(url("index")).content.decode()
    assert html.index("Bike lanes on Abay avenue") < html.index("Trees for Sairan lake")
    assert "Already decided" not in html
    assert f'action="{url("decide", initiative_id=first.pk)}"' in html
    assert f'action="{url("decide", initiative_id=second.pk)}"' in html
    assert 'data-count="accepted">1<' in html
    assert 'data-count="under_review">2<' in html


def test_a_moderator_sees_the_queue_without_decision_forms(client, moderator):
    item = make_initiative(status="under_review")
    client.force_login(moderator)
    html = client.get(url("index")).content.decode()
    assert item.title in html
    assert f'action="{url("decide", initiative_id=item.pk)}"' not in html


def test_numbers_are_grouped_the_way_each_language_writes_them():
    from django.utils import translation

    from dashboard.views import group_digits, percent

    with translation.override("ru"):
        assert group_digits(1234567) == "1\xa0234\xa0567"
    with translation.override("en"):
        assert group_digits(1234567) == "1,234,567"
    assert group_digits(999) == "999"
    assert group_digits(None) == "—"
    assert percent(12.5, "ru") == "12,5\u202f%" and percent(12.5, "en") == "12.5\u202f%"


# --- Deciding from the dashboard without JavaScript -------------------------------------------


def test_an_official_decides_through_the_dashboard_form(client, official):
    initiative = make_initiative(status="under_review")
    client.force_login(official)
    response = client.post(
        url("decide", initiative_id=initiative.pk),
        {"to": "accepted", "response": "The akimat will fund it in 2026."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == url("index") + "#pipeline"
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.ACCEPTED
    assert initiative.official_response == "The akimat will fund it in 2026."
    assert initiative.responded_by == official
    assert "is now “Accepted”" in response.content.decode()


def test_a_citizen_posting_the_decision_gets_403_and_nothing_changes(client, citizen):
    initiative = make_initiative(status="under_review")
    client.force_login(citizen)
    response = client.post(
        url("decide", initiative_id=initiative.pk), {"to": "accepted", "response": "Yes."}
    )
    assert response.status_code == 403
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.UNDER_REVIEW
    assert initiative.official_response == "Official answer."


def test_a_moderator_posting_the_decision_gets_403(client, moderator):
    initiative = make_initiative(status="under_review")
    client.force_login(moderator)
    response = client.post(
        url("decide", initiative_id=initiative.pk), {"to": "rejected", "response": "No."}
    )
    assert response.status_code == 403
    assert "Only akimat officials" in response.content.decode()
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.UNDER_REVIEW


def test_a_decision_without_a_response_is_refused_with_the_reason(client, official):
    initiative = make_initiative(status="under_review")
    client.force_login(official)
    response = client.post(url("decide", initiative_id=initiative.pk), {"to": "rejected"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "A decision needs the official response" in html
    # The form of that initiative opens again, with the choice kept.
    assert f'id="initiative-{initiative.pk}"' in html
    assert '<option value="rejected" selected>' in html
    initiative.refresh_from_db()
    assert initiative.status == Initiative.Status.UNDER_REVIEW


@pytest.mark.parametrize(
    ("to", "status"),
    [("teleported", 400), ("implemented", 409)],
)
def test_impossible_moves_are_4xx_not_500(client, official, to, status):
    initiative = make_initiative(status="under_review")
    client.force_login(official)
    response = client.post(
        url("decide", initiative_id=initiative.pk), {"to": to, "response": "Because."}
    )
    assert response.status_code == status


def test_deciding_an_unknown_initiative_is_404(client, official):
    client.force_login(official)
    response = client.post(url("decide", initiative_id=987654), {"to": "accepted", "response": "x"})
    assert response.status_code == 404


def test_the_decide_url_takes_posts_only(client, official):
    client.force_login(official)
    assert client.get(url("decide", initiative_id=1)).status_code == 405


# --- Projector --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_projector_shows_one_poll_in_the_urls_language(client, official, poll, lang):
    _vote(poll, 2)
    client.force_login(official)
    response = client.get(url("projector", lang, poll_id=poll.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert TITLES[lang] in html
    assert CHOICES[lang] in html
    with translation.override(lang):
        assert reverse("polls:qr", kwargs={"poll_id": poll.pk}) in html
        assert "http://testserver" + reverse("polls:detail", kwargs={"poll_id": poll.pk}) in html
    assert "data-total>1<" in html


def test_the_projector_of_an_unknown_poll_is_404(client, official):
    client.force_login(official)
    assert client.get(url("projector", poll_id=987654)).status_code == 404


# --- Exports ----------------------------------------------------------------------------------


def test_poll_results_export_through_the_page_matches_the_tallies(client, official, export_done):
    poll = make_poll(official=official)
    _vote(poll, 0, district=district("almaly"))
    _vote(poll, 0, district=district("almaly"))
    _vote(poll, 1, district=district("bostandyk"))
    client.force_login(official)
    export = export_done({"kind": "poll_results", "format": "csv", "poll": poll.pk})
    assert export.requested_by == official and export.poll == poll
    rows = _download_csv(client, export)
    assert rows[0] == ["section", "id", "label_kk", "label_ru", "label_en", "votes"]
    counts = poll_counts(poll)
    by_section = {}
    for row in rows[1:]:
        by_section.setdefault(row[0], []).append(row)
    assert by_section["total"] == [
        ["total", str(poll.pk), TITLES["kk"], TITLES["ru"], TITLES["en"], "3"]
    ]
    assert {int(r[1]): int(r[5]) for r in by_section["choice"]} == {
        c["id"]: c["votes"] for c in counts["choices"]
    }
    districts = {r[1]: int(r[5]) for r in by_section["district"]}
    assert districts["almaly"] == 2 and districts["bostandyk"] == 1
    assert sum(districts.values()) == counts["total_votes"]
    # The page lists it as ready, with its download link.
    html = client.get(url("exports")).content.decode()
    assert url("export_download", public_id=export.public_id) in html
    assert 'http-equiv="refresh"' not in html


def test_json_export_of_the_initiative_list_with_filters(client, official, export_done):
    kept = make_initiative(status="under_review", title="Shade over the bus stops")
    make_initiative(status="accepted", title="Another one")
    client.force_login(official)
    export = export_done(
        {"kind": "initiatives", "format": "json", "status": "under_review", "category": ""}
    )
    assert export.filters == {"status": "under_review"}
    response = client.get(url("export_download", public_id=export.public_id))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = json.loads(b"".join(response.streaming_content))
    assert [row["id"] for row in data] == [kept.pk]
    status = client.get(url("export_status", public_id=export.public_id)).json()
    assert status["state"] == "done" and status["progress"] == 100 and status["rows"] == 1
    assert status["download_url"] == url("export_download", public_id=export.public_id)


def test_finding_export_of_another_official_is_404(client, official, poll, export_done):
    """An export is its requester's (and the administrators'): another official neither
    downloads it nor reads its status, and does not see it listed."""
    from tests.factories import OfficialFactory, UserFactory

    client.force_login(official)
    export = export_done({"kind": "poll_results", "format": "csv", "poll": poll.pk})
    download = url("export_download", public_id=export.public_id)
    status = url("export_status", public_id=export.public_id)
    assert client.get(download).status_code == 200

    client.force_login(OfficialFactory())
    response = client.get(download)
    assert response.status_code == 404
    assert "filename" not in response.get("Content-Disposition", "")
    assert client.get(status).status_code == 404
    assert str(export.public_id) not in client.get(url("exports")).content.decode()

    admin = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(download).status_code == 200
    assert client.get(status).json()["state"] == "done"


def test_a_pending_export_refreshes_the_page_without_javascript(client, official, poll):
    # Without running the task: the export stays pending.
    from dashboard.services import export_create

    export = export_create(actor=official, kind="poll_results", format="csv", poll_id=poll.pk)
    client.force_login(official)
    html = client.get(url("exports")).content.decode()
    assert '<noscript><meta http-equiv="refresh"' in html
    assert f'data-status-url="{url("export_status", public_id=export.public_id)}"' in html
    assert client.get(url("export_download", public_id=export.public_id)).status_code == 404
    status = client.get(url("export_status", public_id=export.public_id)).json()
    assert status["state"] == "pending" and status["download_url"] is None


def test_export_form_errors_are_4xx_with_the_reason(client, official):
    hidden = make_poll(official=official, results_visibility=Poll.Visibility.HIDDEN)
    client.force_login(official)
    response = client.post(
        url("exports"), {"kind": "poll_results", "format": "csv", "poll": hidden.pk}
    )
    assert response.status_code == 409
    assert "hidden until it closes" in response.content.decode()
    response = client.post(url("exports"), {"kind": "poll_results", "format": "xls", "poll": 1})
    assert response.status_code == 400
    response = client.post(url("exports"), {"kind": "poll_results", "format": "csv", "poll": "x"})
    assert response.status_code == 404
    assert not Export.objects.exists()


def test_unknown_exports_are_404(client, official):
    client.force_login(official)
    assert client.get(url("export_download", public_id=UNKNOWN)).status_code == 404
    assert client.get(url("export_status", public_id=UNKNOWN)).status_code == 404


# --- Secret ballots ---------------------------------------------------------------------------


def test_a_secret_ballot_shows_and_exports_no_district_figures(client, official, export_done):
    poll = make_poll(official=official, secret_ballot=True)
    _vote(poll, 0, district=district("almaly"))
    _vote(poll, 1, district=district("bostandyk"))
    client.force_login(official)
    html = client.get(url("index")).content.decode()
    assert "Secret ballot: no district figures." in html
    # The poll cards (the city-wide chart below them lists every district, with the secret
    # ballots not counted: see tests/dashboard/test_charts.py).
    cards = html.split('<template id="tpl-poll">')[0].split('id="participation"')[0]
    assert "Participation by district" not in cards
    city = html.split('id="participation"')[1].split("</section>")[0]
    assert "<title>Almaly District: 0</title>" in city
    # (The script's texts name every district once, for polls that show them.)
    for d in District.objects.all():
        assert d.name_en not in cards
    assert 'data-field="total">2<' in html

    export = export_done({"kind": "poll_results", "format": "csv", "poll": poll.pk})
    rows = _download_csv(client, export)
    assert {row[0] for row in rows[1:]} == {"total", "choice"}
    assert [row[5] for row in rows if row[0] == "total"] == ["2"]


# --- Downloads are audited; a failing export in the embedded mode -----------------------------


def test_a_download_is_recorded_in_the_audit_log(client, official, poll, export_done):
    from audit.models import AuditEntry

    client.force_login(official)
    export = export_done({"kind": "poll_results", "format": "csv", "poll": poll.pk})
    assert not AuditEntry.objects.filter(action="export.download").exists()
    _download_csv(client, export)
    _download_csv(client, export)
    entries = AuditEntry.objects.filter(action="export.download").order_by("pk")
    assert [(e.actor_id, e.target_type, e.target_id) for e in entries] == [
        (official.pk, "dashboard.export", str(export.pk))
    ] * 2
    assert entries[0].data == {"kind": "poll_results", "format": "csv", "poll": poll.pk}
    # A refused or unknown download records nothing.
    assert client.get(url("export_download", public_id=UNKNOWN)).status_code == 404
    assert entries.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_export_task_is_a_message_not_a_500(client, official, poll, monkeypatch):
    """The embedded mode: real commits, so the eager task runs inside the request and its
    exception (EAGER_PROPAGATES) would reach the view."""
    import dashboard.services
    from civic.celery import app

    assert app.conf.task_always_eager and app.conf.task_eager_propagates

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dashboard.services, "_poll_rows", broken)
    client.force_login(official)
    response = client.post(
        url("exports"), {"kind": "poll_results", "format": "csv", "poll": poll.pk}
    )
    assert response.status_code == 302
    export = Export.objects.get()
    assert export.state == Export.State.FAILED
    assert export.error == "RuntimeError"
    page = client.get(response["Location"]).content.decode()
    assert "The export could not be made" in page
    assert "The export is being prepared" not in page
    assert url("export_download", public_id=export.public_id) not in page


# --- Projector: the ballot-code QR --------------------------------------------------------------


def test_the_projector_can_show_the_qr_code_for_ballot_codes(client, official, poll):
    from polls.services import event_codes_generate

    client.force_login(official)
    plain = client.get(url("projector", poll_id=poll.pk)).content.decode()
    assert 'data-qr="poll"' in plain and "qr=codes" not in plain  # no codes: no switch
    assert (
        'data-qr="poll"'
        in client.get(url("projector", poll_id=poll.pk) + "?qr=codes").content.decode()
    )

    event_codes_generate(actor=official, poll_id=poll.pk, count=3)
    plain = client.get(url("projector", poll_id=poll.pk)).content.decode()
    assert 'data-qr="poll"' in plain
    assert f'href="{url("projector", poll_id=poll.pk)}?qr=codes"' in plain
    html = client.get(url("projector", poll_id=poll.pk) + "?qr=codes").content.decode()
    assert 'data-qr="codes"' in html and 'data-qr="poll"' not in html
    assert "<svg" in html and 'width="320"' in html
    target = "http://testserver" + reverse("polls:detail", kwargs={"poll_id": poll.pk}) + "#id_code"
    assert target in html
    assert "enter the code" in html
    # No code itself is ever on the wall.
    from polls.models import EventCode

    for code in EventCode.objects.filter(poll=poll):
        assert code.code not in html


# --- The page's live parts: guests, new submissions, dialogue, resync interval ------------------


def test_the_page_shows_guests_apart_new_submissions_and_dialogue_counts(
    client, official, poll, settings
):
    from polls.services import event_codes_generate

    settings.REALTIME_RESYNC_SECONDS = 7.5
    _vote(poll, 0)
    for event_code in event_codes_generate(actor=official, poll_id=poll.pk, count=2):
        vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[0]], code=event_code.code)
    fresh = make_initiative(status="submitted", title="Benches on Abay", summary="Twenty benches.")
    client.force_login(official)
    html = client.get(url("index")).content.decode()
    assert 'data-field="total">3<' in html
    assert 'data-field="guests">2<' in html
    assert 'data-field="registered">1<' in html
    assert 'data-resync-seconds="7.5"' in html
    assert "Signed out. Reload the page" in html
    new_list = html.split("data-new ")[1].split("</ol>")[0]
    assert "Benches on Abay" in new_list and "Twenty benches." in new_list
    assert f'action="{url("decide", initiative_id=fresh.pk)}"' in new_list
    assert 'data-dialogue="threads_waiting">0<' in html
    assert 'data-dialogue="open_flags">0<' in html
    assert 'data-lang="en"' in html
