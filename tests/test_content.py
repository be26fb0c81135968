"""Content in three languages (civic/content.py): the reader's version, else the original with
its language marked (lang="ru") and noted ("in Russian"); services, forms and the API take
the versions and refuse bad ones clearly."""

import json

import pytest
from django.template import Context, Template
from django.utils import translation

from civic import content as c
from civic.errors import InvalidInput
from communities.models import Attachment, Initiative
from communities.services import InitiativeInput, initiative_create, initiative_update
from dialogue.models import Session
from polls.models import Poll
from polls.services import ChoiceInput, PollInput, poll_create
from tests.factories import (
    CommunityFactory,
    OfficialFactory,
    make_initiative,
    make_member,
    make_poll,
    make_session,
)

pytestmark = pytest.mark.django_db

RU_TITLE = "Велодорожка по проспекту Абая"
EN_TITLE = "A bike lane on Abay Avenue"
KK_TITLE = "Абай даңғылындағы веложол"


def _render(obj, field, lang):
    with translation.override(lang):
        return Template("{% load content %}{% content obj field %}").render(
            Context({"obj": obj, "field": field})
        )


# --- The one answer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Қала қауымдастықтары", "kk"),
        ("Велосипедный Алматы", "ru"),
        ("Cycling Almaty", "en"),
        ("", "ru"),
    ],
)
def test_the_original_language_of_old_rows_is_guessed_from_the_letters(text, lang):
    assert c.detect_language(text) == lang


def test_the_readers_version_else_the_original_marked_with_its_language():
    initiative = make_initiative(
        title=RU_TITLE, summary="Отделённая от машин", original_language="ru", title_en=EN_TITLE
    )
    en = c.content(initiative, "title", "en")
    assert (en.text, en.lang, en.is_fallback, en.note) == (EN_TITLE, "en", False, "")
    kk = c.content(initiative, "title", "kk")
    assert (kk.text, kk.lang, kk.is_fallback) == (RU_TITLE, "ru", True)
    with translation.override("en"):
        assert c.content(initiative, "summary").note == "in Russian"
    assert c.versions(initiative, "title") == {"kk": "", "ru": RU_TITLE, "en": EN_TITLE}


def test_a_row_with_only_its_single_field_reads_as_its_original():
    # Written before the columns existed (or by code that sets only `title`).
    initiative = make_initiative(title="Жасыл аула")
    Initiative.objects.filter(pk=initiative.pk).update(original_language="", title_ru="")
    initiative.refresh_from_db()
    t = c.content(initiative, "title", "en")
    assert (t.text, t.lang) == ("Жасыл аула", "ru")


def test_the_tag_marks_a_fallback_with_lang_and_a_note_and_leaves_the_rest_plain():
    initiative = make_initiative(
        title=RU_TITLE, original_language="ru", title_en=EN_TITLE, summary="<b>Сводка</b>"
    )
    assert _render(initiative, "title", "en") == EN_TITLE
    html = _render(initiative, "title", "kk")
    assert html.startswith(f'<span lang="ru">{RU_TITLE}</span> <small class="content-lang">')
    # Escaped like any text; the note is in the reader's language.
    assert "&lt;b&gt;Сводка&lt;/b&gt;" in _render(initiative, "summary", "en")
    assert "in Russian" in _render(initiative, "summary", "en")
    assert "<b>" not in _render(initiative, "summary", "en")


def test_poll_choices_follow_their_poll_language():
    official = OfficialFactory()
    poll = poll_create(
        actor=official,
        data=PollInput(
            title_ru="Какой день?",
            original_language="ru",
            choices=[
                ChoiceInput(label_ru="Суббота", label_en="Saturday"),
                ChoiceInput(label_ru="Воскресенье"),
            ],
        ),
    )
    saturday, sunday = poll.choices.all()
    assert c.content(saturday, "label", "en").text == "Saturday"
    sunday_en = c.content(sunday, "label", "en")
    assert (sunday_en.text, sunday_en.lang) == ("Воскресенье", "ru")
    with translation.override("en"):
        assert poll.title == "Какой день?"  # the model's property asks the same function


# --- Services -----------------------------------------------------------------------------------


def _initiative_input(**over):
    data = {"title": RU_TITLE, "summary": "Отделённая от машин", "category": "transport"}
    data.update(over)
    return InitiativeInput(**data)


