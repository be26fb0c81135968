"""A real browser against a real server, for the journeys of issue 13: the live home page
(bug-free cards), the vote form that limits ticks as you go and shows your ballot (bug 6),
confirmed poll closing and no "Live" on a closed poll (bug 3), the support box per status and
support in place (bugs 4, 9), upvotes in place (bug 9), notification links in the reader's
language (bug 5). Screenshots go to var/test-artifacts/.
"""

import pytest
from django.utils import translation

from notifications.services import notification_store
from polls.models import Poll
from polls.services import vote_cast
from tests.conftest import AsgiServer, server_env_sharing, session_cookie
from tests.factories import (
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


@pytest.fixture
def server(settings, monkeypatch):
    # Playwright's sync API keeps an event loop on this thread; the ORM calls between its
    # steps are plain blocking calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    server = AsgiServer(server_env_sharing(settings)).start()
    yield server
    server.stop()


def _page(browser, server, user=None, *, phone=False, locale="en-US"):
    viewport = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
    context = browser.new_context(viewport=viewport, locale=locale)
    if user is not None:
        context.add_cookies([session_cookie(user, server.url)])
    return context, context.new_page()


def _navigations(page) -> int:
    return page.evaluate("performance.getEntriesByType('navigation').length")


def test_home_shows_live_cards_and_the_vote_form_limits_ticks(browser, server, artifacts_dir):
    from playwright.sync_api import expect

    poll = make_poll(kind="multiple", max_choices=3, choices=5, allow_vote_change=True)
    for _ in range(2):
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    make_initiative(title="Shade trees on Abai avenue")
    make_session(title="Ask the akim about parks", starts_in=90)
    citizen = UserFactory()
    context, page = _page(browser, server, citizen, phone=True)
    page.goto(f"{server.url}/en/")
    card = page.locator(f"#poll-{poll.pk}-card")
    expect(card).to_contain_text("Most pressing problems of Almaty")
    expect(card.locator("[data-total]")).to_have_text("2")
    expect(page.locator(".initiative-card")).to_contain_text("Shade trees on Abai avenue")
    expect(page.locator(".session-card")).to_contain_text("Ask the akim about parks")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(artifacts_dir / "home-en-phone.png"), full_page=True)

    card.get_by_role("link", name="Vote").click()
    page.wait_for_url(f"**/en/polls/{poll.pk}/")
    boxes = page.locator('form.vote-form input[name="choice"]')
    for i in range(3):
        boxes.nth(i).check()
    # The fourth and fifth cannot be ticked any more, and the form says why.
    expect(boxes.nth(3)).to_be_disabled()
    expect(boxes.nth(4)).to_be_disabled()
    expect(page.locator("[data-choice-count]")).to_contain_text("3 of 3 chosen")
    boxes.nth(2).uncheck()
    expect(boxes.nth(3)).to_be_enabled()
    expect(page.locator("[data-choice-count]")).to_contain_text("2 of 3 chosen")
    page.locator("form.vote-form button[type=submit]").click()
    page.wait_for_load_state()
    ballot = page.locator("[data-your-ballot]")
    expect(ballot).to_contain_text("Choice 1")
    expect(ballot).to_contain_text("Choice 2")
    expect(page.get_by_text("Thank you", exact=False)).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "poll-your-ballot-phone.png"), full_page=True)
    context.close()


def test_closing_a_poll_asks_first_and_a_closed_poll_is_not_live(browser, server, artifacts_dir):
    from playwright.sync_api import expect

    official = OfficialFactory()
    poll = make_poll(official=official)
    context, page = _page(browser, server, official)
    page.goto(f"{server.url}/en/polls/manage/{poll.pk}/")
    page.locator("summary", has_text="Close now").click()
    confirm = page.get_by_role("button", name="Yes, close the poll")
    expect(confirm).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "poll-close-confirm.png"))
    poll.refresh_from_db()
    assert poll.status == Poll.Status.OPEN  # one click only asked
    confirm.click()
    expect(page.locator(".messages")).to_contain_text("The poll is closed")
    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED
    page.goto(f"{server.url}/en/polls/{poll.pk}/")
    expect(page.locator("#results-title")).to_have_text("Final result")
    page.wait_for_timeout(300)  # a live script, if any, would have shown the indicator by now
    expect(page.locator("[data-live-indicator]")).to_have_count(0)
    expect(page.get_by_text("Live", exact=True)).to_have_count(0)
    context.close()


def test_support_acts_in_place_and_the_box_says_what_the_status_means(browser, server):
    from playwright.sync_api import expect

    gathering = make_initiative(title="Drinking fountains")
    accepted = make_initiative(title="Tram depot", status="accepted")
    context, page = _page(browser, server, UserFactory())
    page.goto(f"{server.url}/en/initiatives/{accepted.pk}/")
    box = page.locator(".support-box")
    expect(box).to_contain_text("The akimat accepted this initiative.")
    expect(box).not_to_contain_text("supporters needed for review")

    page.goto(f"{server.url}/en/initiatives/{gathering.pk}/")
    button = page.locator("#support-region button.toggle-button")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.click()
    expect(page.locator("#support-region button.toggle-button")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("[data-supports]")).to_have_text("1")
    assert _navigations(page) == 1  # no reload
    pressed = page.locator("#support-region button.toggle-button")
    colours = pressed.evaluate("b => getComputedStyle(b).backgroundColor")
    pressed.click()
    expect(page.locator("#support-region button.toggle-button")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.locator("[data-supports]")).to_have_text("0")
    unpressed = page.locator("#support-region button.toggle-button").evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    assert colours != unpressed  # pressed and not pressed look different
    assert _navigations(page) == 1
    context.close()


def test_upvote_acts_in_place(browser, server, artifacts_dir):
    from playwright.sync_api import expect

    from dialogue import services

    session = make_session(title="Transport hour", starts_in=-5)
    question = services.question_ask(
        actor=UserFactory(), session_id=session.pk, text="When will route 12 run again?"
    )
    context, page = _page(browser, server, UserFactory(), phone=True)
    page.goto(f"{server.url}/en/dialogue/sessions/{session.pk}/")
    row = page.locator(f"#question-{question.pk}")
    row.locator("form:not([hidden]) button.upvote").click()
    row = page.locator(f"#question-{question.pk}")
    expect(row.locator("form:not([hidden]) button.upvote")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(row.locator('[data-field="upvotes"]')).to_have_text("1")
    assert _navigations(page) == 1
    page.screenshot(path=str(artifacts_dir / "qa-upvoted-phone.png"), full_page=True)
    row.locator("form:not([hidden]) button.upvote").click()
    row = page.locator(f"#question-{question.pk}")
    expect(row.locator("form:not([hidden]) button.upvote")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(row.locator('[data-field="upvotes"]')).to_have_text("0")
    assert _navigations(page) == 1
    context.close()


def test_notification_links_keep_the_readers_language(browser, server):
    from playwright.sync_api import expect

    initiative = make_initiative()
    reader = UserFactory()
    with translation.override("ru"):
        ru_url = initiative.get_absolute_url()
    notification_store(user=reader, kind="initiative.status", key="k", url=ru_url,
                       params={"title": initiative.title, "status": "submitted"})  # fmt: skip
    context, page = _page(browser, server, reader)
    for lang in ("en", "kk"):
        page.goto(f"{server.url}/{lang}/notifications/")
        link = page.locator(".notification-subject a")
        expect(link).to_have_count(1)
        assert link.get_attribute("href").startswith(f"/{lang}/initiatives/")
        link.click()
        page.wait_for_url(f"**/{lang}/initiatives/{initiative.pk}/")
    context.close()
