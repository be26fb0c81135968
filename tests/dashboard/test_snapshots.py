"""The shared cache of the last dashboard payloads: snapshots, resyncs and page renders read
the last computation while it is younger than a tick, so they cost one computation a tick
whatever their number; an older computation never replaces a newer one."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

import dashboard.selectors
from dashboard.selectors import (
    MODERATORS,
    OFFICIALS,
    _compute_and_store,
    compute_dashboard_push,
    dashboard_snapshot,
)
from polls.models import Poll
from polls.services import vote_cast
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def computations(monkeypatch):
    calls = []
    real = dashboard.selectors.dashboard_payload

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard.selectors, "dashboard_payload", counting)
    return calls


def test_snapshots_within_a_tick_share_one_computation(computations, settings):
    settings.REALTIME_TICK_MS = 250
    poll = make_poll()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        seq, payload = dashboard_snapshot(audience=OFFICIALS, lang="en")
        for lang in ("kk", "ru", "en"):
            for audience in (OFFICIALS, MODERATORS):
                again, other = dashboard_snapshot(audience=audience, lang=lang)
                assert again == seq
                assert other["lang"] == lang
    assert len(computations) == 1
    assert payload["polls"][0]["id"] == poll.pk

    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    with time_machine.travel(start + timedelta(milliseconds=300), tick=False):
        newer, payload = dashboard_snapshot(audience=OFFICIALS, lang="en")
    assert len(computations) == 2
    assert newer > seq
    assert payload["polls"][0]["total_votes"] == 1


def test_a_push_refreshes_the_cache_for_the_snapshots_of_its_tick(computations, settings):
    settings.REALTIME_TICK_MS = 250
    poll = make_poll()
    with time_machine.travel(timezone.now(), tick=False):
        seq = dashboard.selectors.now_seq()
        messages = dict(compute_dashboard_push(0, seq))
        got, payload = dashboard_snapshot(audience=MODERATORS, lang="ru")
    assert len(computations) == 1
    assert got == seq == messages["dashboard.moderators.ru"]["seq"]
    assert payload == messages["dashboard.moderators.ru"]["payload"]
    assert payload["polls"][0]["title"] == poll.title_ru


def test_an_older_computation_finishing_late_does_not_replace_a_newer_one(settings):
    settings.REALTIME_TICK_MS = 250
    poll = make_poll()
    with time_machine.travel(timezone.now(), tick=False):
        seq = dashboard.selectors.now_seq()
        _compute_and_store(seq)
        vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
        _compute_and_store(seq - 50)  # began before, ended after
        got, payload = dashboard_snapshot(audience=OFFICIALS, lang="en")
    assert got == seq
    assert payload["polls"][0]["total_votes"] == 0


def test_the_moderators_cached_payload_withholds_officials_only_tallies():
    poll = make_poll(results_visibility=Poll.Visibility.OFFICIALS)
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    _, for_officials = dashboard_snapshot(audience=OFFICIALS, lang="en")
    _, for_moderators = dashboard_snapshot(audience=MODERATORS, lang="en")
    assert [c["votes"] for c in for_officials["polls"][0]["choices"]] == [1, 0, 0]
    assert [c["votes"] for c in for_moderators["polls"][0]["choices"]] == [None, None, None]


def test_page_renders_use_the_cached_payload_and_its_seq(client, computations, settings):
    settings.REALTIME_TICK_MS = 250
    official = OfficialFactory()
    make_poll(official=official)
    client.force_login(official)
    with time_machine.travel(timezone.now(), tick=False):
        seqs = [
            re.search(r'data-seq="(\d+)"', client.get("/en/dashboard/").content.decode()).group(1)
            for _ in range(3)
        ]
        cached, _payload = dashboard_snapshot(audience=OFFICIALS, lang="en")
    assert len(computations) == 1
    # The page's seq is the computation's, so an update computed since is newer than it.
    assert seqs == [str(cached)] * 3


def test_finding_dashboard_snapshot_never_sleeps(computations, settings, monkeypatch):
    """While another computes, a snapshot serves the last payload kept (or computes itself
    when there is none) at once: it never sleeps on a request thread waiting for it."""
    import time

    from django.core.cache import cache

    def no_sleeping(seconds):
        raise AssertionError(f"dashboard_snapshot slept {seconds} s on a request thread")

    monkeypatch.setattr(time, "sleep", no_sleeping)
    settings.REALTIME_TICK_MS = 250
    poll = make_poll()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        old_seq, _payload = dashboard_snapshot(audience=OFFICIALS, lang="en")
    assert len(computations) == 1
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    assert cache.add(dashboard.selectors._LOCK, 1, 5)  # another process is computing now
    try:
        with time_machine.travel(start + timedelta(seconds=1), tick=False):
            began = time.perf_counter()
            seq, payload = dashboard_snapshot(audience=OFFICIALS, lang="en")
            assert time.perf_counter() - began < 0.25
            # The last payload kept (1 s old), not a second computation of the same tick.
            assert (seq, payload["polls"][0]["total_votes"]) == (old_seq, 0)
            assert len(computations) == 1
            # Nothing kept for this audience and language: it computes itself, at once.
            cache.delete(dashboard.selectors._key(MODERATORS, "kk"))
            seq, payload = dashboard_snapshot(audience=MODERATORS, lang="kk")
            assert len(computations) == 2
            assert seq > old_seq and payload["polls"][0]["total_votes"] == 1
    finally:
        cache.delete(dashboard.selectors._LOCK)
