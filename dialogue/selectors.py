"""Reads of City Dialogue: threads with their comments, sessions and their live queue."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import is_moderator, is_official, is_staff_role
from civic.realtime import (
    EVENT_QUESTIONS_UPDATE,
    GROUP_SESSION_MODERATORS,
    GROUP_SESSION_PUBLIC,
    envelope,
)
from notifications.models import Notification

from .models import Comment, Question, Session, SessionBan, Thread, ThreadFollow

QUEUE_LIMIT = 200


def subject_visible(thread: Thread, user) -> bool:
    """Whether `user` may read what the thread is about (a draft initiative or poll is only
    for the few who may read the draft); a standalone topic is about nothing hidden."""
    if thread.initiative_id is not None:
        from communities.selectors import can_view_initiative

        return can_view_initiative(thread.initiative, user)
    if thread.poll_id is not None:
        from polls.permissions import can_view

        return can_view(user, thread.poll)
    return True


def can_view_thread(thread: Thread, user) -> bool:
    """A closed thread is read only by whoever started it and by moderators and officials."""
    if not subject_visible(thread, user):
        return False
    if thread.hidden_at is None:
        return True
    return is_staff_role(user) or (
        getattr(user, "is_authenticated", False) and thread.created_by_id == user.pk
    )


def thread_list(*, include_hidden: bool = False) -> QuerySet:
    """Threads anyone may read: never about a draft, and closed ones only when asked."""
    from communities.models import Initiative
    from polls.models import Poll

    qs = (
        Thread.objects.select_related("initiative", "poll")
        .exclude(initiative__status=Initiative.Status.DRAFT)
        .exclude(poll__status=Poll.Status.DRAFT)
        .annotate(comment_count=Count("comments", filter=Q(comments__deleted_at__isnull=True)))
    )
    return qs if include_hidden else qs.filter(hidden_at__isnull=True)


def thread_get_for(*, thread_id, user) -> Thread | None:
    """The thread if `user` may read it; None (a 404) otherwise."""
    thread = thread_get(thread_id=thread_id)
    return thread if thread is not None and can_view_thread(thread, user) else None


def thread_get(*, thread_id) -> Thread | None:
    try:
        return Thread.objects.select_related("initiative", "poll", "answer").get(pk=int(thread_id))
    except (Thread.DoesNotExist, TypeError, ValueError, OverflowError):
        return None


def thread_comments(thread: Thread) -> list[Comment]:
    """Top-level comments in order, each with its replies (`.reply_list`)."""
    replies = Prefetch(
        "replies",
        queryset=Comment.objects.select_related("author").order_by("created_at", "pk"),
        to_attr="reply_list",
    )
    return list(
        thread.comments.filter(parent__isnull=True)
        .select_related("author")
        .prefetch_related(replies)
        .order_by("created_at", "pk")
    )


def flags_open() -> QuerySet:
    """Reports waiting for a moderator, oldest first, with what they point at."""
    from .models import Flag

    return Flag.objects.filter(resolved_at__isnull=True).select_related(
        "reporter", "comment__author", "comment__thread", "question__author", "question__session"
    )


def is_session_moderator(session: Session, user) -> bool:
    return (
        is_moderator(user)
        or is_official(user)
        or (getattr(user, "is_authenticated", False) and session.hosts.filter(pk=user.pk).exists())
    )


def is_banned(session: Session, user) -> bool:
    """A moderator removed `user` from `session`: they can't take part or watch it live."""
    return bool(
        getattr(user, "is_authenticated", False)
        and SessionBan.objects.filter(session=session, user=user).exists()
    )


def can_view_question(question: Question, user) -> bool:
    """Published questions are public; the asker sees their own, moderators see all."""
    if question.state == Question.State.APPROVED:
        return True
    if getattr(user, "is_authenticated", False) and question.author_id == user.pk:
        return True
    return is_session_moderator(question.session, user)


def session_list() -> QuerySet:
    return Session.objects.all()


def session_get(*, session_id) -> Session | None:
    try:
        return Session.objects.select_related("pinned").get(pk=int(session_id))
    except (Session.DoesNotExist, TypeError, ValueError, OverflowError):
        return None


def session_state(session: Session) -> str:
    now = timezone.now()
    if now < session.starts_at:
        return "upcoming"
    return "live" if now < session.ends_at else "ended"


