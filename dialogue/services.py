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
from django.utils.translation import pgettext_lazy

from accounts.permissions import (
    is_official,
    is_staff_role,
    require_citizen,
    require_moderator,
)
from accounts.selectors import district_id_clean
from audit.services import audit_record
from civic.content import FieldSpec, clean_version_columns, original_language_of
from civic.content import versions as content_versions
from civic.errors import Conflict, Forbidden, InvalidInput, NotFound
from civic.ratelimit import rate_limit
from civic.realtime import (
    TOPIC_DIALOGUE_ACTIVITY,
    TOPIC_SESSION_QUESTIONS,
    mark_dirty_on_commit,
    rights_changed_on_commit,
)
from civic.validation import clean_datetime, clean_text, parse_id, render_markdown
from notifications.services import enqueue_on_commit, notification_send
from residents.eligibility import Eligibility

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
from .permissions import (
    require_comment_author,
    require_comment_editable,
    require_session_eligible,
)
from .selectors import (
    COMMENT_NOTIFICATION_KEY,
    answer_marked_recipients,
    can_view_question,
    comment_recipients,
    is_banned,
    is_session_moderator,
    subject_visible,
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


def _activity() -> None:
    """Comments, answers and reports change what the officials' dashboard counts."""
    mark_dirty_on_commit(TOPIC_DIALOGUE_ACTIVITY, 0)


def thread_create(*, actor, title: str) -> Thread:
    """A standalone topic (for example "Transport in Auezov district")."""
    require_citizen(actor)
    title = clean_text(
        title,
        name=pgettext_lazy("discussion", "Title"),
        max_length=TITLE_MAX,
        required=True,
        multiline=False,
    )
    rate_limit(scope="comment", user_id=actor.pk)
    with transaction.atomic():
        thread = Thread.objects.create(title=title, created_by=actor)
        ThreadFollow.objects.create(thread=thread, user=actor)
    return thread


def thread_for(*, actor, initiative=None, poll=None) -> Thread:
    """The discussion of an initiative or a poll, made on first use by a citizen who can see
    it: a draft nobody else may read gets no discussion (and no sign that it exists)."""
    require_citizen(actor)
    if (initiative is None) == (poll is None):
        raise InvalidInput(_("A thread is about one initiative or one poll."))
    if not subject_visible(Thread(initiative=initiative, poll=poll), actor):
        raise NotFound(_("Not found."))
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
        _activity()
    return thread


def thread_restore(*, actor, thread_id: int) -> Thread:
    require_moderator(actor)
    with transaction.atomic():
        thread = _get(Thread, thread_id, lock=True, message=_("No such thread."))
        if thread.hidden_at is None:
            raise Conflict(_("This discussion is not closed."), code="thread_not_hidden")
        thread.hidden_at, thread.hidden_reason = None, ""
        thread.save(update_fields=["hidden_at", "hidden_reason"])
        audit_record(actor=actor, action="thread.restore", target=thread)
        _activity()
    return thread


def require_thread_open(thread: Thread, actor) -> None:
    """Every write into a thread (comment, edit, reaction, report, answer) asks this first.

    A thread whose subject the actor cannot see does not exist for them; a closed one takes
    nothing new. Callers that race with thread_hide ask it about the row they hold locked.
    """
    if not subject_visible(thread, actor):
        raise NotFound(_("No such thread."))
    if thread.hidden_at is not None:
        raise Conflict(_("This thread is closed by a moderator."), code="thread_hidden")


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
    require_thread_open(thread, actor)  # the quick answer; asked again under the lock
    parent = reply_to = None
    if parent_id is not None:
        parent = reply_to = _get(Comment, parent_id, message=_("No such comment."))
        if parent.thread_id != thread.pk:
            raise InvalidInput(_("Reply within the same thread."))
        if reply_to.deleted_at or reply_to.hidden_at:
            raise Conflict(_("This comment can no longer be answered."))
        if parent.parent_id is not None:
            parent = parent.parent  # replies stay one level deep: answer the top comment
        if parent.deleted_at or parent.hidden_at:
            raise Conflict(_("This comment can no longer be answered."))
    rate_limit(scope="comment", user_id=actor.pk)
    with transaction.atomic():
        # The thread row is updated below anyway; locking it first orders this with thread_hide.
        thread = _get(Thread, thread.pk, lock=True, message=_("No such thread."))
        require_thread_open(thread, actor)
        comment = Comment.objects.create(
            thread=thread,
            parent=parent,
            reply_to=reply_to,
            author=actor,
            body=body,
            body_html=render_markdown(body),
            is_official=is_official(actor),
        )
        Thread.objects.filter(pk=thread.pk).update(last_activity_at=Now())
        ThreadFollow.objects.get_or_create(thread=thread, user=actor)
        enqueue_on_commit("dialogue.notify_comment", comment.pk)
        _activity()
    return comment


def comment_edit(*, actor, comment_id: int, body: str) -> Comment:
    require_citizen(actor)
    body = clean_text(body, name=_("Comment"), max_length=COMMENT_MAX, required=True)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        require_comment_author(actor, comment)
        require_thread_open(_get(Thread, comment.thread_id, lock=True), actor)
        require_comment_editable(comment)
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
        require_thread_open(thread, actor)
        changed = thread.answer_id != comment.pk
        thread.answer = comment
        thread.save(update_fields=["answer"])
        audit_record(
            actor=actor, action="thread.answer", target=thread, data={"comment": comment.pk}
        )
        if changed:
            enqueue_on_commit("dialogue.notify_answer_marked", thread.pk, comment.pk)
        _activity()
    return thread


def comment_hide(*, actor, comment_id: int, reason: str) -> Comment:
    require_moderator(actor)
    reason = _reason(reason)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        comment.hidden_at, comment.hidden_reason, comment.hidden_by = timezone.now(), reason, actor
        comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
        Flag.objects.filter(comment=comment, resolved_at__isnull=True).update(
            resolved_at=Now(), resolved_by=actor
        )
        audit_record(actor=actor, action="comment.hide", target=comment, data={"reason": reason})
        _activity()
    return comment


def comment_restore(*, actor, comment_id: int) -> Comment:
    require_moderator(actor)
    with transaction.atomic():
        comment = _get(Comment, comment_id, lock=True, message=_("No such comment."))
        comment.hidden_at, comment.hidden_reason, comment.hidden_by = None, "", None
        comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
        audit_record(actor=actor, action="comment.restore", target=comment)
        _activity()
    return comment


COUNTERS = {Reaction.Kind.AGREE: "agree_count", Reaction.Kind.DISAGREE: "disagree_count"}


def reaction_set(*, actor, comment_id: int, kind: str | None) -> Comment:
    """Agree, disagree, or (None) take one's reaction back. One reaction per person."""
    require_citizen(actor)
    if kind is not None and kind not in COUNTERS:
        raise InvalidInput(_("A reaction is agree or disagree."))
    rate_limit(scope="vote", user_id=actor.pk)
    comment = _get(Comment, comment_id, message=_("No such comment."))
    with transaction.atomic():
        # Lock the comment: concurrent reactions of one person queue here, counts stay exact.
        comment = _get(Comment, comment.pk, lock=True, message=_("No such comment."))
        if comment.deleted_at or comment.hidden_at:
            raise Conflict(_("This comment can no longer be reacted to."))
        # Not locked: a reaction racing a thread's closing is harmless, and locking the
        # thread would queue every reaction of a busy thread behind each other.
        require_thread_open(_get(Thread, comment.thread_id), actor)
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
    # Who may ask and upvote (residents.eligibility); a district session names its district.
    eligibility: str = Eligibility.EMAIL
    district_id: int | None = None
    # Texts in three languages (civic/content.py): `title` and `description` are the original,
    # in `original_language` ("" = detected from the title); the rest are optional versions.
    original_language: str = ""
    title_kk: str = ""
    title_ru: str = ""
    title_en: str = ""
    description_kk: str = ""
    description_ru: str = ""
    description_en: str = ""


def session_create(*, actor, data: SessionInput) -> Session:
    require_moderator(actor)
    title = clean_text(
        data.title,
        name=pgettext_lazy("session", "Title"),
        max_length=TITLE_MAX,
        required=True,
        multiline=False,
    )
    description = clean_text(
        data.description, name=_("Description"), max_length=DESCRIPTION_MAX, required=False
    )
    if data.language not in dict(settings.LANGUAGES):
        raise InvalidInput(_("Unknown language."))
    original = original_language_of(data.original_language, title)
    texts = clean_version_columns(
        data,
        specs={
            "title": FieldSpec(pgettext_lazy("session", "Title"), TITLE_MAX),
            "description": FieldSpec(_("Description"), DESCRIPTION_MAX, multiline=True),
        },
        original=original,
    )
    texts[f"title_{original}"], texts[f"description_{original}"] = title, description
    if data.moderation not in Session.Moderation.values:
        raise InvalidInput(_("Unknown moderation mode."))
    _check_hours(data.starts_at, data.ends_at)
    eligibility, district_id = _clean_eligibility(data.eligibility, data.district_id)
    from accounts.models import User

    host_ids = set(data.host_ids or ())
    hosts = list(User.objects.filter(pk__in=host_ids, is_active=True))
    if len(hosts) != len(host_ids):
        raise InvalidInput(_("Unknown host."))
    # A host moderates the session and answers in the akimat's name.
    if not all(is_staff_role(host) for host in hosts):
        raise InvalidInput(_("Hosts are officials or moderators."), code="host_not_staff")
    with transaction.atomic():
        session = Session.objects.create(
            title=title,
            description=description,
            original_language=original,
            **texts,
            language=data.language,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            moderation=data.moderation,
            eligibility=eligibility,
            district_id=district_id,
            created_by=actor,
        )
        session.hosts.set(hosts)
        audit_record(actor=actor, action="session.create", target=session)
    return session


def _clean_eligibility(eligibility, district_id) -> tuple[str, int | None]:
    eligibility = eligibility or Eligibility.EMAIL
    if eligibility not in Eligibility.values:
        raise InvalidInput(_("Unknown eligibility."), code="bad_eligibility")
    district_id = district_id_clean(district_id)
    if (eligibility == Eligibility.DISTRICT) != (district_id is not None):
        raise InvalidInput(
            _("A session for the residents of a district names the district, and only then."),
            code="district_required",
        )
    return eligibility, district_id


def _check_hours(starts_at, ends_at) -> None:
    starts_at = clean_datetime(starts_at, name=_("Start"))
    ends_at = clean_datetime(ends_at, name=_("End"))
    if ends_at <= starts_at:
        raise InvalidInput(_("The session must end after it starts."))


def session_reschedule(
    *, actor, session_id: int, starts_at: datetime, ends_at: datetime
) -> Session:
    """Move a session's hours (questions and upvotes stay)."""
    require_moderator(actor)
    _check_hours(starts_at, ends_at)
    with transaction.atomic():
        session = _get(Session, session_id, lock=True, message=_("No such session."))
        before = {
            "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(),
        }
        session.starts_at, session.ends_at = starts_at, ends_at
        session.save(update_fields=["starts_at", "ends_at"])
        audit_record(
            actor=actor,
            action="session.reschedule",
            target=session,
            data={
                "before": before,
                "after": {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()},
            },
        )
        mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, session.pk)
    return session


