"""/ws/dashboard/: the officials' live summary. Anonymous sockets are closed with 4401,
citizens' with 4403 (accepted first, so the browser sees the code)."""

from __future__ import annotations

from channels.db import database_sync_to_async

from accounts.permissions import is_official
from civic import realtime
from civic.consumers import EnvelopeConsumer

from .permissions import require_dashboard
from .selectors import dashboard_for


class DashboardConsumer(EnvelopeConsumer):
    async def authorize(self):
        user = self.scope.get("user")
        await database_sync_to_async(require_dashboard)(user)
        self.official = await database_sync_to_async(is_official)(user)

    async def groups_for(self):
        realtime.watch(realtime.TOPIC_DASHBOARD, 0)
        self.watching = True
        # Moderators get the tallies officials-only polls hide from them withheld.
        return [realtime.GROUP_DASHBOARD if self.official else realtime.GROUP_DASHBOARD_MODERATORS]

    async def disconnect(self, code):
        if getattr(self, "watching", False):
            realtime.unwatch(realtime.TOPIC_DASHBOARD, 0)
        await super().disconnect(code)

    @database_sync_to_async
    def _snapshot(self):
        return realtime.envelope(
            realtime.EVENT_DASHBOARD_SNAPSHOT,
            seq=realtime.now_seq(),
            payload=dashboard_for(self.scope.get("user")),
        )

    async def snapshot(self):
        return await self._snapshot()
