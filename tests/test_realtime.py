"""The shared real-time helper and base consumer: pushes after commit, envelope, validation."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.db import transaction

from civic import realtime
from civic.asgi import application
from civic.realtime import envelope

# Consumers run their database work in other threads: tests need real transactions.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://localhost:8000")]


async def _connect(path="/ws/health/", headers=ORIGIN):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    return communicator, connected


class _RecordingStore:
    def __init__(self, fail=False):
        self.marked, self.fail = [], fail

    def mark(self, topic, item_id):
        if self.fail:
            raise ConnectionError("redis is down")
        self.marked.append((topic, item_id))


def test_a_change_is_marked_only_after_commit(monkeypatch):
    store = _RecordingStore()
    monkeypatch.setattr(realtime, "_get_store", lambda: store)
    with transaction.atomic():
        realtime.mark_dirty_on_commit("test.topic", 7)
        assert store.marked == []  # nothing is marked, so nothing pushed, inside it
    assert store.marked == [("test.topic", 7)]


def test_nothing_is_marked_when_the_transaction_rolls_back(monkeypatch):
    store = _RecordingStore()
    monkeypatch.setattr(realtime, "_get_store", lambda: store)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        realtime.mark_dirty_on_commit("test.topic", 7)
        raise Boom
    assert store.marked == []


def test_a_failing_mark_is_logged_not_raised(monkeypatch, caplog):
    monkeypatch.setattr(realtime, "_get_store", lambda: _RecordingStore(fail=True))
    with transaction.atomic():
        realtime.mark_dirty_on_commit("test.topic", 7)
    assert "could not mark test.topic 7 for a push" in caplog.text


def test_envelope_is_the_one_message_shape():
    assert envelope("test.event", seq=1, payload={"n": 1}) == {
        "type": "test.event",
        "seq": 1,
        "payload": {"n": 1},
    }


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
