"""/ws/initiatives/{id}/: a snapshot of the support count, then live updates; drafts hidden."""

import pytest
from asgiref.sync import sync_to_async

from civic import realtime
from communities.services import support_add
from tests.conftest import ws_connect, ws_drain
from tests.factories import UserFactory, make_initiative

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_realtime")]


async def _connect(initiative_id):
    return await ws_connect(f"/ws/initiatives/{initiative_id}/")


async def test_snapshot_then_updates_as_citizens_support():
    initiative = await sync_to_async(make_initiative)()
    ws = await _connect(initiative.pk)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "initiative.snapshot"
    assert snapshot["payload"]["supports_count"] == 0
    assert snapshot["payload"]["status"] == "submitted"
    assert snapshot["payload"]["in_review_queue"] is False  # submitted, below its threshold
    for _ in range(3):
        user = await sync_to_async(UserFactory)()
        await sync_to_async(support_add)(actor=user, initiative_id=initiative.pk)
    messages = await ws_drain(ws, 1.0)
    updates = [m for m in messages if m["type"] == "initiative.update"]
    assert updates, messages
    assert updates[-1]["payload"]["supports_count"] == 3
    assert all(u["seq"] > snapshot["seq"] for u in updates)
    await ws.disconnect()


async def test_a_draft_or_missing_initiative_is_refused_with_4404():
    draft = await sync_to_async(make_initiative)(status="draft")
    for target in (draft.pk, 999999):
        ws = await _connect(target)
        error = await ws.receive_json_from(timeout=5)
        assert error["type"] == realtime.EVENT_ERROR
        closed = await ws.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}