def test_a_service_stores_every_version_and_the_original_in_its_column():
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    initiative = initiative_create(
        actor=lead,
        community_id=community.pk,
        data=_initiative_input(title_kk=KK_TITLE, title_en=EN_TITLE, summary_en="Separated"),
    )
    initiative.refresh_from_db()
    assert initiative.original_language == "ru"  # detected: not given
    assert (initiative.title_ru, initiative.title_kk, initiative.title_en) == (
        RU_TITLE,
        KK_TITLE,
        EN_TITLE,
    )
    assert initiative.summary_en == "Separated" and initiative.summary_kk == ""
    # An edit changes one version and keeps the others.
    initiative_update(actor=lead, initiative_id=initiative.pk, changes={"title_en": "Bike lane"})
    initiative.refresh_from_db()
    assert (initiative.title_en, initiative.title_kk) == ("Bike lane", KK_TITLE)


@pytest.mark.parametrize(
    "over",
    [
        {"title_en": "x" * 201},  # a version has the original's limit
        {"summary_kk": "y" * 501},
        {"title_en": "line\nbreak"},
        {"original_language": "fr"},  # refused, not silently another language
    ],
)
def test_a_service_refuses_bad_versions_and_saves_nothing(over):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    with pytest.raises(InvalidInput):
        initiative_create(actor=lead, community_id=community.pk, data=_initiative_input(**over))
    assert not Initiative.objects.exists()


def test_a_poll_needs_its_original_title_only():
    official = OfficialFactory()
    with pytest.raises(InvalidInput, match="Title"):
        poll_create(
            actor=official,
            data=PollInput(
                title_en="Only English",
                original_language="ru",
                choices=[ChoiceInput(label_ru="a"), ChoiceInput(label_ru="b")],
            ),
        )
    poll = poll_create(
        actor=official,
        data=PollInput(
            title_en="Only English", choices=[ChoiceInput(label_en="a"), ChoiceInput(label_en="b")]
        ),
    )
    assert poll.original_language == "en" and poll.title_ru == ""


def test_clean_translations_refuses_unknown_languages_and_fields():
    specs = {"title": c.FieldSpec("Title", 10)}
    assert c.clean_translations({"en": {"title": " Hi "}}, specs=specs, original="ru") == {
        "title_kk": "",
        "title_en": "Hi",
    }
    for bad in ({"fr": {"title": "x"}}, {"en": {"body": "x"}}, {"en": {"title": "x" * 11}}, [1]):
        with pytest.raises(InvalidInput):
            c.clean_translations(bad, specs=specs, original="ru")


# --- Forms and pages ----------------------------------------------------------------------------


