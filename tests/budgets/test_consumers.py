"""/ws/budgets/{id}/ with WebsocketCommunicator: the snapshot, coalesced updates as ballots
come in, per-project counts only where visible, the close pushed, drafts refused."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from budgets.models import BudgetBallot
from budgets.services import ballot_cast, forget_round_meta, round_close
from civic.asgi import application
from tests.budgets.test_views import ids, make_round
from tests.conftest import WS_ORIGIN, ws_connect, ws_drain
from tests.factories import OfficialFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_realtime")]


@pytest.fixture(autouse=True)
def _forget_round_meta():
    forget_round_meta()
    yield
    forget_round_meta()


async def connect(round_id, user=None):
    return await ws_connect(f"/ws/budgets/{round_id}/", user, timeout=5)


async def test_snapshot_then_coalesced_updates():
    budget_round = await sync_to_async(make_round)(results_visibility="live")
    a, b, c = await sync_to_async(ids)(budget_round)
    ws = await connect(budget_round.pk)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "budget.snapshot"
    payload = snapshot["payload"]
    assert payload["round"] == budget_round.pk
    assert payload["status"] == "open"
    assert payload["ballots"] == 0
    assert payload["results_visible"] is True
    assert payload["projects"] == [{"id": x, "votes": 0} for x in (a, b, c)]
    assert set(snapshot) == {"type", "seq", "payload"}

    voters = await sync_to_async(lambda: [UserFactory() for _ in range(20)])()
    started = time.monotonic()
    for i, voter in enumerate(voters):
        picks = [a, b] if i % 2 else [c]
        await sync_to_async(ballot_cast)(actor=voter, round_id=budget_round.pk, project_ids=picks)
    elapsed = time.monotonic() - started
    updates = await ws_drain(ws, 1.0)
    assert updates, "no update arrived"
    assert all(m["type"] == "budget.update" for m in updates)
    # Coalesced: at most one a tick, never one per ballot; the last is the final state.
    assert len(updates) < 20
    assert len(updates) <= (elapsed + 1.0) / 0.1 + 1
    seqs = [m["seq"] for m in updates]
    assert seqs == sorted(seqs) and seqs[0] > snapshot["seq"]
    last = updates[-1]["payload"]
    assert last["ballots"] == 20
    assert last["projects"] == [
        {"id": a, "votes": 10},
        {"id": b, "votes": 10},
        {"id": c, "votes": 10},
    ]
    assert last["turnout_pct"] is not None and 0 < last["turnout_pct"] <= 100
    await ws.disconnect()


async def test_hidden_counts_stay_hidden_but_ballots_and_turnout_are_pushed():
    official = await sync_to_async(OfficialFactory)()
    budget_round = await sync_to_async(make_round)(
        official=official, results_visibility="officials"
    )
    a = (await sync_to_async(ids)(budget_round))[0]
    public = await connect(budget_round.pk)
    officials = await connect(budget_round.pk, user=official)
    assert (await public.receive_json_from(timeout=5))["payload"]["results_visible"] is False
    assert (await officials.receive_json_from(timeout=5))["payload"]["results_visible"] is True
    voter = await sync_to_async(UserFactory)()
    await sync_to_async(ballot_cast)(actor=voter, round_id=budget_round.pk, project_ids=[a])
    public_update = (await ws_drain(public, 0.6))[-1]["payload"]
    official_update = (await ws_drain(officials, 0.2))[-1]["payload"]
    assert public_update["ballots"] == 1
    assert all(p["votes"] is None for p in public_update["projects"])
    assert official_update["ballots"] == 1
    assert official_update["projects"][0] == {"id": a, "votes": 1}
    await public.disconnect()
    await officials.disconnect()


async def test_the_close_is_pushed():
    official = await sync_to_async(OfficialFactory)()
    budget_round = await sync_to_async(make_round)(official=official)
    a = (await sync_to_async(ids)(budget_round))[0]
    ws = await connect(budget_round.pk)
    await ws.receive_json_from(timeout=5)
    voter = await sync_to_async(UserFactory)()
    await sync_to_async(ballot_cast)(actor=voter, round_id=budget_round.pk, project_ids=[a])
    await sync_to_async(round_close)(actor=official, round_id=budget_round.pk)
    updates = await ws_drain(ws, 0.8)
    assert updates[-1]["payload"]["status"] == "closed"
    assert updates[-1]["payload"]["ballots"] == 1
    await ws.disconnect()


async def test_unknown_and_draft_rounds_are_refused_with_4404():
    draft = await sync_to_async(make_round)(open_now=False)
    for path in ("/ws/budgets/999999/", f"/ws/budgets/{draft.pk}/"):
        ws = WebsocketCommunicator(application, path, headers=[WS_ORIGIN])
        connected, _ = await ws.connect()
        assert connected
        error = await ws.receive_json_from(timeout=5)
        assert error["type"] == "error" and error["payload"]["code"] == "NotFound"
        assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4404}


async def test_an_official_sees_a_draft_and_the_socket_takes_no_commands():
    official = await sync_to_async(OfficialFactory)()
    draft = await sync_to_async(make_round)(official=official, open_now=False)
    ws = await connect(draft.pk, user=official)
    assert (await ws.receive_json_from(timeout=5))["payload"]["status"] == "draft"
    await ws.send_json_to({"type": "ballot", "projects": [1]})
    assert (await ws.receive_json_from(timeout=5))["payload"]["code"] == "read_only"
    await ws.send_json_to({"type": "resync"})
    assert (await ws.receive_json_from(timeout=5))["type"] == "budget.snapshot"
    assert await sync_to_async(BudgetBallot.objects.count)() == 0
    await ws.disconnect()


async def test_the_dashboard_follows_a_rounds_ballots():
    official = await sync_to_async(OfficialFactory)()
    budget_round = await sync_to_async(make_round)(official=official)
    a = (await sync_to_async(ids)(budget_round))[0]
    ws = await ws_connect("/ws/dashboard/", official, timeout=5)
    snapshot = await ws.receive_json_from(timeout=5)
    assert snapshot["type"] == "dashboard.snapshot"
    mine = [r for r in snapshot["payload"]["rounds"] if r["id"] == budget_round.pk]
    assert mine and mine[0]["ballots"] == 0 and mine[0]["title"] == "Almaty People's Budget"
    voter = await sync_to_async(UserFactory)()
    await sync_to_async(ballot_cast)(actor=voter, round_id=budget_round.pk, project_ids=[a])
    deadline = time.monotonic() + 3
    seen = None
    while time.monotonic() < deadline and seen != 1:
        message = await ws.receive_json_from(timeout=3)
        if message["type"] != "dashboard.update":
            continue
        rounds = {r["id"]: r for r in message["payload"]["rounds"]}
        seen = rounds.get(budget_round.pk, {}).get("ballots")
    assert seen == 1
    assert rounds[budget_round.pk]["turnout_pct"] is not None
    await ws.disconnect()