def _require_session_moderator(session: Session, actor) -> None:
    """Officials, moderators and the session's hosts."""
    if not getattr(actor, "is_authenticated", False):
        from civic.errors import NotAuthenticated

        raise NotAuthenticated()
    if not is_session_moderator(session, actor):
        raise Forbidden(_("Only moderators can do this."), code="not_moderator")


def _require_open(session: Session) -> None:
    now = timezone.now()
    if now < session.starts_at:
        raise Conflict(_("This session has not started yet."), code="session_not_started")
    if now >= session.ends_at:
        raise Conflict(_("This session has ended."), code="session_closed")


def _require_not_banned(session: Session, user) -> None:
    if is_banned(session, user):
        raise Forbidden(_("A moderator has removed you from this session."), code="banned")


def question_ask(*, actor, session_id: int, text: str, anonymous: bool = False) -> Question:
    require_citizen(actor)
    text = clean_text(text, name=_("Question"), max_length=QUESTION_MAX, required=True)
    if not isinstance(anonymous, bool):
        raise InvalidInput(_("“Anonymous” is yes or no."))
    session = _get(Session, session_id, message=_("No such session."))
    _require_open(session)
    _require_not_banned(session, actor)
    require_session_eligible(session, actor)
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


def _require_can_vote(question: Question, actor) -> None:
    if question.state != Question.State.APPROVED:
        raise Conflict(_("Only published questions can be voted on."), code="not_published")
    _require_open(question.session)
    _require_not_banned(question.session, actor)
    if question.author_id == actor.pk:
        raise Forbidden(_("You cannot upvote your own question."), code="own_question")


