"""Every websocket route gets the catalogue of bad inputs, as every role: bad ids in its path,
then bad frames. Nothing may crash the application or close with 1011 (the socket's 500),
and no row may change."""

from __future__ import annotations

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async

from tests.conftest import WS_ORIGIN, session_cookie_header

from .catalogue import BAD_IDS, FRAMES
from .harness import RESULTS, count_diff, row_counts, short
from .world import ROLES, param_kind, seed_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_realtime")]

CLOSE_INTERNAL_ERROR = 1011
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")


def socket_routes() -> list[str]:
    """Every websocket route of civic.routing, as written there (the catch-all as "ws/x/")."""
    from civic.routing import websocket_urlpatterns

    routes = []
    for pattern in websocket_urlpatterns:
        route = str(pattern.pattern)
        routes.append(route if route else "ws/no-such-socket/")
    return routes


def fill(route: str, values: dict[str, str]) -> str:
    return "/" + _PARAM.sub(lambda m: values[m.group(1)], route)


class SocketFuzzer:
    """Opens sockets as one role and judges each handshake and frame."""

    def __init__(self, role: str, cookie: str | None):
        self.role = role
        self.cookie = cookie
        self.tally = RESULTS[(role, "sockets")]
        self.failures: list[str] = []

    def _count(self, status: int, describe: str, detail: str = "") -> None:
        self.tally.sent += 1
        self.tally.statuses[status] += 1
        if status >= 500:
            self.tally.errors += 1
            self.failures.append(f"{describe}: {detail}")
        elif status >= 400:
            self.tally.refused += 1
        else:
            self.tally.ok += 1

    async def open(self, path: str):
        from channels.testing import WebsocketCommunicator

        from civic.asgi import application

        headers = [WS_ORIGIN]
        if self.cookie:
            headers.append((b"cookie", self.cookie.encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        describe = f"[{self.role}] connect {short(path, 100)}"
        try:
            connected, code = await communicator.connect(timeout=2)
        except Exception as exc:  # the application raised during the handshake
            self._count(599, describe, repr(exc))
            return None
        if not connected:
            self._count(500 if code == CLOSE_INTERNAL_ERROR else 403, describe, f"close {code}")
            return None
        closed = await self._drain(communicator, describe)
        self._count(closed, describe, "")
        return None if closed >= 400 else communicator

    async def _drain(self, communicator, describe: str) -> int:
        """Read what the socket sends now: 200 while open, 4xx once closed with a 4xxx or
        1000-1009 code, 500 for 1011 or an exception."""
        status = 200
        try:
            while not await communicator.receive_nothing(timeout=0.015, interval=0.003):
                message = await communicator.receive_output(timeout=1)
                if message["type"] == "websocket.close":
                    code = message.get("code", 1000)
                    if code == CLOSE_INTERNAL_ERROR:
                        self.failures.append(f"{describe}: closed with 1011")
                        return 500
                    return 400 if code >= 4000 or code == 1009 else 410
                if '"type": "error"' in (message.get("text") or "").replace('":"', '": "'):
                    status = 400
        except Exception as exc:  # the application raised: the socket's 500
            self.failures.append(f"{describe}: the application raised {exc!r}")
            return 599
        return status

    async def frames(self, path: str) -> None:
        communicator = await self.open(path)
        for label, frame in FRAMES:
            describe = f"[{self.role}] {short(path, 60)} frame {label} {short(frame, 80)}"
            if communicator is None:
                communicator = await self.open(path)
                if communicator is None:  # refused on reopening: counted by open()
                    return
            key = "bytes" if isinstance(frame, bytes) else "text"
            await communicator.send_input({"type": "websocket.receive", key: frame})
            status = await self._drain(communicator, describe)
            self._count(status, describe, "")
            if status >= 400 and communicator.future.done():
                communicator = None
        if communicator is not None:
            await communicator.disconnect()


def test_every_socket_route_is_discovered():
    routes = socket_routes()
    assert "ws/polls/<int:poll_id>/" in routes
    assert "ws/dashboard/" in routes
    assert len(routes) >= 6


@pytest.mark.parametrize("role", ROLES)
async def test_socket_fuzz(role):
    world = await sync_to_async(seed_world)()
    user = world.users[role]
    cookie = await sync_to_async(session_cookie_header)(user) if user is not None else None
    fuzzer = SocketFuzzer(role, cookie)
    before = await sync_to_async(row_counts)()
    for route in socket_routes():
        names = _PARAM.findall(route)
        real = {name: world.first(param_kind(route, name)) for name in names}
        for name in names:
            for _label, bad in BAD_IDS:
                communicator = await fuzzer.open(fill(route, {**real, name: bad}))
                if communicator is not None:
                    await communicator.disconnect()
        await fuzzer.frames(fill(route, real))
        await asyncio.sleep(0)
    after = await sync_to_async(row_counts)()
    changed = await sync_to_async(count_diff)(before, after)
    assert not changed, f"[{role}] sockets changed rows: {changed}"
    assert not fuzzer.failures, "\n  ".join(fuzzer.failures[:40])
