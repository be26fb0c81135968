"""/ws/dashboard/?lang=xx: the officials' live summary, with its fragments rendered on the server
in the socket's language (dashboard.live) once per audience and language per tick. Anonymous sockets are closed with 4401,
citizens' with 4403 (accepted first, so the browser sees the code).

The snapshot (on connect and on a resync) is the last payload computed for the socket's
audience and language while it is fresh (dashboard.selectors.dashboard_snapshot): many
dashboards reconnecting at once cost one computation, not one each.
"""

from __future__ import annotations

import asyncio
import time

from channels.db import database_sync_to_async

from civic import realtime
from civic.consumers import RESYNC_MIN_SECONDS, EnvelopeConsumer
from polls.services import RESULTS_TOPIC

from .live import render_dashboard, render_projector
from .permissions import require_dashboard
from .selectors import AUDIENCE_GROUPS, audience_of, dashboard_snapshot

realtime.register_fragments(realtime.TOPIC_DASHBOARD, render_dashboard)
# The projector listens on its poll's socket: its chart comes with the poll page's.
realtime.register_fragments(RESULTS_TOPIC, render_projector)

# A client may ask for the state again at most once a RESYNC_MIN_SECONDS, as on every socket;
# here more frames in between are not refused but answered by one snapshot at the end of the
# interval (the last ask wins), since a dashboard's page asks after every reconnect.


class DashboardConsumer(EnvelopeConsumer):
    async def authorize(self):
        user = self.scope.get("user")
        await database_sync_to_async(require_dashboard)(user)
        self.audience = await database_sync_to_async(audience_of)(user)

    async def groups_for(self):
        # Moderators get the tallies officials-only polls hide from them withheld; the base
        # consumer adds the language (dashboard_group(audience, lang)).
        return [AUDIENCE_GROUPS[self.audience]]

    def render_target(self):
        return realtime.TOPIC_DASHBOARD, 0, AUDIENCE_GROUPS[self.audience]

    def watched(self):
        return [(realtime.TOPIC_DASHBOARD, 0)]

    async def disconnect(self, code):
        pending = getattr(self, "_pending_resync", None)
        if pending is not None:
            pending.cancel()
        await super().disconnect(code)

    async def snapshot(self):
        seq, payload = await database_sync_to_async(dashboard_snapshot)(
            audience=self.audience, lang=self.lang
        )
        return realtime.envelope(realtime.EVENT_DASHBOARD_SNAPSHOT, seq=seq, payload=payload)

    async def handle_frame(self, frame):
        if frame["type"] != "resync":
            await super().handle_frame(frame)
            return
        if getattr(self, "_pending_resync", None) is not None:
            return  # one is already due at the end of the interval
        wait = getattr(self, "_last_resync", float("-inf")) + RESYNC_MIN_SECONDS
        wait -= time.monotonic()
        if wait <= 0:
            self._last_resync = time.monotonic()
            await self.send_snapshot()
            return
        self._pending_resync = asyncio.ensure_future(self._resync_later(wait))

    async def _resync_later(self, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
            self._last_resync = time.monotonic()
            await self.send_snapshot()
        finally:
            self._pending_resync = None
