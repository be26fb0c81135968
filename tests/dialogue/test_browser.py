"""A real browser against a real ASGI server: a question asked on the session page reaches
the presenter screen within a second, and upvotes clicked in citizens' pages re-sort it within
a second, no reload of the presenter.

The server uses this test's PostgreSQL database and Redis, so what the test writes it reads,
and a change made here through the services is pushed by the server's ticker.
"""

import re
import time

import pytest
from django.db import connections

from dialogue import services
from dialogue.models import Question
from tests.conftest import AsgiServer, left_ms, server_env_sharing, session_cookie
from tests.factories import UserFactory, make_session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
]


def test_question_reaches_presenter_and_upvotes_resort_it_live(
    browser, settings, artifacts_dir, monkeypatch
):
    # Playwright's sync API keeps an event loop on this thread; the ORM calls here are plain
    # blocking calls between its steps, which is what Django's guard is there to flag.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    session = make_session(title="Urban Dialogue", language="ru", minutes=180)
    citizen = UserFactory(display_name="Айгерим")
    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        context_a = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
        context_a.add_cookies([session_cookie(citizen, server.url)])
        page_a = context_a.new_page()
        page_a.goto(f"{server.url}/ru/dialogue/sessions/{session.pk}/")

        context_b = browser.new_context(viewport={"width": 1280, "height": 720})
        page_b = context_b.new_page()
        page_b.goto(f"{server.url}/en/dialogue/sessions/{session.pk}/presenter/")
        live = page_b.locator("[data-live-indicator]")
        expect(live).to_be_visible(timeout=10_000)
        expect(live).not_to_have_class(re.compile("is-reconnecting"))
        items = page_b.locator("#list-presenter .presenter-item")
        expect(items).to_have_count(0)

        # Page A asks; page B shows it within a second of the submit, without a reload.
        first_text = "Когда продлят велодорожку по Абая?"
        page_a.locator("#id_text").fill(first_text)
        started = time.monotonic()
        page_a.locator("form.ask-form button[type=submit]").click()
        expect(items.first).to_contain_text(first_text, timeout=left_ms(started))
        elapsed_ask = time.monotonic() - started
        page_a.wait_for_load_state()
        expect(page_a.locator("#list-published")).to_contain_text(first_text)

        # A second question, then two citizens upvote it in their pages: the presenter re-sorts.
        second_text = "Почему нет табло на остановках?"
        second = services.question_ask(actor=UserFactory(), session_id=session.pk, text=second_text)
        expect(items.nth(1)).to_contain_text(second_text, timeout=5_000)
        expect(items.first).to_contain_text(first_text)
        context_c = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
        context_c.add_cookies([session_cookie(UserFactory(), server.url)])
        page_c = context_c.new_page()
        page_c.goto(f"{server.url}/ru/dialogue/sessions/{session.pk}/")

        def upvote_button(page):
            row = page.locator(f"#list-published #question-{second.pk}")
            return row.locator("form:not([hidden]) button.upvote[aria-pressed=false]")

        # Page A (whose own question is first) upvotes the second one: it moves to the top.
        button = upvote_button(page_a)
        started = time.monotonic()
        button.click()
        expect(items.first).to_contain_text(second_text, timeout=left_ms(started))
        expect(items.nth(1)).to_contain_text(first_text, timeout=left_ms(started))
        elapsed_resort = time.monotonic() - started
        page_a.wait_for_load_state()
        # Page C's upvote shows on the presenter within a second too.
        button = upvote_button(page_c)
        expect(button).to_be_visible(timeout=5_000)
        started = time.monotonic()
        button.click()
        upvotes = items.first.locator("[data-field=upvotes]")
        expect(upvotes).to_have_text("2", timeout=left_ms(started))
        assert Question.objects.get(pk=second.pk).upvotes_count == 2
        # Page A's list follows too, most upvoted first, and shows her upvote as given.
        expect(page_a.locator("#list-published .question").first).to_contain_text(
            second_text, timeout=2_000
        )
        expect(
            page_a.locator(f"#question-{second.pk} button.upvote[aria-pressed=true]")
        ).to_be_visible()
        # Her own question offers her no upvote button.
        own_row = page_a.locator(f"#list-published .question:has-text('{first_text}')")
        expect(own_row.locator("button.upvote")).to_have_count(2)  # rendered, but hidden
        expect(own_row.locator("button.upvote:visible")).to_have_count(0)
        assert elapsed_ask < 1 and elapsed_resort < 1

        page_a.screenshot(path=str(artifacts_dir / "dialogue-session-phone.png"), full_page=True)
        page_b.screenshot(path=str(artifacts_dir / "dialogue-presenter.png"))
        context_a.close()
        context_b.close()
        context_c.close()
    finally:
        server.stop()
        # With Playwright's loop on this thread, the ORM above used a connection of its own
        # (Django keeps them per context then); give it back, or the test database stays busy.
        connections.close_all()
