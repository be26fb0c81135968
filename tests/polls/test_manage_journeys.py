"""Officials' poll actions (bug 3): opening and closing are confirmed (a second step that
needs no JavaScript), a draft can be edited and an open poll cannot, a closed poll never says
"Live"; and the vote form (bug 6): the ballot shown after voting, one thank-you, the server
still refusing too many choices."""

import re

import pytest

from polls.models import Poll
from polls.services import vote_cast
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll
from tests.polls.test_views import _form

pytestmark = pytest.mark.django_db


def test_the_manage_page_asks_before_opening_and_closing(client):
    official = OfficialFactory()
    client.force_login(official)
    draft = make_poll(official=official, open_now=False)
    page = client.get(f"/en/polls/manage/{draft.pk}/").content.decode()
    # "Open now" only unfolds the question; its form is the second button, confirm=yes.
    block = re.search(r'<details class="confirm-step">.*?</details>', page, re.S).group(0)
    assert '<summary class="button">Open now</summary>' in block
    assert 'name="confirm" value="yes"' in block and "Yes, open the poll" in block
    # A plain post (no confirm) only asks, on a page of its own.
    asked = client.post(f"/en/polls/manage/{draft.pk}/do/open/")
    assert asked.status_code == 200 and "Open this poll?" in asked.content.decode()
    assert client.get(f"/en/polls/manage/{draft.pk}/do/open/").status_code == 200
    draft.refresh_from_db()
    assert draft.status == Poll.Status.DRAFT
    client.post(f"/en/polls/manage/{draft.pk}/do/open/", {"confirm": "yes"})
    draft.refresh_from_db()
    assert draft.status == Poll.Status.OPEN
    page = client.get(f"/en/polls/manage/{draft.pk}/").content.decode()
    assert '<summary class="button button-danger">Close now</summary>' in page
    asked = client.post(f"/en/polls/manage/{draft.pk}/do/close/", {"confirm": "no"})
    assert "Close this poll?" in asked.content.decode()
    draft.refresh_from_db()
    assert draft.status == Poll.Status.OPEN
    done = client.post(f"/en/polls/manage/{draft.pk}/do/close/", {"confirm": "yes"}, follow=True)
    assert "The poll is closed: its result is final." in done.content.decode()
    draft.refresh_from_db()
    assert draft.status == Poll.Status.CLOSED


def test_a_closed_poll_never_says_live(client):
    poll = make_poll()
    live = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "data-live-indicator" in live
    from polls.services import poll_close

    poll_close(actor=None, poll_id=poll.pk)
    closed = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "data-live-indicator" not in closed and ">Live<" not in closed
    assert "Final result" in closed


def test_a_draft_can_be_edited_and_an_open_poll_cannot(client):
    official = OfficialFactory()
    client.force_login(official)
    draft = make_poll(official=official, open_now=False)
    page = client.get(f"/en/polls/manage/{draft.pk}/edit/").content.decode()
    assert "<h1>Edit draft</h1>" in page
    assert 'value="Most pressing problems of Almaty"' in page
    assert 'value="Choice 3"' in page
    response = client.post(
        f"/en/polls/manage/{draft.pk}/edit/",
        _form(title="Parks or parking?", title_en="Parks or parking?"),
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.title_en == "Parks or parking?"
    assert [c.label_en for c in draft.choices.all()] == ["Yes", "No"]
    # Bad input keeps the draft as it was.
    bad = client.post(f"/en/polls/manage/{draft.pk}/edit/", _form(title="", title_en=""))
    assert bad.status_code == 400
    draft.refresh_from_db()
    assert draft.title_en == "Parks or parking?"
    # Once open, its rules are fixed: no edit link, and the edit page refuses (409).
    opened = make_poll(official=official)
    assert (
        f"/polls/manage/{opened.pk}/edit/"
        not in client.get(f"/en/polls/manage/{opened.pk}/").content.decode()
    )
    assert client.get(f"/en/polls/manage/{opened.pk}/edit/").status_code == 409
    refused = client.post(
        f"/en/polls/manage/{opened.pk}/edit/", _form(title="Changed", title_en="Changed")
    )
    assert refused.status_code == 409
    opened.refresh_from_db()
    assert opened.title_en != "Changed"
    # Citizens do not edit polls.
    client.force_login(UserFactory())
    assert client.get(f"/en/polls/manage/{draft.pk}/edit/").status_code == 403


def test_after_voting_the_ballot_shows_with_one_thank_you(client):
    poll = make_poll(kind="multiple", max_choices=3, choices=5, allow_vote_change=True)
    a, b, c, d, _e = choice_ids(poll)
    citizen = UserFactory()
    client.force_login(citizen)
    form = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert 'data-max-choices="3"' in form and "js/vote-limit.js" in form
    # Four ticks on an "up to 3" poll: the server still refuses, and keeps the ticks.
    refused = client.post(f"/en/polls/{poll.pk}/", {"choice": [a, b, c, d]})
    assert refused.status_code == 400
    page = client.post(f"/en/polls/{poll.pk}/", {"choice": [a, c]}, follow=True).content.decode()
    assert page.count("Thank you") == 1
    ballot = re.search(r'<section class="your-ballot".*?</section>', page, re.S).group(0)
    assert re.findall(r"✓</span> ([^<]+)</li>", ballot) == ["Choice 1", "Choice 3"]
    assert "You can change your vote until the poll closes." in ballot


def test_a_secret_ballot_shows_only_that_you_voted(client):
    poll = make_poll(secret_ballot=True)
    citizen = UserFactory()
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=citizen)
    client.force_login(citizen)
    page = client.get(f"/en/polls/{poll.pk}/").content.decode()
    ballot = re.search(r'<section class="your-ballot".*?</section>', page, re.S).group(0)
    assert "You voted. The ballot is secret" in ballot
    assert "Choice 1" not in ballot and "your-choices" not in ballot


def test_deciding_on_the_dashboard_asks_first(client):
    from tests.factories import make_initiative

    official = OfficialFactory()
    initiative = make_initiative(status="under_review")
    client.force_login(official)
    page = client.get("/en/dashboard/").content.decode()
    item = re.search(rf'id="initiative-{initiative.pk}".*?</li>', page, re.S).group(0)
    step = re.search(r'<details class="confirm-step">.*?</details>', item, re.S).group(0)
    assert '<summary class="button">Record the decision</summary>' in step
    assert "every supporter is told" in step and "Yes, record the decision" in step
