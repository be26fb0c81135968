"""JSON API of City Dialogue: threads, comments, reactions, flags, and live Q&A sessions.

Every write calls one function of dialogue.services, so the API, the pages and the websocket
behave identically; errors come back as {"detail", "code"} through civic.api's handlers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.conf import settings
from django.http import Http404
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import AwareDatetime, StrictBool, StrictInt, StrictStr

from accounts.permissions import is_staff_role, require_moderator
from civic.content import content_payload, reader_language, translation_columns

from . import services
from .models import Comment, Flag, Reaction, Session, Thread
from .permissions import can_edit_comment
from .selectors import (
    _question_json,
    can_view_thread,
    flags_open,
    session_get,
    session_list,
    session_queue,
    session_state,
    thread_comments,
    thread_get,
    thread_list,
)

router = Router(tags=["dialogue"])

# Ids beyond a 64-bit integer can name nothing; refusing them keeps every database happy.
MAX_ID = 2**63 - 1
PAGE_DEFAULT, PAGE_MAX, MAX_OFFSET = 50, 200, 1_000_000

Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
PathId = Path(..., ge=1, le=MAX_ID)
Limit = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX)
Offset = Query(0, ge=0, le=MAX_OFFSET)
LanguageValue = Literal[tuple(code for code, _name in settings.LANGUAGES)]  # type: ignore[valid-type]


class ErrorOut(Schema):
    detail: str
    code: str


ERRORS_READ = {404: ErrorOut, 422: dict}
ERRORS_WRITE = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: dict,
    429: ErrorOut,
}


# --- Shapes -----------------------------------------------------------------------------------


class ThreadOut(Schema):
    id: int
    title: str
    initiative: int | None
    poll: int | None
    answer: int | None = Field(description="the comment an official marked as the answer")
    comment_count: int
    created_at: datetime
    last_activity_at: datetime
    hidden: bool
    hidden_reason: str


class ThreadIn(Schema):
    title: StrictStr

    model_config = {"extra": "forbid"}


class CommentOut(Schema):
    id: int
    thread: int
    parent: int | None
    author: str | None = Field(description="null for a deleted comment")
    is_official: bool
    mine: bool
    body: str = Field(description="empty when deleted, or hidden from this reader")
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    hidden: bool
    hidden_reason: str
    is_answer: bool
    agree: int
    disagree: int
    my_reaction: str | None
    editable: bool = Field(description="the reader may edit it now (author, within the window)")


class CommentTreeOut(CommentOut):
    replies: list[CommentOut]


class CommentIn(Schema):
    body: StrictStr
    parent: Id | None = None

    model_config = {"extra": "forbid"}


class CommentPatch(Schema):
    body: StrictStr

    model_config = {"extra": "forbid"}


class ReactionIn(Schema):
    kind: Literal["agree", "disagree"] | None = Field(description="null takes a reaction back")

    model_config = {"extra": "forbid"}


class ReactionOut(Schema):
    comment: int
    agree: int
    disagree: int
    my_reaction: str | None


class ReasonIn(Schema):
    reason: StrictStr

    model_config = {"extra": "forbid"}


class FlagIn(Schema):
    comment: Id | None = None
    question: Id | None = None
    reason: StrictStr

    model_config = {"extra": "forbid"}


class FlagOut(Schema):
    id: int
    comment: int | None
    question: int | None
    reason: str
    created_at: datetime


class FlagQueueOut(FlagOut):
    text: str = Field(description="the reported comment's or question's text")
    reporter: int
    resolved_at: datetime | None


class SessionIn(Schema):
    title: StrictStr
    description: StrictStr = ""
    language: LanguageValue
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    moderation: Literal["pre", "post"] = "post"
    hosts: list[Id] = Field(default_factory=list, max_length=50)
    eligibility: Literal["email", "city", "district"] = Field(
        "email",
        description="who may ask and upvote: email (a verified e-mail), city (verified "
        "residents) or district (verified residents of `district`)",
    )
    district: Id | None = None
    original_language: str = Field("", description="kk, ru or en; detected when not given")
    translations: dict[str, dict[str, str | None]] | None = Field(
        None, description='other languages\' versions: {"en": {"title": "…"}}'
    )

    model_config = {"extra": "forbid"}


class SessionOut(Schema):
    id: int
    title: str = Field(description="in the language asked for (?lang= or Accept-Language)")
    description: str
    title_lang: str = Field("", description="the language `title` is in")
    description_lang: str = ""
    original_language: str = Field("", description="the language the author wrote in")
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="every version: {field: {kk, ru, en}} ('' = missing)"
    )
    language: str
    starts_at: datetime
    ends_at: datetime
    moderation: str
    state: str = Field(description="upcoming, live or ended")
    pinned: int | None
    eligibility: str = Field(description="who may ask and upvote: email, city or district")
    district: int | None = None


class QuestionOut(Schema):
    id: int
    text: str
    author: str = Field(description="“Anonymous” to citizens for anonymous questions")
    anonymous: bool
    upvotes: int
    state: str
    answered: bool
    created_at: datetime
    author_id: int | None = Field(None, description="moderators only")
    hidden_reason: str | None = Field(None, description="moderators only")


class QueueOut(Schema):
    session: int
    state: str
    pinned: QuestionOut | None
    questions: list[QuestionOut]


class SessionDetailOut(SessionOut):
    moderator: bool = Field(description="whether the reader moderates this session")
    queue: QueueOut


class QuestionIn(Schema):
    text: StrictStr
    anonymous: StrictBool = False

    model_config = {"extra": "forbid"}


class UpvotesOut(Schema):
    upvotes: int


class ModerateIn(Schema):
    action: Literal[services.QUESTION_ACTIONS]  # type: ignore[valid-type]
    reason: StrictStr = ""

    model_config = {"extra": "forbid"}


class BanIn(Schema):
    user: Id
    reason: StrictStr

    model_config = {"extra": "forbid"}


class BanOut(Schema):
    session: int
    user: int
    reason: str
    created_at: datetime


# --- Helpers ----------------------------------------------------------------------------------


def _thread_out(thread: Thread, comment_count: int | None = None) -> dict:
    if comment_count is None:
        comment_count = getattr(thread, "comment_count", None)
    if comment_count is None:
        comment_count = thread.comments.filter(deleted_at__isnull=True).count()
    return {
        "id": thread.pk,
        "title": thread.title,
        "initiative": thread.initiative_id,
        "poll": thread.poll_id,
        "answer": thread.answer_id,
        "comment_count": comment_count,
        "created_at": thread.created_at,
        "last_activity_at": thread.last_activity_at,
        "hidden": thread.hidden_at is not None,
        "hidden_reason": thread.hidden_reason,
    }


def _visible_thread(request, thread_id: int) -> Thread:
    thread = thread_get(thread_id=thread_id)
    if thread is None or not can_view_thread(thread, request.user):
        raise Http404
    return thread


def _my_reactions(user, comment_ids) -> dict[int, str]:
    if not getattr(user, "is_authenticated", False):
        return {}
    rows = Reaction.objects.filter(user=user, comment_id__in=list(comment_ids))
    return dict(rows.values_list("comment_id", "kind"))


def _comment_out(comment: Comment, *, reader, answer_id: int | None, reactions: dict) -> dict:
    deleted = comment.deleted_at is not None
    hidden = comment.hidden_at is not None
    mine = getattr(reader, "is_authenticated", False) and comment.author_id == reader.pk
    # Moderators and the author still read a hidden comment; everyone else sees why it's gone.
    insider = bool(mine) or is_staff_role(reader)
    readable = not deleted and (not hidden or insider)
    return {
        "id": comment.pk,
        "thread": comment.thread_id,
        "parent": comment.parent_id,
        "author": None if deleted else str(comment.author.public_name),
        "is_official": comment.is_official,
        "mine": bool(mine),
        "body": comment.body if readable else "",
        "body_html": comment.body_html if readable else "",
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
        "deleted": deleted,
        "hidden": hidden,
        # Why it was hidden is between the moderators and the author.
        "hidden_reason": comment.hidden_reason if insider else "",
        "is_answer": answer_id == comment.pk,
        "agree": comment.agree_count,
        "disagree": comment.disagree_count,
        "my_reaction": reactions.get(comment.pk),
        "editable": can_edit_comment(reader, comment),
    }


def _one_comment(comment: Comment, reader) -> dict:
    comment = Comment.objects.select_related("author", "thread").get(pk=comment.pk)
    return _comment_out(
        comment,
        reader=reader,
        answer_id=comment.thread.answer_id,
        reactions=_my_reactions(reader, [comment.pk]),
    )


def _session_out(session: Session) -> dict:
    return {
        "id": session.pk,
        **content_payload(session, ("title", "description"), reader_language()),
        "language": session.language,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "moderation": session.moderation,
        "state": session_state(session),
        "pinned": session.pinned_id,
        "eligibility": session.eligibility,
        "district": session.district_id,
    }


def _get_session(session_id: int) -> Session:
    session = session_get(session_id=session_id)
    if session is None:
        raise Http404
    return session


def _question_out(question, reader) -> dict:
    moderator = services.is_session_moderator(question.session, reader)
    return _question_json(question, for_moderators=moderator)


# --- Threads and comments ---------------------------------------------------------------------


@router.get("/dialogue/threads", response={200: list[ThreadOut], 422: dict})
def threads(request, limit: int = Limit, offset: int = Offset):
    return [_thread_out(t) for t in thread_list()[offset : offset + limit]]


@router.post("/dialogue/threads", response={201: ThreadOut, **ERRORS_WRITE}, auth=django_auth)
def thread_create(request, data: ThreadIn):
    thread = services.thread_create(actor=request.auth, title=data.title)
    return Status(201, _thread_out(thread, comment_count=0))


@router.get("/dialogue/threads/{thread_id}", response={200: ThreadOut, **ERRORS_READ})
def thread_detail(request, thread_id: int = PathId):
    return _thread_out(_visible_thread(request, thread_id))


@router.get(
    "/dialogue/threads/{thread_id}/comments", response={200: list[CommentTreeOut], **ERRORS_READ}
)
def thread_comment_list(request, thread_id: int = PathId):
    """Top-level comments in order, each with its replies. Deleted ones are tombstones;
    hidden ones keep their reason, and their text only for the author and moderators."""
    thread = _visible_thread(request, thread_id)
    comments = thread_comments(thread)
    ids = [c.pk for c in comments] + [r.pk for c in comments for r in c.reply_list]
    reactions = _my_reactions(request.user, ids)

    def shape(c):
        return _comment_out(c, reader=request.user, answer_id=thread.answer_id, reactions=reactions)

    return [{**shape(c), "replies": [shape(r) for r in c.reply_list]} for c in comments]


@router.post(
    "/dialogue/threads/{thread_id}/comments",
    response={201: CommentOut, **ERRORS_WRITE},
    auth=django_auth,
)
def comment_post(request, data: CommentIn, thread_id: int = PathId):
    comment = services.comment_post(
        actor=request.auth, thread_id=thread_id, body=data.body, parent_id=data.parent
    )
    return Status(201, _one_comment(comment, request.auth))


@router.patch(
    "/dialogue/comments/{comment_id}", response={200: CommentOut, **ERRORS_WRITE}, auth=django_auth
)
def comment_edit(request, data: CommentPatch, comment_id: int = PathId):
    comment = services.comment_edit(actor=request.auth, comment_id=comment_id, body=data.body)
    return _one_comment(comment, request.auth)


@router.delete(
    "/dialogue/comments/{comment_id}", response={200: CommentOut, **ERRORS_WRITE}, auth=django_auth
)
def comment_delete(request, comment_id: int = PathId):
    comment = services.comment_delete(actor=request.auth, comment_id=comment_id)
    return _one_comment(comment, request.auth)


@router.post(
    "/dialogue/comments/{comment_id}/reaction",
    response={200: ReactionOut, **ERRORS_WRITE},
    auth=django_auth,
)
def comment_react(request, data: ReactionIn, comment_id: int = PathId):
    comment = services.reaction_set(actor=request.auth, comment_id=comment_id, kind=data.kind)
    return {
        "comment": comment.pk,
        "agree": comment.agree_count,
        "disagree": comment.disagree_count,
        "my_reaction": _my_reactions(request.auth, [comment.pk]).get(comment.pk),
    }


@router.post(
    "/dialogue/comments/{comment_id}/answer",
    response={200: ThreadOut, **ERRORS_WRITE},
    auth=django_auth,
)
def comment_answer(request, comment_id: int = PathId):
    thread = services.comment_mark_answer(actor=request.auth, comment_id=comment_id)
    return _thread_out(thread)


@router.post(
    "/dialogue/comments/{comment_id}/hide",
    response={200: CommentOut, **ERRORS_WRITE},
    auth=django_auth,
)
def comment_hide(request, data: ReasonIn, comment_id: int = PathId):
    comment = services.comment_hide(actor=request.auth, comment_id=comment_id, reason=data.reason)
    return _one_comment(comment, request.auth)


@router.post(
    "/dialogue/comments/{comment_id}/restore",
    response={200: CommentOut, **ERRORS_WRITE},
    auth=django_auth,
)
def comment_restore(request, comment_id: int = PathId):
    comment = services.comment_restore(actor=request.auth, comment_id=comment_id)
    return _one_comment(comment, request.auth)


@router.post(
    "/dialogue/threads/{thread_id}/hide",
    response={200: ThreadOut, **ERRORS_WRITE},
    auth=django_auth,
)
def thread_hide(request, data: ReasonIn, thread_id: int = PathId):
    thread = services.thread_hide(actor=request.auth, thread_id=thread_id, reason=data.reason)
    return _thread_out(thread)


@router.post(
    "/dialogue/threads/{thread_id}/restore",
    response={200: ThreadOut, **ERRORS_WRITE},
    auth=django_auth,
)
def thread_restore(request, thread_id: int = PathId):
    thread = services.thread_restore(actor=request.auth, thread_id=thread_id)
    return _thread_out(thread)


def _flag_out(flag) -> dict:
    return {
        "id": flag.pk,
        "comment": flag.comment_id,
        "question": flag.question_id,
        "reason": flag.reason,
        "created_at": flag.created_at,
    }


def _flag_queue_out(flag) -> dict:
    text = flag.comment.body if flag.comment_id else flag.question.text
    return {
        **_flag_out(flag),
        "text": text,
        "reporter": flag.reporter_id,
        "resolved_at": flag.resolved_at,
    }


@router.get(
    "/dialogue/flags",
    response={200: list[FlagQueueOut], 401: ErrorOut, 403: ErrorOut, 422: dict},
    auth=django_auth,
)
def flag_list(request, limit: int = Limit, offset: int = Offset):
    """Open reports, oldest first (moderators and officials)."""
    require_moderator(request.auth)
    return [_flag_queue_out(f) for f in flags_open()[offset : offset + limit]]


@router.post(
    "/dialogue/flags/{flag_id}/dismiss",
    response={200: FlagQueueOut, **ERRORS_WRITE},
    auth=django_auth,
)
def flag_dismiss(request, flag_id: int = PathId):
    flag = services.flag_dismiss(actor=request.auth, flag_id=flag_id)
    return _flag_queue_out(Flag.objects.select_related("comment", "question").get(pk=flag.pk))


@router.post("/dialogue/flags", response={201: FlagOut, **ERRORS_WRITE}, auth=django_auth)
def flag_create(request, data: FlagIn):
    """Report a comment or a question to the moderators; reporting twice changes nothing."""
    flag = services.flag_create(
        actor=request.auth, reason=data.reason, comment_id=data.comment, question_id=data.question
    )
    return Status(201, _flag_out(flag))


# --- Sessions and questions -------------------------------------------------------------------


@router.get("/dialogue/sessions", response={200: list[SessionOut], 422: dict})
def sessions(request, limit: int = Limit, offset: int = Offset):
    return [_session_out(s) for s in session_list()[offset : offset + limit]]


@router.post("/dialogue/sessions", response={201: SessionOut, **ERRORS_WRITE}, auth=django_auth)
def session_create(request, data: SessionIn):
    session = services.session_create(
        actor=request.auth,
        data=services.SessionInput(
            title=data.title,
            description=data.description,
            language=data.language,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            moderation=data.moderation,
            host_ids=tuple(data.hosts),
            eligibility=data.eligibility,
            district_id=data.district,
            original_language=data.original_language,
            **translation_columns(data.translations, fields=("title", "description")),
        ),
    )
    return Status(201, _session_out(session))


@router.get(
    "/dialogue/sessions/{session_id}",
    response={200: SessionDetailOut, **ERRORS_READ},
    exclude_unset=True,
)
def session_detail(request, session_id: int = PathId):
    """The session and its queue as the reader's screen shows it (the websocket snapshot)."""
    session = _get_session(session_id)
    moderator = services.is_session_moderator(session, request.user)
    return {
        **_session_out(session),
        "moderator": moderator,
        "queue": session_queue(session, for_moderators=moderator),
    }


