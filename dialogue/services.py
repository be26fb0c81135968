"""Every state change of City Dialogue: threads, comments, reactions, Q&A sessions,
questions and upvotes, flags and moderation.

Views, the API, consumers and tasks call these functions. Each checks permission and input,
writes in one short transaction, records moderation in the audit log, and only after commit
notifies (Celery) and pushes (the coalescing ticker).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_moderator, is_official, require_citizen, require_moderator
from audit.services import audit_record
from civic.errors import Conflict, Forbidden, InvalidInput, NotFound
from civic.ratelimit import rate_limit
from civic.realtime import TOPIC_SESSION_QUESTIONS, mark_dirty_on_commit
from civic.validation import clean_text, render_markdown

from .models import (
    Comment,
    Flag,
    Question,
    QuestionVote,
    Reaction,
    Session,
    SessionBan,
    Thread,
    ThreadFollow,
)

logger = logging.getLogger(__name__)

TITLE_MAX, COMMENT_MAX, QUESTION_MAX, REASON_MAX, DESCRIPTION_MAX = 200, 5000, 500, 500, 4000


def _get(model, pk, *, lock=False, message=None):
    qs = model.objects.select_for_update() if lock else model.objects
    try:
        return qs.get(pk=int(pk))
    except (model.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound(message or _("Not found.")) from None


def _reason(reason) -> str:
    return clean_text(reason, name=_("Reason"), max_length=REASON_MAX, required=True)


# --- Threads ----------------------------------------------------------------------------------


def thread_create(*, actor, title: str) -> Thread:
    """A standalone topic (for example "Transport in Auezov district")."""
    require_citizen(actor)
    title = clean_text(title, name=_("Title"), max_length=TITLE_MAX, required=True)
    rate_limit(scope="comment", user_id=actor.pk)
    with transaction.atomic():
        thread = Thread.objects.create(title=title, created_by=actor)
        ThreadFollow.objects.create(thread=thread, user=actor)
    return thread


def thread_for(*, initiative=None, poll=None) -> Thread:
    """The discussion of an initiative or a poll, made on first use."""
    if (initiative is None) == (poll is None):
        raise InvalidInput(_("A thread is about one initiative or one poll."))
    if initiative is not None:
        lookup, title = {"initiative": initiative}, initiative.title
    else:
        lookup, title = {"poll": poll}, poll.title
    try:
        with transaction.atomic():
            thread, _created = Thread.objects.get_or_create(**lookup, defaults={"title": title})
    except IntegrityError:
        thread = Thread.objects.get(**lookup)
    return thread


def thread_hide(*, actor, thread_id: int, reason: str) -> Thread:
    require_moderator(actor)
    reason = _reason(reason)
    with transaction.atomic():
        thread = _get(Thread, thread_id, lock=True)
        thread.hidden_at, thread.hidden_reason = timezone.now(), reason
        thread.save(update_fields=["hidden_at", "hidden_reason"])
        audit_record(actor=actor, action="thread.hide", target=thread, data={"reason": reason})
    return thread


def thread_follow(*, actor, thread_id: int, follow: bool = True) -> bool:
    require_citizen(actor)
    thread = _get(Thread, thread_id)
    if follow:
        ThreadFollow.objects.get_or_create(thread=thread, user=actor)
    else:
        ThreadFollow.objects.filter(thread=thread, user=actor).delete()
    return follow


# --- Comments ---------------------------------------------------------------------------------


def comment_post(*, actor, thread_id: int, body: str, parent_id: int | None = None) -> Comment:
    """Comment on a thread, or reply to a top-level comment (one level of replies)."""
    require_citizen(actor)
    body = clean_text(body, name=_("Comment"), max_length=COMMENT_MAX, required=True)
    thread = _get(Thread, thread_id, message=_("No such thread."))
    if thread.hidden_at is not None:
        raise Conflict(_("This thread is closed by a moderator."), code="thread_hidden")
    parent = None
    if parent_id is not None:
        parent = _get(Comment, parent_id, message=_("No such comment."))
        if parent.thread_id != thread.pk:
            raise InvalidInput(_("Reply within the same thread."))
        if parent.parent_id is not None:
            parent = parent.parent  # replies stay one level deep: answer the top comment
        if parent.deleted_at or parent.hidden_at:
            raise Conflict(_("This comment can no longer be answered."))
    rate_limit(scope="comment", user_id=actor.pk)
    with transaction.atomic():
        comment = Comment.objects.create(
            thread=thread,
            parent=parent,
            author=actor,
            body=body,
            body_html=render_markdown(body),
            is_official=is_official(actor),
        )
        Thread.objects.filter(pk=thread.pk).update(last_activity_at=Now())
        ThreadFollow.objects.get_or_create(thread=thread, user=actor)
        from .tasks import notify_comment

        transaction.on_commit(lambda: notify_comment.delay(comment.pk))
    return comment


def comment_edit(*, actor, comment_id: int, body: str) -> Comment:
    require_citizen(actor)
    body = clean_text(body, name=_("Comment"), max_length=COMMENT_MAX, required=True)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        if comment.author_id != actor.pk:
            raise Forbidden(_("Only the author can edit a comment."))
        if comment.deleted_at or comment.hidden_at:
            raise Conflict(_("This comment can no longer be edited."))
        if (timezone.now() - comment.created_at).total_seconds() > settings.COMMENT_EDIT_SECONDS:
            raise Conflict(
                _("Comments can be edited for %(m)d minutes after posting.")
                % {"m": settings.COMMENT_EDIT_SECONDS // 60},
                code="edit_window_passed",
            )
        comment.body, comment.body_html = body, render_markdown(body)
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "body_html", "edited_at"])
    return comment


def comment_delete(*, actor, comment_id: int) -> Comment:
    """The author deletes a comment; a tombstone keeps the thread's shape and its replies."""
    require_citizen(actor)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        if comment.author_id != actor.pk:
            raise Forbidden(_("Only the author can delete a comment."))
        if comment.deleted_at is None:
            comment.deleted_at = timezone.now()
            comment.body, comment.body_html = "", ""
            comment.save(update_fields=["deleted_at", "body", "body_html"])
    return comment


