"""/ws/initiatives/{id}/: the live support count and status of one initiative."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext_lazy as _

from civic import realtime
from civic.consumers import EnvelopeConsumer
from civic.errors import NotFound

from .live import render_support
from .selectors import initiative_get, initiative_group, initiative_state

realtime.register_fragments(realtime.TOPIC_INITIATIVE_STATE, render_support)


class InitiativeConsumer(EnvelopeConsumer):
    @database_sync_to_async
    def _load(self):
        return initiative_get(
            initiative_id=self.scope["url_route"]["kwargs"]["initiative_id"],
            user=self.scope.get("user"),
        )

    async def authorize(self):
        self.initiative = await self._load()
        if self.initiative is None:
            raise NotFound(_("No such initiative."))

    async def groups_for(self):
        return [initiative_group(self.initiative.pk)]

    def watched(self):
        return [(realtime.TOPIC_INITIATIVE_STATE, self.initiative.pk)]

    def render_target(self):
        pk = self.initiative.pk
        return realtime.TOPIC_INITIATIVE_STATE, pk, initiative_group(pk)

    @database_sync_to_async
    def _snapshot(self):
        self.initiative.refresh_from_db()
        return initiative_state(
            self.initiative, seq=realtime.now_seq(), kind=realtime.EVENT_INITIATIVE_SNAPSHOT
        )

    async def snapshot(self):
        return await self._snapshot()
