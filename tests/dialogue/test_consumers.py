"""/ws/dialogue/sessions/{id}/ with WebsocketCommunicator: snapshot, coalesced updates,
what moderators and citizens each see, and refused or malformed traffic."""

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from civic.asgi import application
from dialogue import services
from dialogue.models import Question
from tests.conftest import REALTIME_TICK, WS_ORIGIN, ws_connect, ws_drain
from tests.factories import ModeratorFactory, OfficialFactory, UserFactory, make_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_realtime")]

TICK = REALTIME_TICK


async def connect(session_id, user=None):
    return await ws_connect(f"/ws/dialogue/sessions/{session_id}/", user)


ask = sync_to_async(services.question_ask)
vote = sync_to_async(services.question_vote)
moderate = sync_to_async(services.question_moderate)
new_user = sync_to_async(UserFactory)


def ids(message):
    return [q["id"] for q in message["payload"]["questions"]]


async def test_snapshot_then_updates_when_asked_and_when_upvotes_resort():
    session = await sync_to_async(make_session)()
    ws = await connect(session.pk)
    snapshot = await ws.receive_json_from(timeout=5)
    html = snapshot["payload"].pop("html")  # the fragments, beside the data
    assert snapshot == {
        "type": "questions.snapshot",
        "seq": snapshot["seq"],
        "payload": {"session": session.pk, "state": "live", "pinned": None, "questions": []},
    }
    assert isinstance(snapshot["seq"], int)
    assert set(html) == {f"session-{session.pk}-questions", f"presenter-{session.pk}-queue"}

    first = await ask(actor=await new_user(), session_id=session.pk, text="Bike lanes?")
    updates = await ws_drain(ws, 0.5)
    assert updates and all(m["type"] == "questions.update" for m in updates)
    assert updates[-1]["seq"] > snapshot["seq"]
    shown = updates[-1]["payload"]["questions"]
    assert [(q["id"], q["text"], q["upvotes"]) for q in shown] == [(first.pk, "Bike lanes?", 0)]
    # The session page's list and the presenter's queue, rendered on the server.
    fragments = updates[-1]["payload"]["html"]
    assert f'id="question-{first.pk}"' in fragments[f"session-{session.pk}-questions"]
    assert "Bike lanes?" in fragments[f"presenter-{session.pk}-queue"]

    second = await ask(actor=await new_user(), session_id=session.pk, text="Snow removal?")
    assert ids((await ws_drain(ws, 0.5))[-1]) == [first.pk, second.pk]  # equal votes: oldest first
    for _ in range(2):
        await vote(actor=await new_user(), question_id=second.pk)
    resorted = (await ws_drain(ws, 0.5))[-1]
    assert ids(resorted) == [second.pk, first.pk]
    assert [q["upvotes"] for q in resorted["payload"]["questions"]] == [2, 0]
    await ws.disconnect()


async def test_upvotes_within_a_tick_are_coalesced():
    session = await sync_to_async(make_session)()
    question = await ask(actor=await new_user(), session_id=session.pk, text="Air quality?")
    voters = await sync_to_async(lambda: [UserFactory() for _ in range(20)])()
    ws = await connect(session.pk)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["payload"]["questions"][0]["upvotes"] == 0
    started = time.monotonic()
    for voter in voters:
        await vote(actor=voter, question_id=question.pk)
    elapsed = time.monotonic() - started
    updates = await ws_drain(ws, 0.6)
    assert updates, "no update arrived"
    # At most one per tick, never one per vote; the last one is the final state.
    assert len(updates) < len(voters)
    assert len(updates) <= (elapsed + 0.6) / TICK + 1
    seqs = [m["seq"] for m in updates]
    assert seqs == sorted(seqs)
    assert updates[-1]["payload"]["questions"][0]["upvotes"] == 20
    await ws.disconnect()


