"""The dashboard's charts (dashboard/charts.py) and the charts on the pages: participation by
district and turnout over time on the dashboard, the budget spent on a round's results; one
grouped query each; the chart and its text alternative in kk, ru and en."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone, translation

from budgets.services import ballot_cast, forget_round_meta, round_close
from dashboard import charts
from polls.services import poll_close, vote_cast
from tests.budgets.test_views import _store_outcomes, ids, make_round
from tests.factories import UserFactory, choice_ids, district, make_poll

pytestmark = pytest.mark.django_db

NAMES = {"kk": "Алмалы ауданы", "ru": "Алмалинский район", "en": "Almaly District"}


@pytest.fixture(autouse=True)
def _no_cached_charts():
    forget_round_meta()
    cache.delete_many(["dashboard:chart:districts", "dashboard:chart:turnout"])


def _vote(poll, index=0, **user_fields):
    user = UserFactory(**user_fields)
    vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[index]], user=user)
    return user


def test_participation_by_district_counts_open_ballots_in_one_query(
    django_assert_num_queries, official
):
    almaly, medeu = district("almaly"), district("medeu")
    poll = make_poll(official=official)
    _vote(poll, district=almaly)
    _vote(poll, district=almaly)
    _vote(poll, district=medeu)
    _vote(poll)  # no district given
    secret = make_poll(official=official, secret_ballot=True)
    _vote(secret, district=medeu)  # a secret ballot has no voter: not by district
    closed = make_poll(official=official)
    _vote(closed, district=medeu)
    poll_close(actor=official, poll_id=closed.pk)
    budget_round = make_round(official=official)
    ballot_cast(
        actor=UserFactory(district=almaly), round_id=budget_round.pk,
        project_ids=[ids(budget_round)[0]],
    )  # fmt: skip
    with django_assert_num_queries(1):
        rows = dict(charts.participation_by_district())
    assert rows == {almaly.pk: 3, medeu.pk: 1, None: 1}


def test_the_district_chart_draws_every_district_in_the_readers_language(official):
    poll = make_poll(official=official)
    _vote(poll, district=district("almaly"))
    _vote(poll, district=district("almaly"))
    from accounts.models import District

    for lang, name in NAMES.items():
        with translation.override(lang):
            chart = charts.city_districts_chart(cached=False)
        assert len(chart.rows) == District.objects.count()  # no ballots without a district
        almaly = next(d for d in chart.rows if d.label == name)
        assert almaly.value == 2
        assert f"<title>{name}: 2</title>" in str(chart.svg)


def test_turnout_over_time_counts_ballots_per_hour_in_one_grouped_query(
    django_assert_num_queries, official
):
    start = timezone.now().replace(minute=5, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        poll = make_poll(official=official, minutes=600)
        secret = make_poll(official=official, secret_ballot=True, minutes=600)
        _vote(poll)
        _vote(secret)  # counted by its participation (a secret ballot has no time)
        # (On PostgreSQL a budget ballot takes the database's clock: the real hour, this one.)
        budget_round = make_round(official=official)
        ballot_cast(
            actor=UserFactory(), round_id=budget_round.pk, project_ids=[ids(budget_round)[0]]
        )
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        _vote(poll)
        _vote(poll)
        # Two small aggregates (when the oldest open poll and round opened), one grouped query.
        with django_assert_num_queries(3):
            series = charts.turnout_over_time()
    assert series["unit"] == "hour"
    assert [n for _t, n in series["buckets"]] == [3, 0, 2]
    first = timezone.localtime(series["buckets"][0][0])
    assert (first.minute, first.hour) == (0, timezone.localtime(start).hour)


def test_turnout_is_counted_per_day_once_the_polls_are_older_than_two_days(official):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        poll = make_poll(official=official, minutes=60 * 24 * 10)
        _vote(poll)
    with time_machine.travel(start + timedelta(days=3), tick=False):
        _vote(poll)
        series = charts.turnout_over_time()
        chart = charts.turnout_chart(series)
    assert series["unit"] == "day"
    assert len(series["buckets"]) in (4, 5)  # the opening day to today
    assert sum(n for _t, n in series["buckets"]) == 2
    assert chart.title == "Ballots per day"


def test_a_poll_without_a_recorded_opening_counts_from_its_planned_opening(official):
    from polls.models import Poll

    poll = make_poll(official=official)
    _vote(poll)
    Poll.objects.filter(pk=poll.pk).update(opened_at=None)  # opened before it was recorded
    series = charts.turnout_over_time()
    assert sum(n for _t, n in series["buckets"]) == 1


def test_nothing_open_gives_an_empty_chart_not_an_error():
    chart = charts.turnout_chart(cached=False)
    assert chart.empty and "No ballots yet." in str(chart.svg)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_the_dashboard_shows_both_charts_with_their_text_alternative(client, official, lang):
    poll = make_poll(official=official)
    for _ in range(3):
        _vote(poll, district=district("almaly"))
    client.force_login(official)
    with translation.override(lang):
        from django.urls import reverse

        html = client.get(reverse("dashboard:index")).content.decode()
    section = html.split('id="participation"')[1].split("</section>")[0]
    assert (
        'class="chart-svg chart-bars"' in section and 'class="chart-svg chart-columns"' in section
    )
    assert section.count("<details") == 2 and section.count("<table") == 2
    assert re.search(r'<svg [^>]*role="img" aria-label="[^"]+"', section)
    # The text alternative names the district in the page's language with its ballots.
    assert f'<th scope="row">{NAMES[lang]}</th><td class="num">3</td>' in section
    assert "style=" not in section


@pytest.mark.parametrize(
    ("lang", "spent"),
    [("kk", "1\xa0300\xa0000\xa0000 ₸"), ("ru", "1\xa0300\xa0000\xa0000 ₸"),
     ("en", "1,300,000,000 ₸")],
)  # fmt: skip
def test_a_rounds_results_show_the_budget_spent_as_a_chart_for_each_rule(client, lang, spent):
    budget_round = make_round(rule="equal_shares")
    round_close(actor=budget_round.created_by, round_id=budget_round.pk)
    _store_outcomes(budget_round)
    html = client.get(f"/{lang}/budgets/{budget_round.pk}/").content.decode()
    results = html.split('id="results"')[1]
    assert results.count('class="chart-svg chart-stack"') == 2  # greedy beside equal shares
    assert results.count('<details class="chart-data">') == 2
    assert spent in results
    # A legend numbered as the parts are: the project titles in the page's language.
    title = {"kk": "Бейсбол алаңы", "ru": "Бейсбольная площадка", "en": "A playground"}[lang]
    assert f'<span class="chart-key-n" aria-hidden="true">1.</span> {title} — ' in results


# --- In a real browser: the chart follows the votes, an opened table stays open -------------


@pytest.mark.browser
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_the_live_dashboard_redraws_the_charts_and_keeps_an_open_table_open(
    browser, settings, monkeypatch, artifacts_dir
):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    from tests.conftest import AsgiServer, server_env_sharing, session_cookie
    from tests.factories import OfficialFactory

    official = OfficialFactory()
    poll = make_poll(official=official, minutes=120)
    _vote(poll, district=district("almaly"))
    server = AsgiServer({**server_env_sharing(settings), "REALTIME_TICK_MS": "250"}).start()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        context.add_cookies([session_cookie(official, server.url)])
        page = context.new_page()
        page.goto(f"{server.url}/en/dashboard/")
        expect(page.locator("[data-live-indicator]")).to_have_text("Live", timeout=10_000)
        card = page.locator(f'[data-poll-id="{poll.pk}"]')
        bar = card.locator(".chart-bar", has_text="Almaly District").locator("title")
        expect(bar).to_have_text("Almaly District: 1")
        table = card.locator(f"#chart-poll-{poll.pk}-districts-data")
        for _ in range(3):
            # A live swap can replace the table between Playwright's aim and its click (on a
            # busy machine): the reader would click again.
            page.locator(f"#chart-poll-{poll.pk}-districts-toggle").click()
            if table.get_attribute("open") is not None:
                break
        expect(table).to_have_attribute("open", "")
        row = table.locator("tr", has_text="Almaly District").locator("td")
        expect(row).to_have_text("1")
        expect(row).to_be_visible()
        _vote(poll, district=district("almaly"))
        # The fragment is re-rendered on the server and swapped in: the new figures are in
        # the chart and in the table, which the reader left open.
        expect(bar).to_have_text("Almaly District: 2", timeout=10_000)
        expect(row).to_have_text("2", timeout=10_000)
        expect(table).to_have_attribute("open", "")
        expect(row).to_be_visible()
        city = page.locator("#participation .chart-bar", has_text="Almaly District")
        expect(city.locator("title")).to_have_text("Almaly District: 2", timeout=10_000)
        page.locator("#participation").screenshot(path=artifacts_dir / "charts-dashboard-390.png")
    finally:
        context.close()
        server.stop()
