"""/ws/polls/{id}/ with WebsocketCommunicator: snapshot, coalesced updates, visibility, refusal."""

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from civic.asgi import application
from polls.models import Poll
from polls.services import poll_close, vote_cast
from tests.conftest import WS_ORIGIN, ws_connect, ws_drain
from tests.factories import OfficialFactory, UserFactory, choice_ids, make_poll

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_realtime")]


async def connect(poll_id, user=None):
    return await ws_connect(f"/ws/polls/{poll_id}/", user)


async def test_snapshot_then_coalesced_updates():
    poll = await sync_to_async(make_poll)()
    a, b, c = await sync_to_async(choice_ids)(poll)
    ws = await connect(poll.pk)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot == {
        "type": "results.snapshot",
        "seq": snapshot["seq"],
        "poll": poll.pk,
        "status": "open",
        "total_votes": 0,
        "results_visible": True,
        "choices": [{"id": x, "votes": 0} for x in (a, b, c)],
        # Beside the data, the fragments the page and the projector swap in (server-rendered).
        "html": snapshot["html"],
    }
    assert set(snapshot["html"]) == {f"poll-{poll.pk}-results", f"projector-{poll.pk}-results"}
    assert f'data-choice="{a}"' in snapshot["html"][f"poll-{poll.pk}-results"]
    voters = await sync_to_async(lambda: [UserFactory() for _ in range(30)])()
    started = time.monotonic()
    for i, voter in enumerate(voters):
        await sync_to_async(vote_cast)(poll_id=poll.pk, choice_ids=[a if i % 3 else b], user=voter)
    elapsed = time.monotonic() - started
    updates = await ws_drain(ws, 1.0)
    assert updates, "no update arrived"
    assert all(m["type"] == "results.update" for m in updates)
    # Coalesced: at most one per tick, never one per vote; the last one is the final state.
    assert len(updates) <= (elapsed + 1.0) / 0.1 + 1
    assert len(updates) < 30
    seqs = [m["seq"] for m in updates]
    assert seqs == sorted(seqs) and seqs[0] > snapshot["seq"]
    assert updates[-1]["total_votes"] == 30
    assert updates[-1]["choices"][:2] == [{"id": a, "votes": 20}, {"id": b, "votes": 10}]
    # The last update's fragment shows the same figures, and a screen reader hears the leader.
    assert "<strong data-votes>20</strong>" in updates[-1]["html"][f"poll-{poll.pk}-results"]
    assert updates[-1]["announce"].startswith("Choice 1: ") or "leading" in updates[-1]["announce"]
    await ws.disconnect()


async def test_final_result_is_pushed_after_close():
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a = (await sync_to_async(choice_ids)(poll))[0]
    ws = await connect(poll.pk)
    await ws.receive_json_from(timeout=5)
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    await sync_to_async(poll_close)(actor=official, poll_id=poll.pk)
    updates = await ws_drain(ws, 0.8)
    assert updates[-1]["status"] == "closed"
    assert updates[-1]["total_votes"] == 1
    await ws.disconnect()


async def test_visibility_applies_to_the_socket():
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(
        official=official, results_visibility=Poll.Visibility.OFFICIALS
    )
    a = (await sync_to_async(choice_ids)(poll))[0]
    public = await connect(poll.pk)
    officials = await connect(poll.pk, user=official)
    assert (await public.receive_json_from(timeout=5))["results_visible"] is False
    assert (await officials.receive_json_from(timeout=5))["results_visible"] is True
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    public_update = (await ws_drain(public, 0.6))[-1]
    official_update = (await ws_drain(officials, 0.1))[-1]
    assert public_update["total_votes"] == 1
    assert all(c["votes"] is None for c in public_update["choices"])
    assert official_update["choices"][0]["votes"] == 1
    await public.disconnect()
    await officials.disconnect()


async def test_unknown_and_draft_polls_are_refused_with_4404(citizen):
    draft = await sync_to_async(make_poll)(open_now=False)
    for path in ("/ws/polls/999999/", f"/ws/polls/{draft.pk}/"):
        ws = WebsocketCommunicator(application, path, headers=[WS_ORIGIN])
        connected, _ = await ws.connect()
        assert connected  # accepted, then closed with a code the browser can read
        error = await ws.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["payload"]["code"] == "NotFound"
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def test_foreign_origin_refused():
    poll = await sync_to_async(make_poll)()
    ws = WebsocketCommunicator(
        application, f"/ws/polls/{poll.pk}/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await ws.connect()
    assert not connected


async def test_listen_only_socket_refuses_commands_and_changes_nothing():
    poll = await sync_to_async(make_poll)()
    a = (await sync_to_async(choice_ids)(poll))[0]
    ws = await connect(poll.pk)
    await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "vote", "choices": [a]})
    reply = await ws.receive_json_from(timeout=5)
    assert reply["payload"]["code"] == "read_only"
    await ws.send_to(text_data="{broken")
    assert (await ws.receive_json_from(timeout=5))["payload"]["code"] == "malformed"
    await ws.send_json_to({"type": "resync"})
    assert (await ws.receive_json_from(timeout=5))["type"] == "results.snapshot"
    await ws.send_to(text_data="x" * 100_000)
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 1009}
    from polls.models import Ballot

    assert await sync_to_async(Ballot.objects.count)() == 0


