"""A real browser against a real ASGI server: the officials' dashboard and a poll's projector
follow votes within a second without a reload, and come back with the right totals after the
server restarts; a decision made from the dashboard goes through the API without leaving it.

The server uses this test's PostgreSQL database and Redis (with this process's key prefix), so
what the test writes it reads, and a change made here through the services is pushed by the
server's ticker.
"""

import re
import time

import pytest

from communities.models import Initiative
from polls.services import vote_cast
from tests.conftest import (
    AsgiServer,
    api_vote,
    left_ms,
    logged_in_http,
    server_env_sharing,
    session_cookie,
)
from tests.factories import (
    OfficialFactory,
    UserFactory,
    choice_ids,
    district,
    make_initiative,
    make_poll,
    make_session,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
]


def _vote(http, poll_id: int, choice: int) -> None:
    response = api_vote(http, poll_id, choice)
    assert response.status_code == 201, response.text


@pytest.fixture
def staff_context(browser):
    contexts = []

    def make(server, user, **options):
        context = browser.new_context(**options)
        context.add_cookies([session_cookie(user, server.url)])
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


def test_dashboard_and_projector_follow_votes_and_a_restart(
    staff_context, settings, artifacts_dir, monkeypatch
):
    # Playwright's sync API keeps an event loop on this thread; the ORM calls here are plain
    # blocking calls between its steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    official = OfficialFactory()
    poll = make_poll(official=official, minutes=120)
    a, b, c = choice_ids(poll)
    for _ in range(3):
        vote_cast(poll_id=poll.pk, choice_ids=[b], user=UserFactory(district=district("medeu")))
    make_initiative(status="under_review", title="Shade over the bus stops on Abay avenue")
    make_initiative(status="under_review", title="A skate park in Sairan")
    make_session(title="Open hour with the akim of Auezov district")

    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        context = staff_context(server, official, viewport={"width": 1440, "height": 1000})
        dash = context.new_page()
        dash.goto(f"{server.url}/en/dashboard/")
        indicator = dash.locator("[data-live-indicator]")
        expect(indicator).to_have_text("Live", timeout=10_000)
        card = dash.locator(f'[data-poll-id="{poll.pk}"]')
        total = card.locator('[data-field="total"]')
        votes_a = card.locator(f'[data-choice="{a}"] [data-field="votes"]')
        expect(total).to_have_text("3")

        wall = staff_context(server, official, viewport={"width": 1600, "height": 900})
        projector = wall.new_page()
        projector.goto(f"{server.url}/kk/dashboard/polls/{poll.pk}/projector/")
        expect(projector.locator("h1")).to_have_text("Алматының өзекті мәселелері")
        projector_live = projector.locator("[data-live-indicator]")
        expect(projector_live).to_be_visible(timeout=10_000)
        expect(projector_live).not_to_have_class(re.compile("is-reconnecting"))
        projector_total = projector.locator("[data-total]")
        projector_a = projector.locator(f'[data-choice="{a}"] [data-votes]')
        expect(projector_total).to_have_text("3")

        # A citizen votes through the API: both screens follow within a second, no reload.
        voter = logged_in_http(server.url, UserFactory(district=district("almaly")))
        _vote(voter, poll.pk, a)
        started = time.monotonic()
        expect(total).to_have_text("4", timeout=left_ms(started))
        expect(votes_a).to_have_text("1", timeout=left_ms(started))
        expect(projector_total).to_have_text("4", timeout=left_ms(started))
        expect(projector_a).to_have_text("1", timeout=left_ms(started))
        almaly = card.locator(".dash-districts tr", has_text="Almaly District")
        expect(almaly.locator("td")).to_have_text("1")
        assert dash.evaluate("performance.getEntriesByType('navigation').length") == 1

        # The server restarts on the same port. Meanwhile a vote is cast (straight through the
        # services): the screens say they are reconnecting, grey out the old figures, and
        # come back live with the totals of the database.
        server.stop()
        expect(indicator).to_have_text("Reconnecting…", timeout=5_000)
        expect(dash.locator("[data-dashboard]")).to_have_class("dash is-stale")
        expect(projector_live).to_have_class(re.compile("is-reconnecting"), timeout=5_000)
        vote_cast(poll_id=poll.pk, choice_ids=[c], user=UserFactory())
        server.start()
        expect(indicator).to_have_text("Live", timeout=20_000)
        expect(total).to_have_text("5")
        expect(card.locator(f'[data-choice="{c}"] [data-field="votes"]')).to_have_text("1")
        expect(projector_live).not_to_have_class(re.compile("is-reconnecting"), timeout=20_000)
        expect(projector_total).to_have_text("5")

        # And after the restart a new vote arrives within a second again.
        _vote(logged_in_http(server.url, UserFactory()), poll.pk, a)
        started = time.monotonic()
        expect(total).to_have_text("6", timeout=left_ms(started))
        expect(votes_a).to_have_text("2", timeout=left_ms(started))
        expect(projector_total).to_have_text("6", timeout=left_ms(started))
        expect(projector_a).to_have_text("2", timeout=left_ms(started))
        expect(card.locator('[data-field="eligible"]')).not_to_have_text("0")

        dash.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
        projector.screenshot(path=str(artifacts_dir / "projector.png"))
    finally:
        server.stop()


def test_an_official_decides_from_the_dashboard_and_new_items_arrive(
    staff_context, settings, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    official = OfficialFactory()
    waiting = make_initiative(status="under_review", title="Lights in the Gorky park")
    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        page = staff_context(server, official).new_page()
        page.goto(f"{server.url}/en/dashboard/")
        expect(page.locator("[data-live-text]")).to_have_text("Live", timeout=10_000)
        queue = page.locator("[data-queue]")

        # A new initiative reaches the queue while the page is open.
        newcomer = make_initiative(status="under_review", title="Drinking fountains in Medeu")
        item = queue.locator(f'[data-initiative-id="{newcomer.pk}"]')
        expect(item).to_be_visible(timeout=3_000)
        expect(item.locator('[data-field="status"]')).to_have_text("Under review")

        # Decide the first one without leaving the page: no response is refused first.
        first = queue.locator(f'[data-initiative-id="{waiting.pk}"]')
        first.locator("summary").click()
        first.get_by_label("New status").select_option("rejected")
        first.get_by_role("button").click()
        error = first.locator('[data-field="error"]')
        expect(error).to_be_visible()
        expect(error).to_contain_text("official response")
        first.get_by_label("Official response").fill("Not this year: the park is being rebuilt.")
        first.get_by_role("button").click()
        expect(page.locator("[data-flash]")).to_contain_text("Lights in the Gorky park")
        expect(first).to_have_count(0, timeout=3_000)
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

        waiting.refresh_from_db()
        assert waiting.status == Initiative.Status.REJECTED
        assert waiting.official_response == "Not this year: the park is being rebuilt."
        assert waiting.responded_by == official
        expect(page.locator('[data-count="rejected"]')).to_have_text("1")
    finally:
        server.stop()