def comment_mark_answer(*, actor, comment_id: int) -> Thread:
    """An official marks a comment as the answer of its thread."""
    if not is_official(actor):
        raise Forbidden(_("Only akimat officials can mark the answer."), code="not_official")
    with transaction.atomic():
        comment = _get(Comment, comment_id, message=_("No such comment."))
        if comment.deleted_at or comment.hidden_at:
            raise Conflict(_("A deleted or hidden comment cannot be the answer."))
        thread = _get(Thread, comment.thread_id, lock=True)
        thread.answer = comment
        thread.save(update_fields=["answer"])
        audit_record(
            actor=actor, action="thread.answer", target=thread, data={"comment": comment.pk}
        )
    return thread


def comment_hide(*, actor, comment_id: int, reason: str) -> Comment:
    require_moderator(actor)
    reason = _reason(reason)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        comment.hidden_at, comment.hidden_reason, comment.hidden_by = timezone.now(), reason, actor
        comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
        Flag.objects.filter(comment=comment, resolved_at__isnull=True).update(resolved_at=Now())
        audit_record(actor=actor, action="comment.hide", target=comment, data={"reason": reason})
    return comment


def comment_restore(*, actor, comment_id: int) -> Comment:
    require_moderator(actor)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        comment.hidden_at, comment.hidden_reason, comment.hidden_by = None, "", None
        comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
        audit_record(actor=actor, action="comment.restore", target=comment)
    return comment


COUNTERS = {Reaction.Kind.AGREE: "agree_count", Reaction.Kind.DISAGREE: "disagree_count"}