def question_vote(*, actor, question_id: int, up: bool = True) -> Question:
    """Upvote someone else's question once, or take one's upvote back.

    Upvoting twice, or taking back an upvote one never gave, is a Conflict and changes nothing.
    """
    require_citizen(actor)
    question = _get(Question, question_id, message=_("No such question."))
    if not can_view_question(question, actor):
        raise NotFound(_("No such question."))
    _require_can_vote(question, actor)  # the quick answer; asked again under the lock
    if up:  # taking an upvote back is always allowed
        require_session_eligible(question.session, actor)
    rate_limit(scope="vote", user_id=actor.pk)
    with transaction.atomic():
        # The question's lock orders this with question_moderate (hiding it) and with other
        # upvotes; the state, the session's hours and the ban are read again while it's held.
        question = (
            Question.objects.select_for_update().select_related("session").get(pk=question.pk)
        )
        _require_can_vote(question, actor)
        votes = QuestionVote.objects.filter(question=question, user=actor)
        if up:
            if votes.exists():
                raise Conflict(_("You have already upvoted this question."), code="already_voted")
            QuestionVote.objects.create(question=question, user=actor)
            change = F("upvotes_count") + 1
        else:
            if not votes.delete()[0]:
                raise Conflict(_("You have not upvoted this question."), code="not_voted")
            change = F("upvotes_count") - 1
        Question.objects.filter(pk=question.pk).update(upvotes_count=change)
        mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, question.session_id)
        # Read under the row lock: the count this vote made, not one a later vote made.
        return Question.objects.get(pk=question.pk)


