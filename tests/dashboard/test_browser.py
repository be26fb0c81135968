"""A real browser against a real ASGI server: a citizen votes by clicking on the poll page, and
the officials' dashboard and the poll's projector follow within a second without a reload (at
the production tick, 250 ms), and come back with the right totals after the server restarts;
a silent socket is noticed and reopened; a signed-out dashboard says so and stops; a decision
made from the dashboard goes through the API without leaving it.

The server uses this test's PostgreSQL database and Redis (with this process's key prefix), so
what the test writes it reads, and a change made here through the services is pushed by the
server's ticker.
"""

import re
import signal
import time

import pytest

from communities.models import Initiative
from polls.services import vote_cast
from tests.conftest import (
    AsgiServer,
    left_ms,
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


PRODUCTION_TICK_MS = "250"  # civic.settings.base's default


def _server_env(settings, **overrides):
    return {**server_env_sharing(settings), "REALTIME_TICK_MS": PRODUCTION_TICK_MS, **overrides}


def _vote_by_clicking(page, server, poll_id: int, label: str) -> float:
    """A citizen picks `label` on the poll page and presses Vote. Returns when the answer to
    the form came back (the vote is committed before it is sent): the 1 s starts there."""
    page.goto(f"{server.url}/en/polls/{poll_id}/")
    page.get_by_label(label, exact=True).check()
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith(f"/polls/{poll_id}/")
    ) as answer:
        page.get_by_role("button", name="Vote", exact=True).click()
    started = time.monotonic()
    assert answer.value.status == 302, answer.value.status
    return started


def _thanked(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".messages")).to_contain_text("Your vote is counted")


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

    def citizen_page(server, **fields):
        return staff_context(server, UserFactory(**fields)).new_page()

    server = AsgiServer(_server_env(settings)).start()
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

        # A citizen votes by clicking on the poll page: both screens follow within a second
        # of the click, no reload.
        citizen = citizen_page(server, district=district("almaly"))
        started = _vote_by_clicking(citizen, server, poll.pk, "Choice 1")
        expect(total).to_have_text("4", timeout=left_ms(started))
        expect(votes_a).to_have_text("1", timeout=left_ms(started))
        expect(projector_total).to_have_text("4", timeout=left_ms(started))
        expect(projector_a).to_have_text("1", timeout=left_ms(started))
        _thanked(citizen)
        almaly = card.locator(".dash-districts tr", has_text="Almaly District")
        # District figures are re-aggregated at most every couple of seconds while votes
        # come in; the next push (at the latest the resync, 5 s) carries the new aggregate.
        expect(almaly.locator("td")).to_have_text("1", timeout=10_000)
        guests_note = card.locator('[data-field="registered"]')
        expect(guests_note).to_have_text("4")
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
        citizen = citizen_page(server)
        started = _vote_by_clicking(citizen, server, poll.pk, "Choice 1")
        expect(total).to_have_text("6", timeout=left_ms(started))
        expect(votes_a).to_have_text("2", timeout=left_ms(started))
        expect(projector_total).to_have_text("6", timeout=left_ms(started))
        expect(projector_a).to_have_text("2", timeout=left_ms(started))
        _thanked(citizen)
        expect(card.locator('[data-field="eligible"]')).not_to_have_text("0")

        dash.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
        projector.screenshot(path=str(artifacts_dir / "projector.png"))
    finally:
        server.stop()


def _record_decision(item):
    """A decision is confirmed: "Record the decision" unfolds the question, "Yes" records."""
    step = item.locator("details.confirm-step")
    if step.get_attribute("open") is None:
        step.locator("summary").click()
    item.get_by_role("button", name="Yes, record the decision").click()


def test_an_official_decides_from_the_dashboard_and_new_items_arrive(
    staff_context, settings, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    official = OfficialFactory()
    waiting = make_initiative(status="under_review", title="Lights in the Gorky park")
    server = AsgiServer(_server_env(settings)).start()
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
        first.locator("summary").first.click()
        first.get_by_label("New status").select_option("rejected")
        _record_decision(first)
        error = first.locator('[data-field="error"]')
        expect(error).to_be_visible()
        expect(error).to_contain_text("official response")
        first.get_by_label("Official response").fill("Not this year: the park is being rebuilt.")
        _record_decision(first)
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


def test_a_silent_socket_is_reopened_and_a_signed_out_dashboard_stops(
    staff_context, settings, monkeypatch
):
    """The server re-sends the state every REALTIME_RESYNC_SECONDS; the page (told the
    interval by the template) treats twice that without a frame as a dead socket. A server
    that is frozen (SIGSTOP: the TCP connection stays up, no close ever comes) shows as
    reconnecting; once the session is gone the server refuses the socket with 4401, and the
    page says "signed out, reload" and stops knocking."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from importlib import import_module

    from django.conf import settings as django_settings
    from django.contrib.sessions.models import Session
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    official = OfficialFactory()
    server = AsgiServer(_server_env(settings, REALTIME_RESYNC_SECONDS="1")).start()
    try:
        page = staff_context(server, official).new_page()
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws))
        page.goto(f"{server.url}/en/dashboard/")
        root = page.locator("[data-dashboard]")
        expect(root).to_have_attribute("data-resync-seconds", "1")
        text = page.locator("[data-live-text]")
        expect(text).to_have_text("Live", timeout=10_000)

        server.proc.send_signal(signal.SIGSTOP)
        try:
            # Silent for 2 s (twice the interval): reconnecting, figures greyed out.
            expect(text).to_have_text("Reconnecting…", timeout=5_000)
            expect(root).to_have_class(re.compile("is-stale"))
        finally:
            server.proc.send_signal(signal.SIGCONT)
        expect(text).to_have_text("Live", timeout=20_000)
        assert len(sockets) >= 2  # a new socket, not the old one woken up

        # Signed out (the session expired or was revoked): from the database and the cache.
        store = import_module(django_settings.SESSION_ENGINE).SessionStore
        for key in Session.objects.values_list("session_key", flat=True):
            store(key).delete()
        server.stop()
        expect(text).to_have_text("Reconnecting…", timeout=5_000)
        server.start()
        expect(text).to_have_text("Signed out. Reload the page to sign in again.", timeout=20_000)
        expect(page.locator("[data-live-indicator]")).to_have_class(re.compile("is-stopped"))
        # And no more sockets: a retry would come within the longest backoff (15 s).
        with pytest.raises(PlaywrightTimeout):
            page.wait_for_event("websocket", timeout=16_000)
    finally:
        server.stop()