def reaction_set(*, actor, comment_id: int, kind: str | None) -> Comment:
    """Agree, disagree, or (None) take one's reaction back. One reaction per person."""
    require_citizen(actor)
    if kind is not None and kind not in COUNTERS:
        raise InvalidInput(_("A reaction is agree or disagree."))
    rate_limit(scope="vote", user_id=actor.pk)
    comment = _get(Comment, comment_id, message=_("No such comment."))
    if comment.deleted_at or comment.hidden_at:
        raise Conflict(_("This comment can no longer be reacted to."))
    with transaction.atomic():
        # Lock the comment: concurrent reactions of one person queue here, counts stay exact.
        Comment.objects.select_for_update().filter(pk=comment.pk).first()
        current = Reaction.objects.filter(comment=comment, user=actor).first()
        if current and current.kind == kind:
            return Comment.objects.get(pk=comment.pk)
        changes = {}
        if current:
            changes[COUNTERS[current.kind]] = F(COUNTERS[current.kind]) - 1
            if kind is None:
                current.delete()
            else:
                current.kind = kind
                current.save(update_fields=["kind"])
        elif kind is not None:
            Reaction.objects.create(comment=comment, user=actor, kind=kind)
        if kind is not None:
            changes[COUNTERS[kind]] = F(COUNTERS[kind]) + 1
        if changes:
            Comment.objects.filter(pk=comment.pk).update(**changes)
    return Comment.objects.get(pk=comment.pk)


# --- Sessions ---------------------------------------------------------------------------------


@dataclass
class SessionInput:
    title: str
    language: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    moderation: str = Session.Moderation.POST
    host_ids: tuple[int, ...] = ()


def session_create(*, actor, data: SessionInput) -> Session:
    require_moderator(actor)
    title = clean_text(data.title, name=_("Title"), max_length=TITLE_MAX, required=True)
    description = clean_text(
        data.description, name=_("Description"), max_length=DESCRIPTION_MAX, required=False
    )
    if data.language not in dict(settings.LANGUAGES):
        raise InvalidInput(_("Unknown language."))
    if data.moderation not in Session.Moderation.values:
        raise InvalidInput(_("Unknown moderation mode."))
    if not data.starts_at or not data.ends_at or data.ends_at <= data.starts_at:
        raise InvalidInput(_("The session must end after it starts."))
    from accounts.models import User

    host_ids = set(data.host_ids or ())
    hosts = list(User.objects.filter(pk__in=host_ids, is_active=True))
    if len(hosts) != len(host_ids):
        raise InvalidInput(_("Unknown host."))
    with transaction.atomic():
        session = Session.objects.create(
            title=title,
            description=description,
            language=data.language,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            moderation=data.moderation,
            created_by=actor,
        )
        session.hosts.set(hosts)
        audit_record(actor=actor, action="session.create", target=session)
    return session


def _require_open(session: Session) -> None:
    now = timezone.now()
    if now < session.starts_at:
        raise Conflict(_("This session has not started yet."), code="session_not_started")
    if now >= session.ends_at:
        raise Conflict(_("This session has ended."), code="session_closed")


def _require_not_banned(session: Session, user) -> None:
    if SessionBan.objects.filter(session=session, user=user).exists():
        raise Forbidden(_("A moderator has removed you from this session."), code="banned")


def is_session_moderator(session: Session, user) -> bool:
    return (
        is_moderator(user)
        or is_official(user)
        or (getattr(user, "is_authenticated", False) and session.hosts.filter(pk=user.pk).exists())
    )


def question_ask(*, actor, session_id: int, text: str, anonymous: bool = False) -> Question:
    require_citizen(actor)
    text = clean_text(text, name=_("Question"), max_length=QUESTION_MAX, required=True)
    if not isinstance(anonymous, bool):
        raise InvalidInput(_("“Anonymous” is yes or no."))
    session = _get(Session, session_id, message=_("No such session."))
    _require_open(session)
    _require_not_banned(session, actor)
    rate_limit(scope="question", user_id=actor.pk)
    state = (
        Question.State.PENDING
        if session.moderation == Session.Moderation.PRE
        else Question.State.APPROVED
    )
    with transaction.atomic():
        question = Question.objects.create(
            session=session, author=actor, text=text, anonymous=anonymous, state=state
        )
        mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, session.pk)
    return question


def question_vote(*, actor, question_id: int, up: bool = True) -> Question:
    """Upvote a question (once), or take the upvote back. Asking twice changes nothing."""
    require_citizen(actor)
    question = _get(Question, question_id, message=_("No such question."))
    if question.state != Question.State.APPROVED:
        raise Conflict(_("Only published questions can be voted on."))
    session = question.session
    _require_open(session)
    _require_not_banned(session, actor)
    rate_limit(scope="vote", user_id=actor.pk)
    if up:
        try:
            with transaction.atomic():
                QuestionVote.objects.create(question=question, user=actor)
                Question.objects.filter(pk=question.pk).update(upvotes_count=F("upvotes_count") + 1)
                mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, session.pk)
        except IntegrityError:
            pass  # already upvoted: the same answer as the first time
    else:
        with transaction.atomic():
            deleted, _rows = QuestionVote.objects.filter(question=question, user=actor).delete()
            if deleted:
                Question.objects.filter(pk=question.pk).update(upvotes_count=F("upvotes_count") - 1)
                mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, session.pk)
    return Question.objects.get(pk=question.pk)


