"""The shared real-time helper and base consumer: pushes after commit, envelope, validation."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction

from civic.asgi import application
from civic.realtime import broadcast_on_commit, envelope

# Consumers run their database work in other threads: tests need real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://localhost:8000")]


async def _connect(path="/ws/health/", headers=ORIGIN):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_broadcast_happens_only_after_commit():
    # Subscribe and publish from one event loop, as the ASGI server does (the Redis
    # pub/sub layer keeps one connection per loop).
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("test.group", channel)
    built = []

    def build():
        built.append(1)
        return envelope("test.event", seq=1, payload={"n": 1})

    @sync_to_async
    def write():
        with transaction.atomic():
            broadcast_on_commit("test.group", build)
            assert built == []  # nothing is built or sent inside the transaction

    await write()
    message = await asyncio.wait_for(layer.receive(channel), timeout=5)
    assert message["message"] == {"type": "test.event", "seq": 1, "payload": {"n": 1}}
    assert built == [1]
    await layer.group_discard("test.group", channel)


def test_no_broadcast_when_the_transaction_rolls_back():
    built = []

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        broadcast_on_commit("test.group", lambda: built.append(1) or {})
        raise Boom
    assert built == []


def test_a_failing_push_is_logged_not_raised(monkeypatch, caplog):
    from civic import realtime

    class BrokenLayer:
        async def group_send(self, group, message):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(realtime, "get_channel_layer", lambda: BrokenLayer())
    assert realtime.group_send_now("g", {"type": "x"}) is False
    assert "realtime push to g failed" in caplog.text


async def test_health_socket_sends_a_snapshot():
    communicator, connected = await _connect()
    assert connected
    message = await communicator.receive_json_from()
    assert message["type"] == "health.ok"
    assert message["seq"] == 0
    assert "server_time" in message["payload"]
    await communicator.disconnect()


async def test_foreign_origin_is_refused():
    _communicator, connected = await _connect(headers=[(b"origin", b"http://evil.example")])
    assert not connected


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"type": "vote", "choices": [1]}', "read_only"),
        ("[" * 1500 + "]" * 1500, "malformed"),  # nesting deeper than the JSON parser goes
    ],
)
async def test_bad_frames_get_an_error_and_change_nothing(frame, code):
    communicator, _ = await _connect()
    await communicator.receive_json_from()
    await communicator.send_to(text_data=frame)
    reply = await communicator.receive_json_from()
    assert reply == {
        "type": "error",
        "seq": 0,
        "payload": {"code": code, "detail": reply["payload"]["detail"]},
    }
    # The socket stays usable.
    await communicator.send_to(text_data=json.dumps({"type": "resync"}))
    assert (await communicator.receive_json_from())["type"] == "health.ok"
    await communicator.disconnect()


async def test_resyncs_are_limited_to_one_a_second():
    communicator, _ = await _connect()
    await communicator.receive_json_from()
    await communicator.send_to(text_data=json.dumps({"type": "resync"}))
    assert (await communicator.receive_json_from())["type"] == "health.ok"
    await communicator.send_to(text_data=json.dumps({"type": "resync"}))
    reply = await communicator.receive_json_from()
    assert reply["type"] == "error" and reply["payload"]["code"] == "too_many_resyncs"
    await communicator.disconnect()


async def test_huge_frame_closes_the_socket():
    communicator, _ = await _connect()
    await communicator.receive_json_from()
    await communicator.send_to(text_data="x" * 10_000)
    output = await communicator.receive_output()
    assert output == {"type": "websocket.close", "code": 1009}


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/polls/abc/", "/ws/"])
async def test_an_unknown_socket_address_is_closed_with_4404(path):
    from tests.conftest import WS_ORIGIN

    communicator = WebsocketCommunicator(application, path, headers=[WS_ORIGIN])
    connected, _ = await communicator.connect(timeout=2)
    assert connected  # accepted, so the browser sees the code
    error = await communicator.receive_json_from()
    assert error["type"] == "error" and error["payload"]["code"] == "NotFound"
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4404}