async def test_a_pushed_update_skips_the_database_cleanup_hop(monkeypatch):
    # Channels closes old database connections in a worker thread before every handler it
    # dispatches; a pushed text touches no database and reaches the socket through the
    # process's fan-out, not the handler (one thread hop per socket and push was a third of a
    # server's CPU with 1,000 sockets watching). The socket's own frames still get it.
    import channels.consumer

    cleanups = []
    real = channels.consumer.aclose_old_connections

    async def counted():
        cleanups.append(1)
        await real()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    poll = await sync_to_async(make_poll)()
    a = (await sync_to_async(choice_ids)(poll))[0]
    ws = await connect(poll.pk)
    await ws.receive_json_from(timeout=5)
    before = len(cleanups)
    assert before >= 1  # the connect went through the cleanup
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    updates = await ws_drain(ws, 1.0)
    assert updates and updates[-1]["total_votes"] == 1
    assert len(cleanups) == before
    await ws.send_json_to({"type": "resync"})
    assert (await ws.receive_json_from(timeout=5))["type"] == "results.snapshot"
    assert len(cleanups) == before + 1
    await ws.disconnect()


async def test_a_push_reaches_the_process_once_however_many_sockets_watch(monkeypatch):
    # The layer delivers each push once to the process's fan-out channel, which hands it to
    # every socket of the group; no socket's own channel carries it.
    import asyncio

    from channels.layers import get_channel_layer

    from civic.consumers import _fanouts

    layer = get_channel_layer()
    delivered: dict[str, int] = {}
    real_receive = layer.receive

    async def counted(channel):
        message = await real_receive(channel)
        if message.get("type") == "realtime.event":
            hub = _fanouts.get(asyncio.get_running_loop())
            kind = "fanout" if hub is not None and channel == hub.channel else "socket"
            delivered[kind] = delivered.get(kind, 0) + 1
        return message

    monkeypatch.setattr(layer, "receive", counted)
    poll = await sync_to_async(make_poll)()
    a = (await sync_to_async(choice_ids)(poll))[0]
    sockets = [await connect(poll.pk) for _ in range(5)]
    for ws in sockets:
        await ws.receive_json_from(timeout=5)
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )
    received = [await ws_drain(ws, 1.0) for ws in sockets]
    assert all(updates and updates[-1]["total_votes"] == 1 for updates in received)
    assert delivered.get("socket", 0) == 0
    # One delivery per tick that had a change, not one per socket.
    assert 1 <= delivered["fanout"] <= max(len(updates) for updates in received)
    for ws in sockets:
        await ws.disconnect()


async def test_a_slow_reader_gets_the_newest_push_and_holds_up_no_one():
    # While a send to one socket waits on its reader, later pushes of the same group wait
    # behind it as one (the newest: each push is a whole state); other sockets are not held.
    import asyncio

    from civic.consumers import EnvelopeConsumer

    def socket(gate=None):
        consumer = EnvelopeConsumer()
        consumer._closing, consumer.joined = False, {"g.kk", "h.kk"}
        consumer._pushing, consumer._next_push, consumer.sent = None, {}, []
        consumer._pushes_held = False  # its snapshot has gone out

        async def send(text_data=None, bytes_data=None, close=False):
            if gate is not None:
                await gate.wait()
            consumer.sent.append(text_data)

        consumer.send = send
        return consumer

    gate = asyncio.Event()
    slow, quick = socket(gate), socket()
    for n in range(1, 5):
        for consumer in (slow, quick):
            consumer.offer_push({"type": "realtime.event", "group": "g.kk", "text": f"g{n}"})
        await asyncio.sleep(0)
    slow.offer_push({"type": "realtime.event", "group": "h.kk", "text": "h1"})
    slow.offer_push({"type": "realtime.event", "group": "elsewhere", "text": "x"})
    await asyncio.sleep(0.05)
    assert quick.sent == ["g1", "g2", "g3", "g4"]
    assert slow.sent == []
    gate.set()
    await asyncio.sleep(0.05)
    assert slow.sent == ["g1", "g4", "h1"]
    assert slow._pushing is None and slow._next_push == {}

    # Before its first snapshot has gone out, a socket holds its pushes (the newest of each).
    held = socket()
    held._pushes_held = True
    for n in range(1, 4):
        held.offer_push({"type": "realtime.event", "group": "g.kk", "text": f"g{n}"})
    await asyncio.sleep(0.05)
    assert held.sent == []
    held._release_pushes()
    await asyncio.sleep(0.05)
    assert held.sent == ["g3"]