QUESTION_ACTIONS = ("approve", "hide", "restore", "answer", "pin", "unpin")


def question_moderate(*, actor, question_id: int, action: str, reason: str = "") -> Question:
    """Moderators (and the session's hosts) approve, hide, restore, pin and mark answered."""
    if action not in QUESTION_ACTIONS:
        raise InvalidInput(_("Unknown moderation action."))
    question = _get(Question, question_id, message=_("No such question."))
    session = question.session
    if not getattr(actor, "is_authenticated", False):
        from civic.errors import NotAuthenticated

        raise NotAuthenticated()
    if not is_session_moderator(session, actor):
        raise Forbidden(_("Only moderators can do this."), code="not_moderator")
    if action == "hide":
        reason = _reason(reason)
    with transaction.atomic():
        session = _get(Session, session.pk, lock=True)
        question = _get(Question, question.pk, lock=True)
        if action == "approve" or action == "restore":
            question.state, question.hidden_reason, question.hidden_by = "approved", "", None
        elif action == "hide":
            question.state, question.hidden_reason, question.hidden_by = "hidden", reason, actor
            if session.pinned_id == question.pk:
                session.pinned = None
                session.save(update_fields=["pinned"])
            Flag.objects.filter(question=question, resolved_at__isnull=True).update(
                resolved_at=Now()
            )
        elif action == "answer":
            question.answered_at = question.answered_at or timezone.now()
            if session.pinned_id == question.pk:
                session.pinned = None
                session.save(update_fields=["pinned"])
        elif action == "pin":
            if question.state != Question.State.APPROVED:
                raise Conflict(_("Only a published question can be put on screen."))
            session.pinned = question
            session.save(update_fields=["pinned"])
        elif action == "unpin" and session.pinned_id == question.pk:
            session.pinned = None
            session.save(update_fields=["pinned"])
        question.save(update_fields=["state", "hidden_reason", "hidden_by", "answered_at"])
        audit_record(
            actor=actor, action=f"question.{action}", target=question, data={"reason": reason}
        )
        mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, session.pk)
        if action == "answer":
            from .tasks import notify_question_answered

            transaction.on_commit(lambda: notify_question_answered.delay(question.pk))
    return question


def session_ban(*, actor, session_id: int, user_id: int, reason: str) -> SessionBan:
    session = _get(Session, session_id, message=_("No such session."))
    if not is_session_moderator(session, actor):
        raise Forbidden(_("Only moderators can do this."), code="not_moderator")
    reason = _reason(reason)
    from accounts.models import User

    user = _get(User, user_id, message=_("No such user."))
    with transaction.atomic():
        ban, created = SessionBan.objects.get_or_create(
            session=session, user=user, defaults={"reason": reason, "banned_by": actor}
        )
        if created:
            audit_record(
                actor=actor,
                action="session.ban",
                target=session,
                data={"user": user.pk, "reason": reason},
            )
    return ban


def flag_create(
    *, actor, reason: str, comment_id: int | None = None, question_id: int | None = None
) -> Flag:
    """Report a comment or a question to the moderators. Reporting twice changes nothing."""
    require_citizen(actor)
    reason = _reason(reason)
    if (comment_id is None) == (question_id is None):
        raise InvalidInput(_("Report one comment or one question."))
    target = (
        {"comment": _get(Comment, comment_id, message=_("No such comment."))}
        if comment_id is not None
        else {"question": _get(Question, question_id, message=_("No such question."))}
    )
    rate_limit(scope="flag", user_id=actor.pk)
    try:
        with transaction.atomic():
            return Flag.objects.create(reporter=actor, reason=reason, **target)
    except IntegrityError:
        return Flag.objects.get(reporter=actor, **target)
