"""The home page is alive: the polls open now with their totals, the initiatives gathering
support with their progress, the next Q&A session and the city's numbers, in a fixed number of
queries whatever the data."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from polls.services import vote_cast
from tests.factories import UserFactory, choice_ids, make_initiative, make_poll, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_numbers():
    cache.clear()
    yield
    cache.clear()


def _home(client, lang="en") -> str:
    response = client.get(f"/{lang}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_empty_city_says_so(client):
    page = _home(client)
    assert "No poll is open right now." in page
    assert "No initiative is gathering support right now." in page
    assert "No Q&A session is planned yet." in page
    assert re.search(r'data-number="ballots_month">0<', page)


def test_open_polls_show_their_current_totals(client):
    poll = make_poll(kind="multiple", max_choices=2, choices=5)
    draft = make_poll(open_now=False)
    a, b, *_ = choice_ids(poll)
    for _ in range(3):
        vote_cast(poll_id=poll.pk, choice_ids=[a, b], user=UserFactory())
    vote_cast(poll_id=poll.pk, choice_ids=[b], user=UserFactory())
    page = _home(client)
    card = re.search(rf'<article class="card poll-card" id="poll-{poll.pk}-card".*?</article>',
                     page, re.S).group(0)  # fmt: skip
    assert "Most pressing problems of Almaty" in card
    assert re.search(r"<strong data-total>4</strong>\s*ballots", card)
    # The leading choices first (Choice 2 on every ballot, Choice 1 on three of four).
    labels = re.findall(r'<span class="bar-label">([^<]+)</span>', card)
    assert labels == ["Choice 2", "Choice 1", "Choice 3"]
    assert "100.0 %" in card and "75.0 %" in card
    assert "and 2 more choices" in card
    assert f"poll-{draft.pk}-card" not in page
    assert re.search(r'data-number="ballots_month">4<', page)


def test_hidden_results_stay_hidden_on_the_card(client):
    poll = make_poll(results_visibility="hidden")
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    page = _home(client)
    assert "Results are hidden until the poll closes." in page
    assert 'class="bar-label"' not in page
    assert re.search(r"<strong data-total>1</strong>", page)


def test_initiatives_gathering_support_show_progress_and_the_rest_do_not(client, settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 4
    gathering = make_initiative(title="Benches on Abai")
    from communities.services import support_add

    support_add(actor=UserFactory(), initiative_id=gathering.pk)
    make_initiative(title="Accepted one", status="accepted")
    make_initiative(title="Still a draft", status="draft")
    page = _home(client)
    assert "Benches on Abai" in page
    assert re.search(r"<strong>1</strong>\s*of 4 supporters needed", page)
    assert 'data-width="25"' in page
    assert "Accepted one" not in page and "Still a draft" not in page
    assert re.search(r'data-number="initiatives_accepted">1<', page)


def test_the_next_session_and_a_live_one(client):
    make_session(title="Ask the akim about parks", starts_in=120)
    page = _home(client)
    assert "Next Q&A session" in page and "Ask the akim about parks" in page
    make_session(title="Transport hour", starts_in=-5)
    page = _home(client)
    assert "Q&A session on now" in page and "Transport hour" in page


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_home_renders_in_each_language(client, lang):
    make_poll()
    make_initiative()
    page = _home(client, lang)
    assert f'<html lang="{lang}"' in page
    assert f'href="/{lang}/polls/' in page


def test_the_home_takes_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    make_poll()
    make_initiative()
    with django_assert_max_num_queries(16) as few:
        _home(client)
    baseline = len(few.captured_queries)
    cache.clear()
    for _ in range(3):
        poll = make_poll(choices=6)
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
        make_initiative()
    make_session(starts_in=30)
    with django_assert_max_num_queries(baseline + 1):  # + the session now found
        _home(client)
    # The city's numbers are cached a minute: the next view counts nothing again.
    with django_assert_max_num_queries(baseline - 3):
        _home(client)
