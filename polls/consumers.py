"""/ws/polls/{id}/?lang=xx: a snapshot of the results, then coalesced updates, as visibility
allows; each message carries the results rendered in the socket's language (polls.live)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_official
from civic import realtime
from civic.consumers import EnvelopeConsumer
from civic.errors import NotFound

from .live import render_results
from .selectors import poll_get, poll_groups, poll_results_for
from .services import RESULTS_TOPIC

realtime.register_fragments(RESULTS_TOPIC, render_results)


class PollResultsConsumer(EnvelopeConsumer):
    @database_sync_to_async
    def _load(self):
        user = self.scope.get("user")
        poll = poll_get(poll_id=self.scope["url_route"]["kwargs"]["poll_id"], user=user)
        return poll, is_official(user)

    async def authorize(self):
        self.poll, self.official = await self._load()
        if self.poll is None:
            raise NotFound(_("No such poll."))

    async def groups_for(self):
        public, officials = poll_groups(self.poll.pk)
        return [officials if self.official else public]

    def watched(self):
        return [(RESULTS_TOPIC, self.poll.pk)]

    def render_target(self):
        public, officials = poll_groups(self.poll.pk)
        return RESULTS_TOPIC, self.poll.pk, officials if self.official else public

    @database_sync_to_async
    def _snapshot(self):
        self.poll.refresh_from_db()
        return poll_results_for(self.poll, self.scope.get("user"), seq=realtime.now_seq())

    async def snapshot(self):
        return await self._snapshot()
