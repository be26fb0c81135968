"""/ws/dashboard/ with WebsocketCommunicator: who may watch, the snapshot, live updates, and
one computation per tick however many dashboards are open."""

import asyncio
import copy
import json
import time
import uuid
from datetime import datetime

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

import dashboard.selectors
from civic import realtime
from civic.asgi import application
from communities.services import support_add
from dashboard.selectors import dashboard_for, localize
from dialogue.services import question_ask
from polls.models import Poll
from polls.services import vote_cast
from tests.conftest import WS_ORIGIN, end_leftover_tasks, ws_connect, ws_drain
from tests.factories import (
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    choice_ids,
    make_initiative,
    make_poll,
    make_session,
)

pytestmark = pytest.mark.django_db(transaction=True)

TICK = 0.1


@pytest.fixture(autouse=True)
async def _fresh_realtime(settings):
    settings.REALTIME_TICK_MS = int(TICK * 1000)
    # Keys and channel groups of our own: other test runs may share this Redis, and a
    # dashboard group is one name for the whole city.
    prefix = f"birge-test-dash-{uuid.uuid4().hex[:8]}"
    settings.CACHE_KEY_PREFIX = prefix
    if settings.REDIS_URL:
        layers = copy.deepcopy(settings.CHANNEL_LAYERS)
        layers["default"]["CONFIG"]["prefix"] = prefix
        settings.CHANNEL_LAYERS = layers
    realtime.reset_store()
    yield
    await realtime.stop_tickers()
    await end_leftover_tasks()
    realtime.reset_store()
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)
        client.close()


async def connect(user=None):
    return await ws_connect("/ws/dashboard/", user, timeout=5)


async def watch(user):
    """A dashboard socket past its snapshot."""
    ws = await connect(user)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "dashboard.snapshot"
    return ws, snapshot


