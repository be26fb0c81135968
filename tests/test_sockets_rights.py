"""Open sockets follow their user's rights: a role revoked, a password changed, a sign-out, an
expired session or a ban closes them within 5 s (4401 no longer signed in, 4403 no longer
allowed), and nothing is sent on them after that; a resync checks the right again first."""

import asyncio
import json
import time
from datetime import timedelta
from importlib import import_module

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from civic.asgi import application
from dialogue.services import session_ban
from polls.services import vote_cast
from tests.conftest import WS_ORIGIN, ws_connect, ws_drain
from tests.factories import (
    TEST_PASSWORD,
    ModeratorFactory,
    OfficialFactory,
    UserFactory,
    choice_ids,
    make_poll,
    make_session,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_realtime")]

CLOSE_WITHIN = 5.0
SessionStore = import_module(django_settings.SESSION_ENGINE).SessionStore


@pytest.fixture(autouse=True)
def _pushes_only(settings):
    # The periodic re-check would close these sockets too, a few seconds later; with it far
    # away, each test shows that the change itself closes them (the expiry test sets it).
    settings.REALTIME_RECHECK_SECONDS = 60
    # No periodic re-push of the dashboard either: every frame a test sees has a cause.
    settings.REALTIME_RESYNC_SECONDS = 600


async def closed_within(
    ws, seconds: float = CLOSE_WITHIN, *, updates_before: bool = False
) -> tuple[int, float]:
    """The close code and when it came. Fails on any data frame before it: a socket whose
    user lost the right gets nothing more, not one more update or snapshot. With
    `updates_before` (the change's push was lost, so the socket cannot know before its
    periodic check) updates sent meanwhile are let through, never a snapshot."""
    started = time.monotonic()
    while True:
        left = max(0.05, seconds - (time.monotonic() - started))
        output = await ws.receive_output(timeout=left)
        if output["type"] == "websocket.close":
            return output.get("code"), time.monotonic() - started
        frame = json.loads(output.get("text") or "{}")
        assert updates_before and frame.get("type", "").endswith(".update"), (
            f"data after the change: {output}"
        )


async def nothing_after(ws, seconds: float = 1.0) -> None:
    assert await ws.receive_nothing(timeout=seconds, interval=0.05)
    await ws.disconnect()  # what the server does once the client answers the close


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def socket_of(client: Client, path: str) -> WebsocketCommunicator:
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = WebsocketCommunicator(application, path, headers=[WS_ORIGIN, (b"cookie", cookie)])
    assert (await ws.connect(timeout=5))[0]
    return ws


async def dashboard_socket(user_or_client):
    if isinstance(user_or_client, Client):
        ws = await socket_of(user_or_client, "/ws/dashboard/")
    else:
        ws = await ws_connect("/ws/dashboard/", user_or_client, timeout=5)
    assert (await ws.receive_json_from(timeout=5))["type"] == "dashboard.snapshot"
    await ws_drain(ws, 0.3)  # the first tick's push
    return ws


async def still_open(ws, stream: str) -> None:
    """The socket answers a resync with a snapshot: it was not closed."""
    await ws.send_json_to({"type": "resync"})
    message = await ws.receive_json_from(timeout=5)
    while message["type"] != f"{stream}.snapshot":  # an update pushed meanwhile
        assert message["type"] == f"{stream}.update", message
        message = await ws.receive_json_from(timeout=5)


async def test_finding_revoked_official_socket_closes():
    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(official=official)
    a = (await sync_to_async(choice_ids)(poll))[0]
    ws = await dashboard_socket(official)
    other_official = await sync_to_async(OfficialFactory)()
    colleague = await dashboard_socket(other_official)

    await sync_to_async(call_command)(
        "grant_role", official.email, "--role", "official", "--revoke"
    )
    # A vote right after: its dashboard update must not reach the revoked socket.
    await sync_to_async(vote_cast)(
        poll_id=poll.pk, choice_ids=[a], user=await sync_to_async(UserFactory)()
    )

    code, took = await closed_within(ws)
    assert code == 4403 and took < CLOSE_WITHIN
    await nothing_after(ws)
    # The colleague still has the right and gets the vote.
    updates = await ws_drain(colleague, 1.0)
    assert any(m["type"] == "dashboard.update" for m in updates)
    # And a new socket of the revoked user is refused too.
    again = await ws_connect("/ws/dashboard/", official, timeout=5)
    assert (await again.receive_json_from(timeout=5))["payload"]["code"] == "not_staff"
    assert (await again.receive_output(timeout=5))["code"] == 4403
    await colleague.disconnect()


async def test_finding_revoked_official_poll_socket_moves_to_the_public_view():
    """Still allowed to watch the poll, no longer its officials-only tallies: the socket
    leaves the officials' group and gets the citizens' snapshot."""
    from polls.models import Poll

    official = await sync_to_async(OfficialFactory)()
    poll = await sync_to_async(make_poll)(
        official=official, results_visibility=Poll.Visibility.OFFICIALS
    )
    ws = await ws_connect(f"/ws/polls/{poll.pk}/", official, timeout=5)
    first = await ws.receive_json_from(timeout=5)
    assert first["results_visible"] is True
    await ws_drain(ws, 0.3)

    await sync_to_async(call_command)(
        "grant_role", official.email, "--role", "official", "--revoke"
    )
    message = await ws.receive_json_from(timeout=CLOSE_WITHIN)
    assert message["type"] == "results.snapshot", message
    assert message["results_visible"] is False
    assert {c["votes"] for c in message["choices"]} == {None}
    for later in await ws_drain(ws, 0.5):
        assert later["results_visible"] is False, later
    await ws.disconnect()


async def test_finding_password_change_closes_old_socket():
    official = await sync_to_async(OfficialFactory)()
    laptop = await sync_to_async(signed_in_client)(official)
    phone = await sync_to_async(signed_in_client)(official)
    old = await dashboard_socket(laptop)

    response = await sync_to_async(phone.post)(
        "/en/accounts/password/change/",
        {"oldpassword": TEST_PASSWORD, "password1": "a-New-passw0rd-2026", "password2": "a-New-passw0rd-2026"},
    )  # fmt: skip
    assert response.status_code == 302

    code, took = await closed_within(old)
    assert code == 4401 and took < CLOSE_WITHIN
    await nothing_after(old)
    # The session that changed the password goes on; a socket opened with it is served.
    new = await dashboard_socket(phone)
    await still_open(new, "dashboard")
    await new.disconnect()


async def test_finding_logout_closes_socket():
    official = await sync_to_async(OfficialFactory)()
    laptop = await sync_to_async(signed_in_client)(official)
    phone = await sync_to_async(signed_in_client)(official)
    signed_out, elsewhere = await dashboard_socket(laptop), await dashboard_socket(phone)

    response = await sync_to_async(laptop.post)("/en/accounts/logout/")
    assert response.status_code == 302

    code, took = await closed_within(signed_out)
    assert code == 4401 and took < CLOSE_WITHIN
    await nothing_after(signed_out)
    # Signing out on the laptop ends the laptop's session only.
    await still_open(elsewhere, "dashboard")
    await elsewhere.disconnect()


@pytest.mark.parametrize("how", ["expired", "deleted"])
async def test_finding_expired_session_closes_socket(settings, how):
    settings.REALTIME_RECHECK_SECONDS = 0.5  # nothing is pushed when a session runs out
    official = await sync_to_async(OfficialFactory)()
    client = await sync_to_async(signed_in_client)(official)
    ws = await dashboard_socket(client)
    # Through the session store, as Django ends sessions (with Redis, sessions are cached).
    store = SessionStore(client.cookies["sessionid"].value)

    if how == "expired":

        def expire_in_a_second():
            store.set_expiry(timezone.now() + timedelta(seconds=1))
            store.save()

        await sync_to_async(expire_in_a_second)()
        await asyncio.sleep(1.2)
        assert await sync_to_async(SessionStore(store.session_key).load)() == {}  # expired
    else:
        await sync_to_async(store.delete)()

    code, took = await closed_within(ws)
    assert code == 4401 and took < CLOSE_WITHIN
    await nothing_after(ws)


async def test_finding_ban_closes_session_socket():
    moderator = await sync_to_async(ModeratorFactory)()
    session = await sync_to_async(make_session)(actor=moderator)
    other = await sync_to_async(make_session)(actor=moderator, title="Another open hour")
    citizen = await sync_to_async(UserFactory)()
    banned = await ws_connect(f"/ws/dialogue/sessions/{session.pk}/", citizen, timeout=5)
    assert (await banned.receive_json_from(timeout=5))["type"] == "questions.snapshot"
    elsewhere = await ws_connect(f"/ws/dialogue/sessions/{other.pk}/", citizen, timeout=5)
    assert (await elsewhere.receive_json_from(timeout=5))["type"] == "questions.snapshot"

    await sync_to_async(session_ban)(
        actor=moderator, session_id=session.pk, user_id=citizen.pk, reason="Insults"
    )

    code, took = await closed_within(banned)
    assert code == 4403 and took < CLOSE_WITHIN
    await nothing_after(banned)
    # The ban is for that session only.
    await still_open(elsewhere, "questions")
    again = await ws_connect(f"/ws/dialogue/sessions/{session.pk}/", citizen, timeout=5)
    assert (await again.receive_json_from(timeout=5))["payload"]["code"] == "banned"
    assert (await again.receive_output(timeout=5))["code"] == 4403
    await elsewhere.disconnect()


async def test_finding_resync_rechecks_rights():
    """Even when no push says so (the role taken away behind the services' back), a resync
    answers only someone who may still see the dashboard."""
    from django.contrib.auth.models import Group

    official = await sync_to_async(OfficialFactory)()
    ws = await dashboard_socket(official)
    group = await sync_to_async(Group.objects.get)(name=Role.OFFICIAL.value)
    await sync_to_async(official.groups.remove)(group)

    await ws.send_json_to({"type": "resync"})
    code, took = await closed_within(ws)
    assert code == 4403 and took < CLOSE_WITHIN
    await nothing_after(ws)


async def test_a_lost_push_is_made_good_by_the_periodic_recheck(settings, monkeypatch):
    """The role revoked while Redis was down (its push lost): the sockets' periodic check sees
    the user's roles changed and closes the socket."""
    import civic.consumers
    from accounts.services import role_revoke

    settings.REALTIME_RECHECK_SECONDS = 0.5
    official = await sync_to_async(OfficialFactory)()
    colleagues = [await sync_to_async(OfficialFactory)() for _ in range(3)]
    ws = await dashboard_socket(official)
    others = [await dashboard_socket(c) for c in colleagues]
    batches = []
    real = civic.consumers.session_fingerprints

    def counting(sessions):
        batches.append(len(sessions))
        return real(sessions)

    monkeypatch.setattr(civic.consumers, "session_fingerprints", counting)
    monkeypatch.setattr("accounts.services.rights_changed_on_commit", lambda *a, **k: None)
    await sync_to_async(role_revoke)(actor=None, user=official, role=Role.OFFICIAL)

    code, took = await closed_within(ws, updates_before=True)
    assert code == 4403 and took < CLOSE_WITHIN
    await nothing_after(ws)
    # One batch a round for every signed-in socket of the process, not a query per socket.
    assert batches and max(batches) == 4, batches
    for other in others:
        await still_open(other, "dashboard")
        await other.disconnect()


async def test_a_password_set_anywhere_else_closes_old_sockets(settings):
    """`manage.py changepassword`, the admin: no signal, the periodic check sees it."""
    settings.REALTIME_RECHECK_SECONDS = 0.5
    official = await sync_to_async(OfficialFactory)()
    ws = await dashboard_socket(official)

    def change():
        official.set_password("an-Admin-set-passw0rd")
        official.save(update_fields=["password"])

    await sync_to_async(change)()
    code, took = await closed_within(ws)
    assert code == 4401 and took < CLOSE_WITHIN
    await nothing_after(ws)
