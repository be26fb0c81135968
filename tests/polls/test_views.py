"""Poll pages: voting without JavaScript, errors in the user's language, officials' pages."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from polls.models import Ballot, EventCode, Poll
from polls.services import event_codes_generate
from tests.factories import OfficialFactory, choice_ids, make_poll

pytestmark = pytest.mark.django_db


def test_list_shows_open_and_hides_drafts(client):
    open_poll = make_poll()
    draft = make_poll(open_now=False)
    draft.title_en = "Secret draft"
    draft.save()
    html = client.get("/en/polls/").content.decode()
    assert f'href="/en/polls/{open_poll.pk}/"' in html
    assert "Secret draft" not in html
    assert client.get(f"/en/polls/{draft.pk}/").status_code == 404


def test_vote_through_the_form_without_javascript(client, citizen):
    poll = make_poll()
    a = choice_ids(poll)[0]
    client.force_login(citizen)
    page = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert 'type="radio" name="choice"' in page
    response = client.post(f"/en/polls/{poll.pk}/", {"choice": [a]})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    # One thank-you (the message), and the ballot shown as cast.
    assert page.count("Thank you") == 1
    assert "Your ballot" in page
    # Results are on the page itself, no script needed.
    assert re.search(rf'data-choice="{a}".*?<strong data-votes>1</strong>', page, re.S)
    assert Ballot.objects.count() == 1


def test_form_errors_are_4xx_in_the_users_language(client, citizen):
    poll = make_poll()
    client.force_login(citizen)
    response = client.post(f"/ru/polls/{poll.pk}/", {})
    assert response.status_code == 400
    assert "Выберите хотя бы один вариант" in response.content.decode()
    client.post(f"/ru/polls/{poll.pk}/", {"choice": choice_ids(poll)[:1]})
    response = client.post(f"/ru/polls/{poll.pk}/", {"choice": choice_ids(poll)[1:2]})
    assert response.status_code == 409
    assert Ballot.objects.count() == 1


def test_guest_votes_with_a_code_from_the_qr_link(client):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
    page = client.get(f"/kk/polls/{poll.pk}/?code={code}").content.decode()
    assert f'value="{code}"' in page
    response = client.post(f"/kk/polls/{poll.pk}/", {"choice": choice_ids(poll)[:1], "code": code})
    assert response.status_code == 302
    response = client.post(f"/kk/polls/{poll.pk}/", {"choice": choice_ids(poll)[:1], "code": code})
    assert response.status_code == 409
    assert Ballot.objects.count() == 1


def test_anonymous_without_code_gets_401_page(client):
    poll = make_poll()
    response = client.post(f"/en/polls/{poll.pk}/", {"choice": choice_ids(poll)[:1]})
    assert response.status_code == 401
    assert "Sign in to vote" in response.content.decode()


def test_html_in_titles_is_escaped(client):
    poll = make_poll()
    Poll.objects.filter(pk=poll.pk).update(title_en="<script>alert(1)</script>")
    html = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_manage_pages_are_for_officials_only(client, citizen):
    assert client.get("/en/polls/manage/").status_code == 302  # to the login page
    client.force_login(citizen)
    assert client.get("/en/polls/manage/").status_code == 403
    assert client.get("/en/polls/manage/new/").status_code == 403


def _form(**overrides):
    now = timezone.localtime() + timedelta(hours=1)
    data = {
        # The question as written (in Russian); its Kazakh and English versions beside it.
        "title": "Вопрос",
        "original_language": "ru",
        "title_kk": "Сұрақ",
        "title_en": "Question",
        "description": "",
        "description_kk": "",
        "description_ru": "",
        "description_en": "",
        "kind": "single",
        "max_choices": "1",
        "district": "",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "results_visibility": "live",
        "ballot_mode": "accounts",
        "choices-TOTAL_FORMS": "6",
        "choices-INITIAL_FORMS": "0",
        "choices-MIN_NUM_FORMS": "0",
        "choices-MAX_NUM_FORMS": "30",
        "choices-0-label_kk": "Иә",
        "choices-0-label_ru": "Да",
        "choices-0-label_en": "Yes",
        "choices-1-label_kk": "Жоқ",
        "choices-1-label_ru": "Нет",
        "choices-1-label_en": "No",
    }
    data.update(overrides)
    return data


def test_official_creates_schedules_opens_and_closes(client):
    official = OfficialFactory()
    client.force_login(official)
    assert client.get("/en/polls/manage/new/").status_code == 200
    response = client.post("/en/polls/manage/new/", _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    poll = Poll.objects.get()
    assert poll.status == Poll.Status.DRAFT and poll.choices.count() == 2
    assert poll.opens_at > timezone.now()
    for action, status in (("schedule", "scheduled"), ("open", "open"), ("close", "closed")):
        if action != "schedule":
            # Opening and closing are confirmed: one unconfirmed post only asks.
            asked = client.post(f"/en/polls/manage/{poll.pk}/do/{action}/")
            assert asked.status_code == 200
            assert f"Yes, {action} the poll" in asked.content.decode()
            poll.refresh_from_db()
            assert poll.status != status
        client.post(f"/en/polls/manage/{poll.pk}/do/{action}/", {"confirm": "yes"})
        poll.refresh_from_db()
        assert poll.status == status
    assert client.post(f"/en/polls/manage/{poll.pk}/do/explode/").status_code == 404


def test_create_form_rejects_bad_input_and_saves_nothing(client):
    client.force_login(OfficialFactory())
    bad = _form(**{"choices-1-label_en": "", "choices-1-label_ru": "", "choices-1-label_kk": ""})
    response = client.post("/en/polls/manage/new/", bad)
    assert response.status_code == 400
    assert "at least two choices" in response.content.decode()
    response = client.post("/en/polls/manage/new/", _form(title=""))
    assert response.status_code == 400
    # A version may be missing, but not too long; an unknown language is refused.
    response = client.post("/en/polls/manage/new/", _form(title_en="x" * 201))
    assert response.status_code == 400
    response = client.post("/en/polls/manage/new/", _form(original_language="fr"))
    assert response.status_code == 400
    assert not Poll.objects.exists()


def test_codes_generate_print_and_revoke(client):
    official = OfficialFactory()
    poll = make_poll(official=official, ballot_mode="both")
    client.force_login(official)
    response = client.post(f"/en/polls/manage/{poll.pk}/codes/", {"count": "4"})
    assert response.status_code == 302
    sheet = client.get(response["Location"]).content.decode()
    codes = list(EventCode.objects.filter(poll=poll))
    assert len(codes) == 4
    for code in codes:
        assert f"{code.code[:5]}-{code.code[5:]}" in sheet
    assert sheet.count("<svg") == 4
    batch = codes[0].batch
    client.post(f"/en/polls/manage/{poll.pk}/codes/{batch}/revoke/")
    assert EventCode.objects.filter(revoked_at__isnull=False).count() == 4
    assert client.post(f"/en/polls/manage/{poll.pk}/codes/", {"count": "99999"}).status_code == 302
    assert EventCode.objects.count() == 4
    assert client.get(f"/en/polls/manage/{poll.pk}/codes/{uuid.uuid4()}/").status_code == 404


def test_poll_qr_code(client):
    poll = make_poll()
    response = client.get(f"/en/polls/{poll.pk}/qr.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")


def test_verify_tallies_command(capsys):
    from django.core.management import call_command

    from polls.models import ChoiceTally

    poll = make_poll()
    call_command("verify_tallies")
    assert "agree" in capsys.readouterr().out
    ChoiceTally.objects.filter(poll=poll, shard=0).update(votes=2)
    with pytest.raises(SystemExit):
        call_command("verify_tallies")
    assert "drift +2" in capsys.readouterr().out
    call_command("verify_tallies", repair=True)
    call_command("verify_tallies")
    assert "agree" in capsys.readouterr().out.splitlines()[-1]