async def first_update(ws, predicate, timeout=3.0):
    """The first dashboard.update whose payload satisfies `predicate`, and when it came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await ws.receive_json_from(timeout=max(0.05, deadline - time.monotonic()))
        assert message["type"] == "dashboard.update", message
        if predicate(message["payload"]):
            return message, time.monotonic()
    raise AssertionError("no matching dashboard update arrived")


def _poll(payload, poll_id):
    return next((p for p in payload["polls"] if p["id"] == poll_id), None)


def _as_json(value):
    return json.loads(json.dumps(value, default=str))


# --- Who may watch ----------------------------------------------------------------------------


async def test_anonymous_socket_is_closed_with_4401():
    ws = await connect()
    error = await ws.receive_json_from(timeout=5)
    assert error == {
        "type": "error",
        "seq": 0,
        "payload": {"code": "NotAuthenticated", "detail": "Please sign in first."},
    }
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def test_citizen_socket_is_closed_with_4403():
    ws = await connect(await sync_to_async(UserFactory)())
    error = await ws.receive_json_from(timeout=5)
    assert error["type"] == "error"
    assert error["payload"]["code"] == "not_staff"
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    assert not realtime._watched.get((realtime.TOPIC_DASHBOARD, 0))


@pytest.mark.parametrize("role", ["official", "moderator"])
async def test_staff_get_a_snapshot_of_the_current_state(role):
    user = await sync_to_async({"official": OfficialFactory, "moderator": ModeratorFactory}[role])()
    poll = await sync_to_async(make_poll)()
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=(await sync_to_async(choice_ids)(poll))[:1],
        user=await sync_to_async(UserFactory)(),
    )  # fmt: skip
    initiative = await sync_to_async(make_initiative)(status="under_review")

    ws, snapshot = await watch(user)

    assert set(snapshot) == {"type", "seq", "payload"}
    assert snapshot["seq"] > 0
    payload = snapshot["payload"]
    now = datetime.fromisoformat(payload["generated_at"])
    # The page's language only (the test's default, English), compact lists.
    html = payload.pop("html")  # the fragments, beside the data (checked below)
    assert payload == _as_json(localize(await sync_to_async(dashboard_for)(user, now=now), "en"))
    assert payload["lang"] == "en"
    assert set(html) == {"dash-live", "dash-generated"}
    assert "Most pressing problems of Almaty" in html["dash-live"]
    # Only officials decide: the moderators' fragment has no decision form.
    assert ('name="response"' in html["dash-live"]) is (role == "official")
    assert _poll(payload, poll.pk)["title"] == "Most pressing problems of Almaty"
    assert _poll(payload, poll.pk)["total_votes"] == 1
    assert [i["id"] for i in payload["pipeline"]["queue"]] == [initiative.pk]
    await ws.disconnect()


# --- Live updates -----------------------------------------------------------------------------


async def test_a_vote_reaches_the_dashboard_within_a_couple_of_ticks():
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a, b, c = await sync_to_async(choice_ids)(poll)
    voter = await sync_to_async(UserFactory)()
    ws, snapshot = await watch(official)
    assert _poll(snapshot["payload"], poll.pk)["total_votes"] == 0
    await ws_drain(ws, 3 * TICK)  # the poll's opening, pushed on the first tick

    await sync_to_async(vote_cast)(poll_id=poll.pk, choice_ids=[b], user=voter)
    committed = time.monotonic()
    update, arrived = await first_update(
        ws, lambda p: (_poll(p, poll.pk) or {}).get("total_votes") == 1
    )

    # A tick to notice the change, one to compute and send it, and room for a slow machine.
    assert arrived - committed < 2 * TICK + 0.5
    assert update["seq"] > snapshot["seq"]
    summary = _poll(update["payload"], poll.pk)
    assert [(c["id"], c["votes"]) for c in summary["choices"]] == [(a, 0), (b, 1), (c, 0)]
    assert summary["timeline"]["votes"][-1] == 1 and len(summary["timeline"]["votes"]) == 30
    await ws.disconnect()


async def test_initiatives_enter_the_review_queue_live(settings):
    settings.INITIATIVE_SUPPORT_THRESHOLD = 1
    official = await sync_to_async(OfficialFactory)()
    ws, snapshot = await watch(official)
    assert snapshot["payload"]["pipeline"]["queue"] == []

    reviewed = await sync_to_async(make_initiative)(status="under_review")
    update, _ = await first_update(ws, lambda p: p["pipeline"]["queue"])
    assert [i["id"] for i in update["payload"]["pipeline"]["queue"]] == [reviewed.pk]
    assert update["payload"]["pipeline"]["counts"]["under_review"] == 1

    submitted = await sync_to_async(make_initiative)(status="submitted")
    update, _ = await first_update(ws, lambda p: p["pipeline"]["counts"]["submitted"] == 1)
    assert submitted.pk not in [i["id"] for i in update["payload"]["pipeline"]["queue"]]

    await sync_to_async(support_add)(
        actor=await sync_to_async(UserFactory)(), initiative_id=submitted.pk
    )
    update, _ = await first_update(ws, lambda p: len(p["pipeline"]["queue"]) == 2)
    queue = update["payload"]["pipeline"]["queue"]
    assert [i["id"] for i in queue] == [reviewed.pk, submitted.pk]
    assert queue[1]["threshold_reached"] is True
    await ws.disconnect()


async def test_questions_of_a_live_session_show_as_waiting():
    moderator = await sync_to_async(ModeratorFactory)()
    session = await sync_to_async(make_session)(actor=moderator)
    ws, snapshot = await watch(moderator)
    assert snapshot["payload"]["dialogue"]["sessions"][0]["waiting"] == 0

    await sync_to_async(question_ask)(
        actor=await sync_to_async(UserFactory)(), session_id=session.pk, text="Where is the bus?"
    )
    update, _ = await first_update(ws, lambda p: p["dialogue"]["sessions"][0]["waiting"] == 1)
    assert update["payload"]["dialogue"]["sessions"][0]["id"] == session.pk
    await ws.disconnect()


async def test_comments_and_reports_reach_the_dashboard_without_waiting_for_a_resync(settings):
    from dialogue.services import comment_post, flag_create
    from tests.factories import make_thread

    settings.REALTIME_RESYNC_SECONDS = 60  # so only the change itself can bring the update
    moderator = await sync_to_async(ModeratorFactory)()
    thread = await sync_to_async(make_thread)()
    ws, snapshot = await watch(moderator)
    assert snapshot["payload"]["dialogue"]["open_flags"] == 0
    waiting = snapshot["payload"]["dialogue"]["threads_waiting"]

    citizen = await sync_to_async(UserFactory)()
    comment = await sync_to_async(comment_post)(actor=citizen, thread_id=thread.pk, body="Why?")
    await first_update(ws, lambda p: p["dialogue"]["threads_waiting"] == waiting + 1)
    reporter = await sync_to_async(UserFactory)()
    await sync_to_async(flag_create)(actor=reporter, comment_id=comment.pk, reason="Rude")
    await first_update(ws, lambda p: p["dialogue"]["open_flags"] == 1)
    await ws.disconnect()


async def test_moderators_do_not_see_tallies_meant_for_officials():
    official = await sync_to_async(OfficialFactory)()
    moderator = await sync_to_async(ModeratorFactory)()
    poll = await sync_to_async(make_poll)(
        official=official, results_visibility=Poll.Visibility.OFFICIALS
    )
    a = (await sync_to_async(choice_ids)(poll))[0]
    (for_official, _), (for_moderator, snapshot) = await watch(official), await watch(moderator)
    assert all(c["votes"] is None for c in _poll(snapshot["payload"], poll.pk)["choices"])

    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )

    def counted(p):
        return _poll(p, poll.pk)["total_votes"] == 1

    official_update, _ = await first_update(for_official, counted)
    moderator_update, _ = await first_update(for_moderator, counted)
    assert _poll(official_update["payload"], poll.pk)["choices"][0]["votes"] == 1
    summary = _poll(moderator_update["payload"], poll.pk)
    assert summary["results_visible"] is False
    assert all(c["votes"] is None for c in summary["choices"])
    await for_official.disconnect()
    await for_moderator.disconnect()


# --- Coalescing -------------------------------------------------------------------------------


def _cast_together(poll_id: int, choice: int, voters) -> None:
    """Votes that commit at one moment, so their pushes land within one tick."""
    with transaction.atomic():
        for voter in voters:
            vote_cast(poll_id=poll_id, choice_ids=[choice], user=voter)


async def test_one_computation_per_tick_however_many_dashboards(monkeypatch, settings):
    settings.REALTIME_RESYNC_SECONDS = 600  # only the votes make work here
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a = (await sync_to_async(choice_ids)(poll))[0]
    voters = await sync_to_async(UserFactory.create_batch)(10)
    calls: list[float] = []
    real = dashboard.selectors.dashboard_payload

    def counting(*args, **kwargs):
        calls.append(time.monotonic())
        return real(*args, **kwargs)

    # compute_dashboard_push looks the name up in its module at every call.
    monkeypatch.setattr(dashboard.selectors, "dashboard_payload", counting)

    computations, total = {}, 0
    for n, batch in ((1, voters[:5]), (20, voters[5:])):
        sockets = [(await watch(official))[0] for _ in range(n)]
        await asyncio.gather(*[ws_drain(ws, 3 * TICK) for ws in sockets])  # earlier changes settle
        calls.clear()
        started = time.monotonic()
        await sync_to_async(_cast_together)(poll.pk, a, batch)
        total += len(batch)
        finals = await asyncio.gather(
            *[
                first_update(ws, lambda p, t=total: _poll(p, poll.pk)["total_votes"] == t)
                for ws in sockets
            ]
        )
        # A later push (if the marks straddled a tick) says the same.
        for late in await asyncio.gather(*[ws_drain(ws, 3 * TICK) for ws in sockets]):
            assert all(_poll(m["payload"], poll.pk)["total_votes"] == total for m in late)
        ticks = (time.monotonic() - started) / TICK
        assert 1 <= len(calls) <= ticks + 2, (n, len(calls), ticks)
        # One computation fanned out: every socket got the very same message.
        assert len({json.dumps(m, sort_keys=True) for m, _ in finals}) == 1
        computations[n] = len(calls)
        for ws in sockets:
            await ws.disconnect()

    assert computations[20] <= computations[1] + 1, computations
    assert computations[20] <= 2, computations


async def test_nothing_is_computed_while_no_dashboard_is_open(monkeypatch):
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a = (await sync_to_async(choice_ids)(poll))[0]
    calls: list[float] = []
    real = dashboard.selectors.dashboard_payload

    def counting(*args, **kwargs):
        calls.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard.selectors, "dashboard_payload", counting)
    # A citizen watches the poll: the ticker runs and pushes its results every tick.
    poll_socket = WebsocketCommunicator(application, f"/ws/polls/{poll.pk}/", headers=[WS_ORIGIN])
    assert (await poll_socket.connect(timeout=5))[0]
    await poll_socket.receive_json_from(timeout=5)
    for _ in range(3):
        await sync_to_async(vote_cast)(
            poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
        )
        assert (await poll_socket.receive_json_from(timeout=2))["type"] == "results.update"
    assert calls == []

    ws, snapshot = await watch(official)
    assert _poll(snapshot["payload"], poll.pk)["total_votes"] == 3
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    await first_update(ws, lambda p: _poll(p, poll.pk)["total_votes"] == 4)
    assert calls
    await ws.disconnect()
    await poll_socket.disconnect()


# --- Snapshots from the shared cache --------------------------------------------------------


async def test_200_dashboards_connecting_cost_one_computation_per_tick(monkeypatch, settings):
    """A restart: every dashboard of the city reconnects at once. Their snapshots come from
    the last computation while it is fresh, so the work follows the ticks, not the sockets."""
    from tests.conftest import session_cookie_header

    settings.REALTIME_RESYNC_SECONDS = 600
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a = (await sync_to_async(choice_ids)(poll))[0]
    cookie = (b"cookie", (await sync_to_async(session_cookie_header)(official)).encode())
    calls: list[float] = []
    real = dashboard.selectors.dashboard_payload

    def counting(*args, **kwargs):
        calls.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard.selectors, "dashboard_payload", counting)

    async def open_one():
        ws = WebsocketCommunicator(application, "/ws/dashboard/", headers=[WS_ORIGIN, cookie])
        assert (await ws.connect(timeout=30))[0]
        return ws, await ws.receive_json_from(timeout=30)

    started = time.monotonic()
    opened = await asyncio.gather(*[open_one() for _ in range(200)])
    ticks = (time.monotonic() - started) / TICK
    sockets = [ws for ws, _ in opened]
    snapshots = [snapshot for _, snapshot in opened]
    assert {s["type"] for s in snapshots} == {"dashboard.snapshot"}
    assert all(_poll(s["payload"], poll.pk)["total_votes"] == 0 for s in snapshots)
    # Computations (snapshots and any push) at most one a tick, and far fewer than sockets.
    assert 1 <= len(calls) <= ticks + 2, (len(calls), ticks)
    assert len(calls) < 50, (len(calls), ticks)
    # Each computation served many sockets: as many distinct snapshots as computations.
    assert len({s["seq"] for s in snapshots}) <= len(calls)

    # And a vote then is one computation for all 200.
    await asyncio.gather(*[ws_drain(ws, 3 * TICK) for ws in sockets])
    calls.clear()
    voted = time.monotonic()
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    finals = await asyncio.gather(
        *[first_update(ws, lambda p: _poll(p, poll.pk)["total_votes"] == 1) for ws in sockets]
    )
    assert len({m["seq"] for m, _ in finals}) == 1
    assert 1 <= len(calls) <= (time.monotonic() - voted) / TICK + 2
    for ws in sockets:
        await ws.disconnect()


async def test_resyncs_are_throttled_to_one_a_second_and_the_last_is_kept(settings):
    settings.REALTIME_RESYNC_SECONDS = 600
    official = await sync_to_async(OfficialFactory)()
    ws, first = await watch(official)
    await ws_drain(ws, 3 * TICK)

    for _ in range(5):
        await ws.send_json_to({"type": "resync"})
    at_once = [m for m in await ws_drain(ws, 0.5)]
    later = [m for m in await ws_drain(ws, 1.0)]
    quiet = await ws_drain(ws, 1.2)

    # One answered at once, the other four folded into one at the end of the second; no
    # error frames for them.
    assert [m["type"] for m in at_once] == ["dashboard.snapshot"]
    assert [m["type"] for m in later] == ["dashboard.snapshot"]
    assert quiet == []
    assert later[0]["seq"] >= at_once[0]["seq"] >= first["seq"]
    await ws.disconnect()


async def test_a_socket_gets_its_pages_language():
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a = (await sync_to_async(choice_ids)(poll))[0]
    kk = await ws_connect("/ws/dashboard/?lang=kk", official, timeout=5)
    snapshot = await kk.receive_json_from(timeout=5)
    assert snapshot["payload"]["lang"] == "kk"
    assert _poll(snapshot["payload"], poll.pk)["title"] == poll.title_kk
    unknown = await ws_connect("/ws/dashboard/?lang=xx", official, timeout=5)
    assert (await unknown.receive_json_from(timeout=5))["payload"]["lang"] == "en"  # default
    await ws_drain(kk, 3 * TICK)

    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    update, _ = await first_update(kk, lambda p: _poll(p, poll.pk)["total_votes"] == 1)
    assert update["payload"]["lang"] == "kk"
    assert _poll(update["payload"], poll.pk)["title"] == poll.title_kk
    assert poll.title_en not in json.dumps(update, ensure_ascii=False)
    await kk.disconnect()
    await unknown.disconnect()