QUESTION_ACTIONS = ("approve", "hide", "restore", "answer", "pin", "unpin")


def question_moderate(*, actor, question_id: int, action: str, reason: str = "") -> Question:
    """Moderators (and the session's hosts) approve, hide, restore, pin and mark answered."""
    if action not in QUESTION_ACTIONS:
        raise InvalidInput(_("Unknown moderation action."))
    question = _get(Question, question_id, message=_("No such question."))
    session = question.session
    _require_session_moderator(session, actor)
    # Every action's reason lands in the audit log (jsonb): clean it whatever the action.
    if action == "hide":
        reason = _reason(reason)
    else:
        reason = clean_text(reason, name=_("Reason"), max_length=REASON_MAX, required=False)
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
                resolved_at=Now(), resolved_by=actor
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
            enqueue_on_commit("dialogue.notify_question_answered", question.pk)
    return question


def session_ban(*, actor, session_id: int, user_id: int, reason: str) -> SessionBan:
    """Remove a person from a session: they can no longer ask or upvote, and their questions
    still waiting for a moderator are hidden. Hosts, moderators and officials can't be banned."""
    session = _get(Session, session_id, message=_("No such session."))
    _require_session_moderator(session, actor)
    reason = _reason(reason)
    from accounts.models import User

    user = _get(User, user_id, message=_("No such user."))
    if is_session_moderator(session, user):
        raise Conflict(
            _("Hosts, moderators and officials cannot be removed from a session."),
            code="cannot_ban_staff",
        )
    with transaction.atomic():
        session = _get(Session, session.pk, lock=True)
        ban, created = SessionBan.objects.get_or_create(
            session=session, user=user, defaults={"reason": reason, "banned_by": actor}
        )
        if created:
            hidden = Question.objects.filter(
                session=session, author=user, state=Question.State.PENDING
            ).update(state=Question.State.HIDDEN, hidden_reason=reason, hidden_by=actor)
            audit_record(
                actor=actor,
                action="session.ban",
                target=session,
                data={"user": user.pk, "reason": reason, "hidden": hidden},
            )
            if hidden:
                mark_dirty_on_commit(TOPIC_SESSION_QUESTIONS, session.pk)
            rights_changed_on_commit(user.pk)  # their sockets on this session close
    return ban


def session_unban(*, actor, session_id: int, user_id: int) -> None:
    """Let a removed person take part again (questions hidden by the ban stay hidden)."""
    session = _get(Session, session_id, message=_("No such session."))
    _require_session_moderator(session, actor)
    with transaction.atomic():
        session = _get(Session, session.pk, lock=True)
        ban = SessionBan.objects.filter(
            session=session, user_id=parse_id(user_id, message=_("No such user."))
        ).first()
        if ban is None:
            raise NotFound(_("This person is not removed from the session."), code="not_banned")
        ban.delete()
        audit_record(
            actor=actor, action="session.unban", target=session, data={"user": ban.user_id}
        )


def _flag_target(actor, comment_id, question_id) -> dict:
    """What is being reported, if the reporter can see it; otherwise it doesn't exist."""
    if comment_id is not None:
        comment = _get(Comment, comment_id, message=_("No such comment."))
        thread = _get(Thread, comment.thread_id, message=_("No such comment."))
        require_thread_open(thread, actor)
        if comment.deleted_at is not None:
            raise NotFound(_("No such comment."))
        if comment.hidden_at is not None:
            raise Conflict(_("A moderator has already hidden this comment."), code="already_hidden")
        return {"comment": comment}
    question = _get(Question, question_id, message=_("No such question."))
    if not can_view_question(question, actor):
        raise NotFound(_("No such question."))
    return {"question": question}