async def test_moderators_see_pending_and_anonymous_authors_citizens_do_not():
    moderator = await sync_to_async(ModeratorFactory)()
    session = await sync_to_async(make_session)(moderation="pre")
    asker = await sync_to_async(UserFactory)(display_name="Aruzhan Bekova")
    citizen = await new_user()
    public = await connect(session.pk, user=citizen)
    private = await connect(session.pk, user=moderator)
    assert (await public.receive_json_from(timeout=5))["payload"]["questions"] == []
    assert (await private.receive_json_from(timeout=5))["payload"]["questions"] == []

    question = await ask(
        actor=asker, session_id=session.pk, text="Who pays for the canal?", anonymous=True
    )
    seen = (await ws_drain(private, 0.5))[-1]["payload"]["questions"]
    assert [(q["id"], q["state"], q["author"]) for q in seen] == [
        (question.pk, "pending", "Aruzhan Bekova")
    ]
    assert seen[0]["author_id"] == asker.pk
    assert all(m["payload"]["questions"] == [] for m in await ws_drain(public, 0.2))

    await moderate(actor=moderator, question_id=question.pk, action="approve")
    published = (await ws_drain(public, 0.5))[-1]["payload"]["questions"]
    assert [(q["id"], q["state"], q["author"]) for q in published] == [
        (question.pk, "approved", "Anonymous")
    ]
    assert "author_id" not in published[0]
    assert "Aruzhan" not in str(published)
    assert (await ws_drain(private, 0.3))[-1]["payload"]["questions"][0]["author"] == (
        "Aruzhan Bekova"
    )

    await moderate(actor=moderator, question_id=question.pk, action="pin")
    pinned = (await ws_drain(public, 0.5))[-1]["payload"]["pinned"]
    assert pinned["id"] == question.pk and pinned["author"] == "Anonymous"
    await public.disconnect()
    await private.disconnect()


async def test_a_host_gets_the_moderator_view():
    host = await sync_to_async(OfficialFactory)()  # hosts are officials or moderators
    session = await sync_to_async(make_session)(moderation="pre", hosts=[host])
    question = await ask(actor=await new_user(), session_id=session.pk, text="Pending?")
    ws = await connect(session.pk, user=host)
    assert ids(await ws.receive_json_from(timeout=5)) == [question.pk]
    other = await connect(session.pk, user=await new_user())
    assert ids(await other.receive_json_from(timeout=5)) == []
    await ws.disconnect()
    await other.disconnect()


async def test_unknown_session_closes_with_4404():
    for path in ("/ws/dialogue/sessions/999999/", f"/ws/dialogue/sessions/{2**70}/"):
        ws = WebsocketCommunicator(application, path, headers=[WS_ORIGIN])
        connected, _ = await ws.connect()
        assert connected  # accepted, then closed with a code the browser can read
        error = await ws.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["payload"]["code"] == "NotFound"
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def test_foreign_origin_is_refused():
    session = await sync_to_async(make_session)()
    ws = WebsocketCommunicator(
        application,
        f"/ws/dialogue/sessions/{session.pk}/",
        headers=[(b"origin", b"https://evil.example")],
    )
    connected, _ = await ws.connect()
    assert not connected


async def test_malformed_frames_get_errors_and_a_huge_frame_closes_1009():
    session = await sync_to_async(make_session)()
    question = await ask(actor=await new_user(), session_id=session.pk, text="Trams?")
    ws = await connect(session.pk)
    await ws.receive_json_from(timeout=5)
    await ws.send_to(text_data="{broken")
    assert (await ws.receive_json_from(timeout=5))["payload"]["code"] == "malformed"
    await ws.send_to(text_data='["type", "resync"]')
    assert (await ws.receive_json_from(timeout=5))["payload"]["code"] == "malformed"
    await ws.send_json_to({"type": 5})
    assert (await ws.receive_json_from(timeout=5))["payload"]["code"] == "malformed"
    await ws.send_to(bytes_data=b"\x00\x01")
    assert (await ws.receive_json_from(timeout=5))["payload"]["code"] == "binary_not_supported"
    await ws.send_json_to({"type": "upvote", "question": question.pk})
    reply = await ws.receive_json_from(timeout=5)
    assert reply == {
        "type": "error",
        "seq": 0,
        "payload": {"code": "read_only", "detail": reply["payload"]["detail"]},
    }
    await ws.send_json_to({"type": "resync"})
    resync = await ws.receive_json_from(timeout=5)
    assert resync["type"] == "questions.snapshot" and ids(resync) == [question.pk]
    await ws.send_to(text_data='{"type": "resync", "pad": "' + "x" * 4100 + '"}')
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 1009}
    assert await sync_to_async(Question.objects.count)() == 1
    assert (await sync_to_async(Question.objects.get)(pk=question.pk)).upvotes_count == 0


async def test_people_without_a_display_name_are_pushed_as_citizen():
    # public_name falls back to a lazy translation, which a Redis channel layer can't encode.
    session = await sync_to_async(make_session)()
    ws = await connect(session.pk)
    await ws.receive_json_from(timeout=5)
    nameless = await sync_to_async(UserFactory)(display_name="")
    question = await ask(actor=nameless, session_id=session.pk, text="Street lights?")
    updates = await ws_drain(ws, 0.6)
    assert updates, "no update arrived"
    assert updates[-1]["payload"]["questions"][0]["id"] == question.pk
    assert updates[-1]["payload"]["questions"][0]["author"] == "Citizen"
    await ws.disconnect()
