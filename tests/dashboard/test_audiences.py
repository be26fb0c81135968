"""Officials see the tallies of "live for officials" polls on the dashboard; moderators,
who are not officials, see the turnout but not those tallies."""

import pytest

from dashboard.selectors import compute_dashboard_push, dashboard_for
from polls.models import Poll
from polls.services import vote_cast
from tests.factories import ModeratorFactory, OfficialFactory, UserFactory, choice_ids, make_poll

pytestmark = pytest.mark.django_db


def test_officials_only_tallies_are_withheld_from_moderators():
    official, moderator = OfficialFactory(), ModeratorFactory()
    poll = make_poll(official=official, results_visibility=Poll.Visibility.OFFICIALS)
    vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[0]], user=UserFactory())
    for_official = dashboard_for(official)["polls"][0]
    for_moderator = dashboard_for(moderator)["polls"][0]
    assert [c["votes"] for c in for_official["choices"]] == [1, 0, 0]
    assert [c["votes"] for c in for_moderator["choices"]] == [None, None, None]
    assert for_moderator["total_votes"] == 1 and not for_moderator["results_visible"]
    pushed = dict(compute_dashboard_push(0, 1))
    # One message per audience and language, each to its own group.
    assert set(pushed) == {
        f"dashboard.{audience}.{lang}"
        for audience in ("officials", "moderators")
        for lang in ("kk", "ru", "en")
    }
    for lang in ("kk", "ru", "en"):
        official_msg = pushed[f"dashboard.officials.{lang}"]
        mod_msg = pushed[f"dashboard.moderators.{lang}"]
        assert official_msg["payload"]["polls"][0]["choices"][0]["votes"] == 1
        assert mod_msg["payload"]["polls"][0]["choices"][0]["votes"] is None
        assert official_msg["payload"]["polls"][0]["title"] == getattr(poll, f"title_{lang}")


def test_live_polls_show_tallies_to_moderators_too():
    moderator = ModeratorFactory()
    poll = make_poll(results_visibility=Poll.Visibility.LIVE)
    vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[1]], user=UserFactory())
    assert [c["votes"] for c in dashboard_for(moderator)["polls"][0]["choices"]] == [0, 1, 0]


def test_the_dashboard_page_withholds_them_from_moderators(client):
    official, moderator = OfficialFactory(), ModeratorFactory()
    poll = make_poll(official=official, results_visibility=Poll.Visibility.OFFICIALS)
    for _ in range(7):
        vote_cast(poll_id=poll.pk, choice_ids=[choice_ids(poll)[2]], user=UserFactory())
    client.force_login(official)
    page = client.get("/en/dashboard/").content.decode()
    bar = 'data-field="votes">7</strong>'
    assert bar in page
    client.force_login(moderator)
    page = client.get("/en/dashboard/").content.decode()
    assert bar not in page
    assert 'data-field="total">7<' in page  # the turnout is still theirs to see