@router.get(
    "/dialogue/sessions/{session_id}/questions",
    response={200: list[QuestionOut], **ERRORS_READ},
    exclude_unset=True,
)
def session_questions(request, session_id: int = PathId):
    session = _get_session(session_id)
    moderator = services.is_session_moderator(session, request.user)
    return session_queue(session, for_moderators=moderator)["questions"]


@router.post(
    "/dialogue/sessions/{session_id}/questions",
    response={201: QuestionOut, **ERRORS_WRITE},
    auth=django_auth,
    exclude_unset=True,
)
def question_ask(request, data: QuestionIn, session_id: int = PathId):
    question = services.question_ask(
        actor=request.auth, session_id=session_id, text=data.text, anonymous=data.anonymous
    )
    return Status(201, _question_out(question, request.auth))


@router.post(
    "/dialogue/questions/{question_id}/upvote",
    response={200: UpvotesOut, **ERRORS_WRITE},
    auth=django_auth,
)
def question_upvote(request, question_id: int = PathId):
    question = services.question_vote(actor=request.auth, question_id=question_id, up=True)
    return {"upvotes": question.upvotes_count}


@router.delete(
    "/dialogue/questions/{question_id}/upvote",
    response={200: UpvotesOut, **ERRORS_WRITE},
    auth=django_auth,
)
def question_unvote(request, question_id: int = PathId):
    question = services.question_vote(actor=request.auth, question_id=question_id, up=False)
    return {"upvotes": question.upvotes_count}


@router.post(
    "/dialogue/questions/{question_id}/moderate",
    response={200: QuestionOut, **ERRORS_WRITE},
    auth=django_auth,
    exclude_unset=True,
)
def question_moderate(request, data: ModerateIn, question_id: int = PathId):
    question = services.question_moderate(
        actor=request.auth, question_id=question_id, action=data.action, reason=data.reason
    )
    return _question_out(question, request.auth)


@router.post(
    "/dialogue/sessions/{session_id}/bans",
    response={201: BanOut, **ERRORS_WRITE},
    auth=django_auth,
)
def session_ban(request, data: BanIn, session_id: int = PathId):
    ban = services.session_ban(
        actor=request.auth, session_id=session_id, user_id=data.user, reason=data.reason
    )
    return Status(
        201,
        {
            "session": ban.session_id,
            "user": ban.user_id,
            "reason": ban.reason,
            "created_at": ban.created_at,
        },
    )


@router.delete(
    "/dialogue/sessions/{session_id}/bans/{user_id}",
    response={204: None, **ERRORS_WRITE},
    auth=django_auth,
)
def session_unban(request, session_id: int = PathId, user_id: int = PathId):
    services.session_unban(actor=request.auth, session_id=session_id, user_id=user_id)
    return Status(204, None)
