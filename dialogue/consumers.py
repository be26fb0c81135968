"""/ws/dialogue/sessions/{id}/: the live question queue, a snapshot then coalesced updates.

Moderators (and the session's hosts) get the full queue with who asked; everyone else the
published questions, anonymous ones without a name.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext_lazy as _

from civic import realtime
from civic.consumers import EnvelopeConsumer
from civic.errors import NotFound

from .selectors import session_get, session_groups, session_message
from .services import is_session_moderator


class SessionQuestionsConsumer(EnvelopeConsumer):
    @database_sync_to_async
    def _load(self):
        session = session_get(session_id=self.scope["url_route"]["kwargs"]["session_id"])
        moderator = session is not None and is_session_moderator(session, self.scope.get("user"))
        return session, moderator

    async def authorize(self):
        self.session, self.moderator = await self._load()
        if self.session is None:
            raise NotFound(_("No such session."))

    async def groups_for(self):
        public, moderators = session_groups(self.session.pk)
        realtime.watch(realtime.TOPIC_SESSION_QUESTIONS, self.session.pk)
        self.watching = True
        return [moderators if self.moderator else public]

    async def disconnect(self, code):
        if getattr(self, "watching", False):
            realtime.unwatch(realtime.TOPIC_SESSION_QUESTIONS, self.session.pk)
        await super().disconnect(code)

    @database_sync_to_async
    def _snapshot(self):
        self.session.refresh_from_db()
        return session_message(
            self.session,
            seq=realtime.now_seq(),
            kind=realtime.EVENT_QUESTIONS_SNAPSHOT,
            for_moderators=self.moderator,
        )

    async def snapshot(self):
        return await self._snapshot()