def session_groups(session_id: int) -> tuple[str, str]:
    return (
        GROUP_SESSION_PUBLIC.format(id=session_id),
        GROUP_SESSION_MODERATORS.format(id=session_id),
    )


def _question_json(q: Question, *, for_moderators: bool) -> dict:
    anonymous = q.anonymous and not for_moderators
    return {
        "id": q.pk,
        "text": q.text,
        "author": _("Anonymous") if anonymous else str(q.author.public_name),
        "anonymous": q.anonymous,
        "upvotes": q.upvotes_count,
        "state": q.state,
        "answered": q.answered_at is not None,
        "created_at": q.created_at.isoformat(),
        **({"author_id": q.author_id, "hidden_reason": q.hidden_reason} if for_moderators else {}),
    }


def session_queue(session: Session, *, for_moderators: bool) -> dict:
    """The questions as a screen shows them: most upvoted first, then oldest; pinned apart.

    Citizens see published questions (anonymous ones without a name); moderators also see
    those waiting for approval and the hidden ones, with who asked.
    """
    qs = session.questions.select_related("author").order_by("-upvotes_count", "created_at", "pk")
    if not for_moderators:
        qs = qs.filter(state=Question.State.APPROVED)
    questions = [_question_json(q, for_moderators=for_moderators) for q in qs[:QUEUE_LIMIT]]
    pinned = next((q for q in questions if q["id"] == session.pinned_id), None)
    if pinned is None and session.pinned_id is not None:
        # Pinned but ranked below the limit: the screen must still show it.
        extra = qs.filter(pk=session.pinned_id).first()
        pinned = _question_json(extra, for_moderators=for_moderators) if extra else None
    return {
        "session": session.pk,
        "state": session_state(session),
        "pinned": pinned,
        "questions": questions,
    }


def session_message(session: Session, *, seq: int, kind: str, for_moderators: bool) -> dict:
    return envelope(kind, seq=seq, payload=session_queue(session, for_moderators=for_moderators))


def compute_session_push(session_id: int, seq: int) -> list[tuple[str, dict]]:
    """One computation per session per tick, as one message per audience."""
    session = Session.objects.filter(pk=session_id).first()
    if session is None:
        return []
    public, moderators = session_groups(session_id)
    return [
        (
            public,
            session_message(session, seq=seq, kind=EVENT_QUESTIONS_UPDATE, for_moderators=False),
        ),
        (
            moderators,
            session_message(session, seq=seq, kind=EVENT_QUESTIONS_UPDATE, for_moderators=True),
        ),
    ]


# --- Who hears of what -------------------------------------------------------------------------

# The key of the notifications of one comment: one per person and comment.
COMMENT_NOTIFICATION_KEY = "comment:{id}"


def comment_recipients(comment: Comment) -> list[tuple[object, str]]:
    """Who is told of a new comment, and as what: [(user, notification kind)], each once,
    never its author. A reply tells the author of the comment it answers (a reply to a reply
    tells that reply's author, not the top comment's); an official's comment tells the
    thread's followers."""
    told = {comment.author_id}
    recipients = []
    # reply_to is None for replies stored before it existed, and when that comment is gone.
    answered = comment.reply_to or comment.parent
    if answered and answered.author_id not in told:
        recipients.append((answered.author, "dialogue.reply"))
        told.add(answered.author_id)
    if comment.is_official:
        followers = ThreadFollow.objects.filter(thread_id=comment.thread_id).select_related("user")
        for follow in followers.order_by("pk"):
            if follow.user_id not in told:
                recipients.append((follow.user, "dialogue.official_answer"))
                told.add(follow.user_id)
    return recipients


def answer_marked_recipients(thread: Thread, answer: Comment) -> list:
    """The followers told that `answer` is the thread's answer: not its author, and not who
    already heard of this very comment as an official's answer."""
    key = COMMENT_NOTIFICATION_KEY.format(id=answer.pk)
    heard = Notification.objects.filter(key=key).values("user_id")
    followers = ThreadFollow.objects.filter(thread=thread).exclude(user_id=answer.author_id)
    return [
        follow.user
        for follow in followers.exclude(user_id__in=heard).select_related("user").order_by("pk")
    ]
