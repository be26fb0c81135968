"""A Q&A session's live question list (the session page) and queue (the presenter screen) as
server-rendered fragments, with the page's own partials; rendered by civic.realtime once per
audience (public, moderators) and language per tick, never per socket. What only one reader's
page knows (their upvotes, their own questions, whether they may vote) is not in them: the page
carries it (#dialogue-reader) and live-socket.js applies it to [data-show-if]/[data-needs]."""

from __future__ import annotations

from django.template.loader import render_to_string

from civic.realtime import CSRF_PLACEHOLDER

from .models import Question, Session

PRESENTER_QUEUE = 5  # as dialogue.views: the presenter shows the next five


def _published(questions: list[dict]) -> list[dict]:
    approved = [q for q in questions if q["state"] == Question.State.APPROVED]
    return [q for q in approved if not q["answered"]] + [q for q in approved if q["answered"]]


def render_questions(session_id: int, group: str, message: dict, memo: dict) -> dict[str, str]:
    session = memo.get("session")
    if session is None:
        session = memo["session"] = Session.objects.filter(pk=session_id).first()
    if session is None:
        return {}
    queue = message["payload"]
    moderator = group.endswith("moderators")
    questions = queue["questions"]
    pinned = queue["pinned"] if queue["pinned"] and queue["pinned"]["state"] == "approved" else None
    context = {
        "session": session,
        "is_moderator": moderator,
        "pinned": queue["pinned"],
        "published": _published(questions),
        "pending": [q for q in questions if q["state"] == Question.State.PENDING],
        "hidden": [q for q in questions if q["state"] == Question.State.HIDDEN],
        "voted": [],
        "own": [],
        "can_vote": True,  # the reader's page hides what its reader may not do
        "csrf_token": CSRF_PLACEHOLDER,
    }
    pinned_id = pinned["id"] if pinned else None
    upcoming = [
        q for q in _published(questions) if q["id"] != pinned_id and not q["answered"]
    ][:PRESENTER_QUEUE]
    presenter = {"session": session, "pinned": pinned, "upcoming": upcoming}
    return {
        f"session-{session_id}-questions": render_to_string(
            "dialogue/_live_questions.html", context
        ),
        f"presenter-{session_id}-queue": render_to_string(
            "dialogue/_live_presenter.html", presenter
        ),
    }
