"""/ws/dialogue/sessions/{id}/: the live question queue, a snapshot then coalesced updates.

Moderators (and the session's hosts) get the full queue with who asked; everyone else the
published questions, anonymous ones without a name.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext_lazy as _

from civic import realtime
from civic.consumers import EnvelopeConsumer
from civic.errors import Forbidden, NotFound

from .live import render_questions
from .selectors import (
    is_banned,
    is_session_moderator,
    session_get,
    session_groups,
    session_message,
)

realtime.register_fragments(realtime.TOPIC_SESSION_QUESTIONS, render_questions)


class SessionQuestionsConsumer(EnvelopeConsumer):
    @database_sync_to_async
    def _load(self):
        user = self.scope.get("user")
        session = session_get(session_id=self.scope["url_route"]["kwargs"]["session_id"])
        if session is None:
            return None, False, False
        return session, is_session_moderator(session, user), is_banned(session, user)

    async def authorize(self):
        self.session, self.moderator, banned = await self._load()
        if self.session is None:
            raise NotFound(_("No such session."))
        if banned:
            raise Forbidden(_("A moderator has removed you from this session."), code="banned")

    async def groups_for(self):
        public, moderators = session_groups(self.session.pk)
        return [moderators if self.moderator else public]

    def watched(self):
        return [(realtime.TOPIC_SESSION_QUESTIONS, self.session.pk)]

    def render_target(self):
        public, moderators = session_groups(self.session.pk)
        group = moderators if self.moderator else public
        return realtime.TOPIC_SESSION_QUESTIONS, self.session.pk, group

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
