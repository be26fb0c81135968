"""A real browser against a real ASGI server (production settings: CSP, collected static files):
on a phone, a citizen ticks projects until the total is over the budget and sees the refusal
before sending anything (the button disabled), unticks one and votes; the akimat dashboard
shows the round's ballots and turnout live when a ballot comes in from another client.

The server uses this test's PostgreSQL database and Redis (with this process's key prefix).
"""

from __future__ import annotations

import time

import pytest

from budgets.models import BudgetBallot
from budgets.services import forget_round_meta
from tests.budgets.test_views import ids, make_round
from tests.conftest import AsgiServer, left_ms, server_env_sharing, session_cookie
from tests.factories import OfficialFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.server,
    pytest.mark.django_db(transaction=True),
]

PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def _forget_round_meta():
    forget_round_meta()
    yield
    forget_round_meta()


@pytest.fixture
def server(settings):
    running = AsgiServer({**server_env_sharing(settings), "REALTIME_TICK_MS": "250"}).start()
    yield running
    running.stop()


@pytest.fixture
def signed_in(browser):
    contexts = []

    def make(server, user, **options):
        context = browser.new_context(**options)
        context.add_cookies([session_cookie(user, server.url)])
        contexts.append(context)
        page = context.new_page()
        page.csp_errors = []
        page.on(
            "console",
            lambda m: (
                page.csp_errors.append(m.text) if "Content Security Policy" in m.text else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()


def test_on_a_phone_the_refusal_shows_before_submitting(
    server, signed_in, artifacts_dir, monkeypatch
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    budget_round = make_round()  # 400 M + 700 M + 900 M over a budget of 1 850 M
    citizen = UserFactory()
    page = signed_in(server, citizen, viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{server.url}/en/budgets/{budget_round.pk}/")
    spent = page.locator("[data-budget-spent]")
    refusal = page.locator("[data-budget-refusal]")
    submit = page.get_by_role("button", name="Cast my ballot")
    expect(spent).to_have_text("Spent 0 ₸ of 1,850,000,000 ₸")
    # Nothing picked yet: what to do is said, and the button waits.
    expect(page.locator("[data-budget-hint]")).to_have_text("Not enough projects: pick at least 1.")
    expect(page.get_by_role("button", name="Cast my ballot")).to_be_disabled()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("A playground").check()
    expect(spent).to_have_text("Spent 400,000,000 ₸ of 1,850,000,000 ₸")
    page.get_by_label("A bike lane").check()
    expect(spent).to_have_text("Spent 1,100,000,000 ₸ of 1,850,000,000 ₸")
    expect(refusal).to_be_hidden()
    expect(submit).to_be_enabled()

    # The third project takes the total over the budget: refused on the page, before sending.
    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" else None)
    page.get_by_label("A park").check()
    expect(spent).to_have_text("Spent 2,000,000,000 ₸ of 1,850,000,000 ₸")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Over the budget by 150,000,000 ₸")
    expect(submit).to_be_disabled()
    # The running total and the refusal stay in sight on the phone's screen.
    box = refusal.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    page.screenshot(path=str(artifacts_dir / "budget-ballot-over-phone.png"))
    page.keyboard.press("Enter")  # nothing can send it
    page.wait_for_timeout(300)
    assert requests == []
    assert not BudgetBallot.objects.exists()

    # Untick one: within the budget again, and the ballot goes through.
    page.get_by_label("A bike lane").uncheck()
    expect(refusal).to_be_hidden()
    expect(spent).to_have_text("Spent 1,300,000,000 ₸ of 1,850,000,000 ₸")
    submit.click()
    expect(page.locator(".messages")).to_contain_text("Thank you! Your ballot is counted.")
    ballot = BudgetBallot.objects.get(round=budget_round)
    a, _b, c = ids(budget_round)
    assert sorted(ballot.picks.values_list("project_id", flat=True)) == sorted([a, c])
    assert page.csp_errors == []


def test_the_dashboard_shows_the_rounds_turnout_live(server, signed_in, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    official = OfficialFactory()
    budget_round = make_round(official=official, results_visibility="live")
    dash = signed_in(server, official, viewport={"width": 1280, "height": 900})
    dash.goto(f"{server.url}/en/dashboard/")
    expect(dash.locator("[data-live-text]").first).to_have_text("Live", timeout=10_000)
    card = dash.locator(f'[data-round-id="{budget_round.pk}"]')
    ballots = card.locator('[data-field="ballots"]')
    expect(ballots).to_have_text("0")
    turnout_before = card.locator('[data-field="turnout"]').inner_text()

    # The round's own page is live too.
    watcher = signed_in(server, UserFactory(), viewport=PHONE)
    watcher.goto(f"{server.url}/en/budgets/{budget_round.pk}/")
    expect(watcher.locator("[data-budget-live] [data-live-indicator]")).to_be_visible(
        timeout=10_000
    )
    page_ballots = watcher.locator("[data-ballots]")
    expect(page_ballots).to_have_text("0")

    # Another client votes on its phone.
    voter = signed_in(server, UserFactory(), viewport=PHONE)
    voter.goto(f"{server.url}/en/budgets/{budget_round.pk}/")
    voter.get_by_label("A park").check()
    with voter.expect_response(lambda r: r.request.method == "POST") as answer:
        voter.get_by_role("button", name="Cast my ballot").click()
    started = time.monotonic()
    assert answer.value.status == 302
    expect(ballots).to_have_text("1", timeout=left_ms(started, 3000))
    expect(card.locator('[data-field="turnout"]')).not_to_have_text(turnout_before)
    expect(page_ballots).to_have_text("1", timeout=left_ms(started, 3000))
    park = ids(budget_round)[2]
    expect(watcher.locator(f'[data-project="{park}"] [data-votes]')).to_have_text("1")
    assert dash.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert dash.csp_errors == [] and watcher.csp_errors == []
