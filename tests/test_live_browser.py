"""Live pages in a real browser against a real ASGI server: the walls (the
poll projector, the Q&A presenter screen) fit 1280×720 and 1920×1080 without scrolling with
12 choices or a full question queue, the leading result stays in view and the presenter
shows the QR code to join; an /en/ dashboard stays English after a live update, and the live
fragments are swapped in on the poll page (the old JS renderers are gone)."""

import contextlib

import pytest

from dialogue.services import question_ask, question_moderate
from polls.services import vote_cast
from tests.conftest import AsgiServer, server_env_sharing, session_cookie
from tests.factories import (
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    choice_ids,
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

SIZES = [(1280, 720), (1920, 1080)]
FITS = "document.scrollingElement.scrollHeight <= window.innerHeight"


@pytest.fixture
def context_for(browser):
    contexts = []

    def make(server, user=None, **options):
        context = browser.new_context(**options)
        if user is not None:
            context.add_cookies([session_cookie(user, server.url)])
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


IN_VIEW = (
    "sel => { const el = document.querySelector(sel); if (!el) return 'missing';"
    " const r = el.getBoundingClientRect();"
    " return (r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0)"
    " || [r.top, r.bottom, window.innerHeight].join(' '); }"
)


def _in_view(page, selector: str):
    """True, or the element's box (for the failure message). A live swap may be replacing the
    element at the moment of asking: it is asked again for up to 5 s before the answer stands."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"sel => ({IN_VIEW})(sel) === true", arg=selector, timeout=5000)
    return page.evaluate(IN_VIEW, selector)


def test_walls_fit_one_screen(context_for, settings, monkeypatch, artifacts_dir):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    official = OfficialFactory()
    poll = make_poll(official=official, choices=12)
    ids = choice_ids(poll)
    for i in range(5):  # the last choice leads: it is at the bottom of the list
        vote_cast(poll_id=poll.pk, choice_ids=[ids[-1] if i < 3 else ids[i]], user=UserFactory())
    moderator = ModeratorFactory()
    session = make_session(actor=moderator, moderation="post")
    for i in range(12):
        question = question_ask(
            actor=UserFactory(),
            session_id=session.pk,
            text=f"Question {i}: when will the trolleybus line along Abay avenue be renewed?",
        )
        if i == 0:
            question_moderate(actor=moderator, question_id=question.pk, action="pin")

    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        for width, height in SIZES:
            page = context_for(
                server, official, viewport={"width": width, "height": height}
            ).new_page()
            page.goto(f"{server.url}/en/dashboard/polls/{poll.pk}/projector/")
            expect(page.locator("[data-live-indicator]")).to_have_text("Live", timeout=10_000)
            assert page.evaluate(FITS), (
                width,
                height,
                page.evaluate("document.scrollingElement.scrollHeight"),
            )
            leading = f'.projector-row.is-leading[data-choice="{ids[-1]}"]'
            expect(page.locator(leading)).to_have_count(1)
            assert _in_view(page, leading) is True, (width, height, _in_view(page, leading))
            assert _in_view(page, "[data-qr]") is True, (width, height)
            page.screenshot(path=str(artifacts_dir / f"projector-12-{width}x{height}.png"))

            page = context_for(server, viewport={"width": width, "height": height}).new_page()
            page.goto(f"{server.url}/en/dialogue/sessions/{session.pk}/presenter/")
            assert page.evaluate(FITS), (
                width,
                height,
                page.evaluate("document.scrollingElement.scrollHeight"),
            )
            assert _in_view(page, ".presenter-qr svg") is True, (width, height)
            assert _in_view(page, ".presenter-pinned") is True, (width, height)
            page.screenshot(path=str(artifacts_dir / f"presenter-{width}x{height}.png"))
    finally:
        server.stop()


def test_an_english_dashboard_stays_english_and_the_poll_page_swaps(
    context_for, settings, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    official = OfficialFactory()
    poll = make_poll(official=official)
    a = choice_ids(poll)[0]
    make_initiative(status="under_review", title="Shade over the bus stops on Abay avenue")
    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        dash = context_for(server, official, viewport={"width": 1366, "height": 900}).new_page()
        dash.goto(f"{server.url}/en/dashboard/")
        expect(dash.locator("[data-live-indicator]")).to_have_text("Live", timeout=10_000)
        assert dash.locator('script[src*="dashboard-live"]').count() == 0
        reader = context_for(server, viewport={"width": 1366, "height": 900}).new_page()
        reader.goto(f"{server.url}/en/polls/{poll.pk}/")
        expect(reader.locator("[data-live-indicator]")).to_have_text("Live", timeout=10_000)
        assert reader.locator('script[src*="live-results"]').count() == 0
        dash.evaluate("document.getElementById('dash-live').setAttribute('data-old', '1')")
        reader.evaluate(
            f"document.getElementById('poll-{poll.pk}-results').setAttribute('data-old', '1')"
        )

        vote_cast(poll_id=poll.pk, choice_ids=[a], user=UserFactory())

        card = dash.locator(f'[data-poll-id="{poll.pk}"]')
        expect(card.locator('[data-field="total"]')).to_have_text("1", timeout=5_000)
        # A new element (the fragment), in English: the poll's title, the status labels.
        assert dash.locator("#dash-live[data-old]").count() == 0
        expect(card.locator("h3")).to_have_text("Most pressing problems of Almaty")
        expect(dash.locator("#dash-live .badge-under_review").first).to_have_text("Under review")
        assert "Велосипед" not in dash.locator("#dash-live").inner_text()

        results = reader.locator(f"#poll-{poll.pk}-results")
        expect(results.locator("[data-total]")).to_have_text("1", timeout=5_000)
        assert reader.locator(f"#poll-{poll.pk}-results[data-old]").count() == 0
        expect(results.locator(f'[data-choice="{a}"] .bar-label')).to_have_text("Choice 1")
        width = results.locator(f'[data-choice="{a}"] .bar-fill').evaluate("el => el.style.width")
        assert width == "100%"
        # One polite region for live results, filled by the server's sentence (throttled).
        assert reader.locator("#live-announcer[aria-live=polite]").count() == 1
    finally:
        server.stop()


def test_initiative_and_budget_pages_swap_their_live_fragments(context_for, settings, monkeypatch):
    """A support and a budget ballot made elsewhere reach the open pages as new fragments
    (the old JS renderers are gone), written the way the page's language writes them."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    from budgets.services import ballot_cast
    from communities.services import support_add
    from tests.budgets.test_views import ids, make_round

    initiative = make_initiative(status="submitted", title="Benches along the Esentai river")
    budget_round = make_round(results_visibility="live")
    a = ids(budget_round)[0]
    server = AsgiServer(server_env_sharing(settings)).start()
    try:
        page = context_for(server, viewport={"width": 1366, "height": 900}).new_page()
        page.goto(f"{server.url}/en/initiatives/{initiative.pk}/")
        expect(page.locator(".support-box [data-live-indicator]")).to_be_visible(timeout=10_000)
        assert page.locator('script[src*="initiative-live"]').count() == 0
        box = page.locator(f"#initiative-{initiative.pk}-support")
        before = int(box.locator("[data-supports]").inner_text())
        box.evaluate("el => el.setAttribute('data-old', '1')")
        support_add(actor=UserFactory(), initiative_id=initiative.pk)
        expect(box.locator("[data-supports]")).to_have_text(str(before + 1), timeout=5_000)
        assert page.locator(f"#initiative-{initiative.pk}-support[data-old]").count() == 0

        page.goto(f"{server.url}/en/budgets/{budget_round.pk}/")
        expect(page.locator(".budget-live [data-live-indicator]")).to_be_visible(timeout=10_000)
        live = page.locator(f"#round-{budget_round.pk}-live")
        live.evaluate("el => el.setAttribute('data-old', '1')")
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=[a])
        expect(live.locator("[data-ballots]")).to_have_text("1", timeout=5_000)
        assert page.locator(f"#round-{budget_round.pk}-live[data-old]").count() == 0
        expect(live.locator(f'[data-project="{a}"] [data-votes]')).to_have_text("1")
    finally:
        server.stop()