def test_the_initiative_form_folds_translations_and_saves_them(client):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    client.force_login(lead)
    page = client.get("/en/initiatives/new/").content.decode()
    assert '<details class="translations"' in page and "Add translations" in page
    assert 'name="title_kk"' in page and "Written in" in page
    data = {
        "community": community.pk,
        "title": RU_TITLE,
        "summary": "Отделённая от машин",
        "original_language": "ru",
        "title_en": EN_TITLE,
        "category": "transport",
        "support_eligibility": "email",
    }
    response = client.post("/en/initiatives/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    initiative = Initiative.objects.get()
    assert (initiative.original_language, initiative.title_en) == ("ru", EN_TITLE)
    # A version too long: the form answers 400 with the folded part open at the error.
    response = client.post("/en/initiatives/new/", {**data, "title_en": "x" * 201})
    assert response.status_code == 400
    assert '<details class="translations" open>' in response.content.decode()


def test_en_pages_show_english_where_given_and_the_russian_marked_where_not(client):
    given = make_initiative(title=RU_TITLE, original_language="ru", title_en=EN_TITLE)
    russian_only = make_initiative(title="Летний кинотеатр во дворе депо")
    page = client.get(f"/en/initiatives/{given.pk}/").content.decode()
    assert f'<h1 id="initiative-title">{EN_TITLE}</h1>' in page
    page = client.get(f"/en/initiatives/{russian_only.pk}/").content.decode()
    assert '<h1 id="initiative-title"><span lang="ru">Летний кинотеатр во дворе депо</span>' in page
    assert '<small class="content-lang">in Russian</small>' in page
    # The same page in Russian: no note, no mark.
    page = client.get(f"/ru/initiatives/{russian_only.pk}/").content.decode()
    assert 'class="content-lang"' not in page.split("<h1", 1)[1].split("</h1>")[0]


def test_a_poll_in_russian_only_is_marked_on_the_english_page(client):
    poll = make_poll()
    Poll.objects.filter(pk=poll.pk).update(original_language="ru", title_en="", title_kk="")
    page = client.get(f"/en/polls/{poll.pk}/").content.decode()
    h1 = page.split('<h1 id="poll-title">', 1)[1].split("</h1>")[0]
    assert h1.startswith(f'<span lang="ru">{poll.title_ru}</span>')
    assert "in Russian" in h1


def test_a_session_page_shows_the_english_title_and_marks_the_russian_description(client):
    session = make_session(
        title="Открытый час с акимом",
        description="Встреча с акимом Ауэзовского района",
        original_language="ru",
        title_en="Open hour with the akim",
    )
    page = client.get(f"/en/dialogue/sessions/{session.pk}/").content.decode()
    assert '<h1 id="session-title">Open hour with the akim</h1>' in page
    assert '<span lang="ru">Встреча с акимом Ауэзовского района</span>' in page
    assert c.content(Session.objects.get(pk=session.pk), "title", "kk").lang == "ru"


# --- The API ------------------------------------------------------------------------------------


def _send(client, method, url, payload, **extra):
    return getattr(client, method)(
        url, json.dumps(payload), content_type="application/json", **extra
    )


def test_the_api_gives_the_language_asked_for_and_every_version(client):
    community = CommunityFactory()
    lead = make_member(community, role="lead")
    client.force_login(lead)
    payload = {
        "community": community.pk,
        "title": RU_TITLE,
        "summary": "Отделённая от машин",
        "category": "transport",
        "original_language": "ru",
        "translations": {"en": {"title": EN_TITLE, "summary": "Separated from cars"}},
    }
    response = _send(client, "post", "/api/v1/initiatives", payload)
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    body = client.get(f"/api/v1/initiatives/{pk}?lang=en").json()
    assert (body["title"], body["title_lang"]) == (EN_TITLE, "en")
    assert body["translations"]["title"] == {"kk": "", "ru": RU_TITLE, "en": EN_TITLE}
    body = client.get(f"/api/v1/initiatives/{pk}", HTTP_ACCEPT_LANGUAGE="kk").json()
    assert (body["title"], body["title_lang"], body["original_language"]) == (RU_TITLE, "ru", "ru")
    # A patch sets one version; "" removes it.
    body = _send(
        client,
        "patch",
        f"/api/v1/initiatives/{pk}?lang=kk",
        {"translations": {"kk": {"title": KK_TITLE}}},
    ).json()
    assert (body["title"], body["title_lang"]) == (KK_TITLE, "kk")


@pytest.mark.parametrize(
    "translations, code",
    [
        ({"en": {"title": "x" * 201}}, 400),
        ({"fr": {"title": "Titre"}}, 400),
        ({"en": {"body": "Body"}}, 400),
        ({"en": "not an object"}, 422),
    ],
)
def test_the_api_refuses_bad_versions_clearly(client, translations, code):
    community = CommunityFactory()
    client.force_login(make_member(community, role="lead"))
    payload = {
        "community": community.pk,
        "title": RU_TITLE,
        "summary": "Сводка",
        "category": "transport",
        "translations": translations,
    }
    response = _send(client, "post", "/api/v1/initiatives", payload)
    assert response.status_code == code, response.content
    assert response["Content-Type"].startswith("application/json")
    assert not Initiative.objects.exists()


def test_poll_api_answers_in_the_language_asked_for(client):
    poll = make_poll()
    body = client.get(f"/api/v1/polls/{poll.pk}?lang=kk").json()
    assert (body["title"], body["title_lang"]) == (poll.title_kk, "kk")
    assert body["choices"][0]["translations"]["label"]["en"] == "Choice 1"
    Poll.objects.filter(pk=poll.pk).update(title_kk="")
    body = client.get(f"/api/v1/polls/{poll.pk}?lang=kk").json()
    assert body["title_lang"] == "ru" and body["translations"]["title"]["kk"] == ""


def test_dossier_titles_have_versions():
    initiative = make_initiative(status="submitted")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from communities.demo import small_pdf
    from communities.services import attachment_add

    lead = initiative.created_by
    attachment_add(
        actor=lead,
        initiative_id=initiative.pk,
        title="Design",
        kind="design",
        upload=SimpleUploadedFile("d.pdf", small_pdf("x"), content_type="application/pdf"),
        translations={"ru": {"title": "Проект"}},
    )
    a = Attachment.objects.get()
    assert a.original_language == "en"
    assert c.content(a, "title", "ru").text == "Проект"
    assert c.content(a, "title", "kk").lang == "en"
    with pytest.raises(InvalidInput):
        attachment_add(
            actor=lead,
            initiative_id=initiative.pk,
            title="Estimate",
            kind="estimate",
            upload=SimpleUploadedFile("e.pdf", small_pdf("x"), content_type="application/pdf"),
            translations={"de": {"title": "Kosten"}},
        )


def test_a_notification_names_the_initiative_in_the_readers_language():
    from notifications.messages import render

    params = {
        "title": RU_TITLE,
        "titles": {"kk": "", "ru": RU_TITLE, "en": EN_TITLE},
        "status": "accepted",
    }
    with translation.override("en"):
        assert EN_TITLE in render("initiative.status", params)[0]
    with translation.override("kk"):
        assert RU_TITLE in render("initiative.status", params)[0]  # no kk version: the original
    # Notifications stored before versions existed keep their one title.
    with translation.override("en"):
        assert RU_TITLE in render("initiative.status", {"title": RU_TITLE, "status": "accepted"})[0]


def test_communities_and_sessions_take_versions_through_the_api(client, citizen, moderator):
    from datetime import UTC, datetime, timedelta

    client.force_login(citizen)
    response = _send(
        client,
        "post",
        "/api/v1/communities",
        {
            "name": "Велосипедный Алматы",
            "kind": "citizen_group",
            "description": "Велосипедисты города.",
            "original_language": "ru",
            "translations": {
                "en": {"name": "Cycling Almaty", "description": "The city's cyclists."}
            },
        },
    )
    assert response.status_code == 201, response.content
    body = client.get(f"/api/v1/communities/{response.json()['id']}?lang=en").json()
    assert (body["display_name"], body["description"]) == ("Cycling Almaty", "The city's cyclists.")
    assert body["name"] == "Велосипедный Алматы" and body["original_language"] == "ru"
    bad = {"name": "Другое", "kind": "citizen_group", "description": "Текст"}
    response = _send(
        client, "post", "/api/v1/communities", {**bad, "translations": {"en": {"name": "x" * 121}}}
    )
    assert response.status_code == 400, response.content

    client.force_login(moderator)
    starts = datetime.now(UTC) + timedelta(days=1)
    session = {
        "title": "Открытый час",
        "language": "ru",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "translations": {"en": {"title": "Open hour"}},
    }
    response = _send(client, "post", "/api/v1/dialogue/sessions?lang=en", session)
    assert response.status_code == 201, response.content
    assert (response.json()["title"], response.json()["title_lang"]) == ("Open hour", "en")
    response = _send(
        client, "post", "/api/v1/dialogue/sessions", {**session, "translations": {"xx": {}}}
    )
    assert response.status_code == 400 and "kk, ru or en" in response.json()["detail"]
    assert Session.objects.count() == 1


def test_the_dashboard_names_new_initiatives_in_the_readers_language(client):
    make_initiative(status="submitted", title=RU_TITLE, original_language="ru", title_en=EN_TITLE)
    client.force_login(OfficialFactory())
    assert EN_TITLE in client.get("/en/dashboard/").content.decode()
    page = client.get("/ru/dashboard/").content.decode()
    assert RU_TITLE in page and EN_TITLE not in page


def test_choose_gives_the_readers_version_else_another_marked():
    versions = {"kk": "", "ru": "Велодорожки", "en": ""}
    assert (c.choose(versions, "en").text, c.choose(versions, "en").lang) == ("Велодорожки", "ru")
    assert c.choose(versions, "en").is_fallback
    assert not c.choose({**versions, "en": "Bike lanes"}, "en").is_fallback
    assert c.choose({}, "kk").text == ""


def test_the_live_dashboard_marks_a_poll_title_shown_in_another_language(client):
    from datetime import timedelta

    from django.utils import timezone

    poll = poll_create(
        actor=OfficialFactory(),
        data=PollInput(
            title_ru="Велодорожки на Абая",
            original_language="ru",
            choices=[ChoiceInput(label_ru="Да"), ChoiceInput(label_ru="Нет")],
            closes_at=timezone.now() + timedelta(days=1),
        ),
    )
    from polls.services import poll_open

    poll_open(actor=poll.created_by, poll_id=poll.pk)
    client.force_login(OfficialFactory())
    page = client.get("/en/dashboard/").content.decode()
    assert '<span lang="ru">Велодорожки на Абая</span>' in page
    assert "in Russian" in page


def test_the_dashboard_names_a_live_session_in_the_readers_language(client):
    make_session(title="Городская среда", original_language="ru", title_en="Urban space")
    client.force_login(OfficialFactory())
    assert "Urban space" in client.get("/en/dashboard/").content.decode()
    assert "Городская среда" in client.get("/ru/dashboard/").content.decode()