def flag_create(
    *, actor, reason: str, comment_id: int | None = None, question_id: int | None = None
) -> Flag:
    """Report a comment or a question to the moderators. Reporting twice changes nothing."""
    require_citizen(actor)
    reason = _reason(reason)
    if (comment_id is None) == (question_id is None):
        raise InvalidInput(_("Report one comment or one question."))
    target = _flag_target(actor, comment_id, question_id)
    rate_limit(scope="flag", user_id=actor.pk)
    try:
        with transaction.atomic():
            flag = Flag.objects.create(reporter=actor, reason=reason, **target)
            audit_record(actor=actor, action="flag.create", target=flag, data={"reason": reason})
            _activity()
            return flag
    except IntegrityError:
        return Flag.objects.get(reporter=actor, **target)


def flag_dismiss(*, actor, flag_id: int) -> Flag:
    """A moderator finds nothing wrong: the report is closed, the text stays as it is."""
    require_moderator(actor)
    with transaction.atomic():
        flag = _get(Flag, flag_id, lock=True, message=_("No such report."))
        if flag.resolved_at is not None:
            raise Conflict(_("This report is already closed."), code="flag_resolved")
        flag.resolved_at, flag.resolved_by = timezone.now(), actor
        flag.save(update_fields=["resolved_at", "resolved_by"])
        audit_record(actor=actor, action="flag.dismiss", target=flag)
        _activity()
    return flag


def flag_hide_target(*, actor, flag_id: int, reason: str) -> Flag:
    """Hide what a report points at (which closes every open report of it)."""
    require_moderator(actor)
    flag = _get(Flag, flag_id, message=_("No such report."))
    if flag.resolved_at is not None:
        raise Conflict(_("This report is already closed."), code="flag_resolved")
    if flag.comment_id is not None:
        comment_hide(actor=actor, comment_id=flag.comment_id, reason=reason)
    else:
        question_moderate(actor=actor, question_id=flag.question_id, action="hide", reason=reason)
    return Flag.objects.get(pk=flag.pk)


# --- Notifications (the tasks call these; who hears of what is decided in selectors) --------


def comment_notify(*, comment_id: int) -> int:
    """Tell those comment_recipients() names of a new comment; one notification per person
    per comment, however often this runs. Returns how many were told."""
    comment = (
        Comment.objects.select_related("thread", "parent__author", "reply_to__author", "author")
        .filter(pk=comment_id, deleted_at__isnull=True, hidden_at__isnull=True)
        .first()
    )
    if comment is None:
        return 0
    thread = comment.thread
    # str(): the nameless fallback of public_name is a lazy translation, which JSON can't store.
    params = {
        "title": thread.title,
        "who": str(comment.author.public_name),
        "text": comment.body[:300],
    }
    url = thread.get_absolute_url() + f"#comment-{comment.pk}"
    key = COMMENT_NOTIFICATION_KEY.format(id=comment.pk)
    recipients = comment_recipients(comment)
    for user, kind in recipients:
        notification_send(user=user, kind=kind, key=key, params=params, url=url)
    return len(recipients)


def answer_marked_notify(*, thread_id: int, comment_id: int) -> int:
    """An official marked the thread's answer: those answer_marked_recipients() names hear
    of it once per answer (keyed by the comment, so marking another answer later is news)."""
    thread = Thread.objects.filter(pk=thread_id, answer_id=comment_id, hidden_at__isnull=True)
    thread = thread.select_related("answer__author").first()
    if thread is None or thread.answer.deleted_at or thread.answer.hidden_at:
        return 0
    answer = thread.answer
    params = {
        "title": thread.title,
        "who": str(answer.author.public_name),
        "text": answer.body[:300],
    }
    url = thread.get_absolute_url() + f"#comment-{answer.pk}"
    recipients = answer_marked_recipients(thread, answer)
    for user in recipients:
        notification_send(
            user=user,
            kind="dialogue.official_answer",
            key=f"answer:{thread.pk}:{answer.pk}",
            params=params,
            url=url,
        )
    return len(recipients)


def question_answered_notify(*, question_id: int) -> bool:
    """Tell a question's author that it was answered, once."""
    question = Question.objects.select_related("session", "author").filter(pk=question_id).first()
    if question is None or question.answered_at is None:
        return False
    notification_send(
        user=question.author,
        kind="dialogue.question_answered",
        key=f"question-answered:{question.pk}",
        params={
            "title": question.session.title,
            "titles": content_versions(question.session, "title"),
            "text": question.text,
        },
        url=question.session.get_absolute_url(),
    )
    return True
