"""A real browser on /en/ pages: English where the author gave it; the Russian original,
marked lang="ru" with its "in Russian" note, where not; the form's translations folded under
"Add translations" until opened. axe finds nothing on either page (the note's contrast, the
lang attribute). Screenshots go to the artifacts directory."""

import pytest

from tests.conftest import AsgiServer, server_env_sharing, session_cookie
from tests.factories import CommunityFactory, make_initiative, make_member

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.server,
    pytest.mark.axe,
    pytest.mark.django_db(transaction=True),
]


def test_english_pages_mark_russian_originals(browser, settings, artifacts_dir, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    from tests.test_accessibility import AXE, _axe

    community = CommunityFactory(name="Велосипедный Алматы", name_en="Cycling Almaty")
    lead = make_member(community, role="lead")
    given = make_initiative(
        community=community,
        author=lead,
        title="Защищённая велодорожка по проспекту Абая",
        title_en="A protected bike lane along Abay Avenue",
        summary="Отделённая от машин велодорожка от Розыбакиева до Достык.",
        original_language="ru",
    )
    russian = make_initiative(
        community=community,
        author=lead,
        title="Ночной велопробег по перекрытому Аль-Фараби",
        summary="Раз в месяц перекрывать проспект для велосипедистов ночью.",
    )
    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
        context.add_init_script(path=str(AXE))
        context.add_cookies([session_cookie(lead, server.url)])
        page = context.new_page()

        assert _axe(page, f"{server.url}/en/initiatives/{given.pk}/") == []
        title = page.locator("#initiative-title")
        expect(title).to_have_text("A protected bike lane along Abay Avenue")
        expect(title.locator("[lang]")).to_have_count(0)
        # The summary was not translated: Russian, marked, with its note.
        lead_text = page.locator("p.lead")
        expect(lead_text.locator('span[lang="ru"]')).to_have_text(
            "Отделённая от машин велодорожка от Розыбакиева до Достык."
        )
        expect(lead_text.locator(".content-lang")).to_have_text("in Russian")
        page.screenshot(path=str(artifacts_dir / "content-en-translated-390.png"), full_page=True)

        assert _axe(page, f"{server.url}/en/initiatives/{russian.pk}/") == []
        expect(title.locator('span[lang="ru"]')).to_have_text(
            "Ночной велопробег по перекрытому Аль-Фараби"
        )
        note = title.locator(".content-lang")
        expect(note).to_have_text("in Russian")
        # The note is small beside the heading, on its line or wrapped under it, never hidden.
        assert note.bounding_box()["height"] < title.bounding_box()["height"]
        page.screenshot(path=str(artifacts_dir / "content-en-russian-390.png"), full_page=True)

        # The form: the original and "Written in"; the versions folded until asked for.
        assert _axe(page, f"{server.url}/en/initiatives/new/") == []
        details = page.locator("details.translations")
        expect(details).to_be_visible()
        expect(page.locator("#id_title_en")).to_be_hidden()
        details.locator("summary").click()
        expect(page.locator("#id_title_en")).to_be_visible()
        expect(page.locator("label[for=id_title_en]")).to_contain_text("English")
        page.screenshot(path=str(artifacts_dir / "content-en-form-390.png"), full_page=True)
        context.close()
    finally:
        server.stop()
