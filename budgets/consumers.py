"""/ws/budgets/{id}/: a round's snapshot (ballots cast, turnout, per-project counts when
visible to the socket's user), then coalesced updates. Carries messages, nothing more."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_official
from civic import realtime
from civic.consumers import EnvelopeConsumer
from civic.errors import NotFound

from .live import render_round
from .selectors import round_get, round_groups, round_snapshot_message

realtime.register_fragments(realtime.TOPIC_BUDGET_ROUND, render_round)


class BudgetRoundConsumer(EnvelopeConsumer):
    @database_sync_to_async
    def _load(self):
        user = self.scope.get("user")
        budget_round = round_get(round_id=self.scope["url_route"]["kwargs"]["round_id"], user=user)
        return budget_round, is_official(user)

    async def authorize(self):
        self.round, self.official = await self._load()
        if self.round is None:
            raise NotFound(_("No such budget round."))

    async def groups_for(self):
        public, officials = round_groups(self.round.pk)
        return [officials if self.official else public]

    def watched(self):
        return [(realtime.TOPIC_BUDGET_ROUND, self.round.pk)]

    def render_target(self):
        public, officials = round_groups(self.round.pk)
        return realtime.TOPIC_BUDGET_ROUND, self.round.pk, officials if self.official else public

    @database_sync_to_async
    def _snapshot(self):
        fresh = round_get(round_id=self.round.pk, user=self.scope.get("user"))
        if fresh is None:
            return None
        self.round = fresh
        return round_snapshot_message(fresh, self.scope.get("user"), seq=realtime.now_seq())

    async def snapshot(self):
        return await self._snapshot()
