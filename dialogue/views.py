"""City Dialogue pages: threads with comments, live Q&A sessions and the presenter screen.

Every form posts to a short view that calls one service, then redirects (post/redirect/get).
A DomainError becomes a page with its message and status, and nothing has changed. The
live question list is rendered here first and then kept current by static/js/dialogue-live.js.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import is_citizen, is_moderator, is_official, require_moderator
from civic.errors import DomainError, NotFound
from civic.realtime import now_seq
from civic.views import domain_error_response

from .forms import SessionForm
from .models import Comment, Question, QuestionVote, Reaction, SessionBan, ThreadFollow
from .permissions import (
    can_edit_comment,
    comment_edit_minutes,
    require_comment_author,
    session_refusal,
)
from .selectors import (
    can_view_thread,
    flags_open,
    session_get,
    session_list,
    session_queue,
    session_state,
    thread_comments,
    thread_get_for,
    thread_list,
)
from .services import (
    SessionInput,
    comment_delete,
    comment_edit,
    comment_hide,
    comment_mark_answer,
    comment_post,
    comment_restore,
    flag_create,
    flag_dismiss,
    flag_hide_target,
    is_session_moderator,
    question_ask,
    question_moderate,
    question_vote,
    reaction_set,
    session_ban,
    session_create,
    session_unban,
    thread_create,
    thread_follow,
    thread_for,
    thread_hide,
    thread_restore,
)

PRESENTER_QUEUE = 5


def _can_moderate(user) -> bool:
    return is_moderator(user) or is_official(user)


def _int_or_none(value):
    value = (value or "").strip()
    return value or None


# --- Index ------------------------------------------------------------------------------------


def _index_context(request, **extra):
    sessions = list(session_list()[:100])
    for s in sessions:
        s.state = session_state(s)
    return {
        "threads": thread_list()[:50],
        "live": [s for s in sessions if s.state == "live"],
        "upcoming": sorted(
            (s for s in sessions if s.state == "upcoming"), key=lambda s: s.starts_at
        ),
        "ended": [s for s in sessions if s.state == "ended"][:10],
        "can_start": is_citizen(request.user),
        "can_create_session": _can_moderate(request.user),
        **extra,
    }


@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "POST":
        title = request.POST.get("title", "")
        try:
            thread = thread_create(actor=request.user, title=title)
        except DomainError as exc:
            context = _index_context(request, error=exc.message, title=title)
            return render(request, "dialogue/index.html", context, status=exc.status)
        messages.success(request, _("Your topic is open. Write the first comment."))
        return redirect(thread.get_absolute_url())
    return render(request, "dialogue/index.html", _index_context(request))


@require_POST
def thread_start(request, kind: str, pk: int):
    """The discussion of a poll or an initiative, made when someone first opens it."""
    if kind == "poll":
        from polls.selectors import poll_get

        subject = poll_get(poll_id=pk, user=request.user)
    elif kind == "initiative":
        from communities.selectors import initiative_get

        subject = initiative_get(initiative_id=pk, user=request.user)
    else:
        raise Http404
    if subject is None:
        raise Http404
    try:
        thread = thread_for(actor=request.user, **{kind: subject})
    except DomainError as exc:
        return domain_error_response(request, exc)
    return redirect(thread.get_absolute_url())


# --- Threads ----------------------------------------------------------------------------------


def _decorate(comments, user, *, moderator: bool) -> None:
    """What this reader may do with each comment, worked out once for the template."""
    now = timezone.now()
    everything = [c for top in comments for c in (top, *top.reply_list)]
    mine = {}
    if user.is_authenticated:
        mine = dict(
            Reaction.objects.filter(
                user=user, comment_id__in=[c.pk for c in everything]
            ).values_list("comment_id", "kind")
        )
    for c in everything:
        own = user.is_authenticated and c.author_id == user.pk
        c.is_mine = own
        c.can_edit = can_edit_comment(user, c, now=now)
        c.can_delete = own and c.deleted_at is None
        c.my_reaction = mine.get(c.pk)
        c.show_reason = own or moderator


def _thread_context(request, thread, **extra):
    user = request.user
    moderator = _can_moderate(user)
    comments = thread_comments(thread)
    _decorate(comments, user, moderator=moderator)
    answer = thread.answer
    if answer is not None and (answer.deleted_at or answer.hidden_at):
        answer = None
    return {
        "thread": thread,
        "comments": comments,
        "answer": answer,
        "comment_count": sum(
            1 for top in comments for c in (top, *top.reply_list) if c.deleted_at is None
        ),
        "is_moderator": moderator,
        "is_official": is_official(user),
        # Only its starter and moderators reach a closed thread; both may read why.
        "show_thread_reason": moderator
        or (user.is_authenticated and thread.created_by_id == user.pk),
        "can_comment": is_citizen(user) and thread.hidden_at is None,
        "following": user.is_authenticated
        and ThreadFollow.objects.filter(thread=thread, user=user).exists(),
        **extra,
    }


@require_http_methods(["GET", "POST"])
def thread_detail(request, pk: int):
    thread = thread_get_for(thread_id=pk, user=request.user)
    if thread is None:
        raise Http404
    if request.method == "POST":
        body = request.POST.get("body", "")
        parent = _int_or_none(request.POST.get("parent"))
        try:
            comment = comment_post(
                actor=request.user, thread_id=thread.pk, body=body, parent_id=parent
            )
        except DomainError as exc:
            context = _thread_context(request, thread, error=exc.message, body=body, parent=parent)
            return render(request, "dialogue/thread.html", context, status=exc.status)
        messages.success(request, _("Your comment is published."))
        return redirect(f"{thread.get_absolute_url()}#comment-{comment.pk}")
    return render(request, "dialogue/thread.html", _thread_context(request, thread))


@require_POST
def thread_action(request, pk: int, action: str):
    try:
        if action == "follow":
            follow = request.POST.get("follow", "1") == "1"
            thread_follow(actor=request.user, thread_id=pk, follow=follow)
            note = _("You follow this discussion.") if follow else _("You no longer follow it.")
        elif action == "hide":
            thread_hide(actor=request.user, thread_id=pk, reason=request.POST.get("reason", ""))
            note = _("The discussion is closed.")
        elif action == "restore":
            thread_restore(actor=request.user, thread_id=pk)
            note = _("The discussion is open again.")
        else:
            raise Http404
    except DomainError as exc:
        return domain_error_response(request, exc)
    messages.success(request, note)
    return redirect("dialogue:thread", pk=pk)


def _comment_or_404(request, pk):
    comment = Comment.objects.select_related("thread").filter(pk=pk).first()
    if comment is None or not can_view_thread(comment.thread, request.user):
        raise NotFound(_("No such comment."))
    return comment


@require_http_methods(["GET", "POST"])
def comment_edit_view(request, pk: int):
    try:
        comment = _comment_or_404(request, pk)
        require_comment_author(request.user, comment)
    except DomainError as exc:
        return domain_error_response(request, exc)
    context = {
        "comment": comment,
        "thread": comment.thread,
        "body": comment.body,
        "edit_minutes": comment_edit_minutes(),
    }
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            comment_edit(actor=request.user, comment_id=comment.pk, body=body)
        except DomainError as exc:
            context.update(error=exc.message, body=body)
            return render(request, "dialogue/comment_edit.html", context, status=exc.status)
        messages.success(request, _("Your comment is saved."))
        return redirect(f"{comment.thread.get_absolute_url()}#comment-{comment.pk}")
    return render(request, "dialogue/comment_edit.html", context)


def _react(request, pk):
    kind = request.POST.get("kind", "")
    reaction_set(actor=request.user, comment_id=pk, kind=None if kind == "none" else kind)
    return None


def _reason(request):
    return request.POST.get("reason", "")


COMMENT_ACTIONS = {
    "delete": (
        lambda r, pk: comment_delete(actor=r.user, comment_id=pk),
        gettext_lazy("Your comment is deleted."),
    ),
    "react": (_react, None),
    "flag": (
        lambda r, pk: flag_create(actor=r.user, comment_id=pk, reason=_reason(r)),
        gettext_lazy("Thank you. A moderator will look at it."),
    ),
    "hide": (
        lambda r, pk: comment_hide(actor=r.user, comment_id=pk, reason=_reason(r)),
        gettext_lazy("The comment is hidden."),
    ),
    "restore": (
        lambda r, pk: comment_restore(actor=r.user, comment_id=pk),
        gettext_lazy("The comment is restored."),
    ),
    "answer": (
        lambda r, pk: comment_mark_answer(actor=r.user, comment_id=pk),
        gettext_lazy("Marked as the answer."),
    ),
}


@require_POST
def comment_action(request, pk: int, action: str):
    if action not in COMMENT_ACTIONS:
        raise Http404
    run, note = COMMENT_ACTIONS[action]
    try:
        comment = _comment_or_404(request, pk)
        run(request, comment.pk)
    except DomainError as exc:
        return domain_error_response(request, exc)
    if note:
        # The notes are lazy strings: they are translated now, in the reader's language.
        messages.success(request, str(note))
    return redirect(f"{comment.thread.get_absolute_url()}#comment-{comment.pk}")


# --- Sessions ---------------------------------------------------------------------------------


def _session_or_404(pk):
    session = session_get(session_id=pk)
    if session is None:
        raise Http404
    return session


def _session_context(request, session, **extra):
    """Everything the session page shows; `action_error` is a refused vote or report."""
    user = request.user
    moderator = is_session_moderator(session, user)
    state = session_state(session)
    queue = session_queue(session, for_moderators=moderator)
    banned = user.is_authenticated and SessionBan.objects.filter(session=session, user=user).first()
    citizen = is_citizen(user)
    # Why this citizen could not ask or upvote here (a session of verified residents).
    refusal = session_refusal(user, session) if citizen else None
    voted = set()
    mine = []
    own = []
    if user.is_authenticated:
        own = list(
            Question.objects.filter(session=session, author=user).values_list("pk", flat=True)
        )
        voted = set(
            QuestionVote.objects.filter(question__session=session, user=user).values_list(
                "question_id", flat=True
            )
        )
        if not moderator:
            mine = list(
                Question.objects.filter(session=session, author=user)
                .exclude(state=Question.State.APPROVED)
                .order_by("created_at")
            )
    questions = queue["questions"]
    return {
        "session": session,
        "state": state,
        "seq": now_seq(),
        "is_moderator": moderator,
        "pinned": queue["pinned"],
        "published": _published(questions),
        "pending": [q for q in questions if q["state"] == Question.State.PENDING],
        "hidden": [q for q in questions if q["state"] == Question.State.HIDDEN],
        "mine": mine,
        "voted": sorted(voted),
        "own": sorted(own),
        # What only this reader's page knows; live-socket.js applies it to shared fragments.
        "reader": {
            "voted": sorted(voted),
            "own": sorted(own),
            "can_vote": bool(citizen and state == "live" and not banned and not refusal),
        },
        "banned": banned,
        "can_ask": citizen and state == "live" and not banned and not refusal,
        "can_vote": citizen and state == "live" and not banned and not refusal,
        "refusal": refusal,
        "hosts": list(session.hosts.all()),
        "bans": list(session.bans.select_related("user").order_by("created_at"))
        if moderator
        else [],
        **extra,
    }


def _published(questions):
    """Published questions as the list shows them: open ones first, the answered after."""
    approved = [q for q in questions if q["state"] == Question.State.APPROVED]
    return [q for q in approved if not q["answered"]] + [q for q in approved if q["answered"]]


@require_http_methods(["GET", "POST"])
def session_detail(request, pk: int):
    session = _session_or_404(pk)
    if request.method == "POST":
        text = request.POST.get("text", "")
        anonymous = request.POST.get("anonymous") in ("on", "1", "true")
        try:
            question = question_ask(
                actor=request.user, session_id=session.pk, text=text, anonymous=anonymous
            )
        except DomainError as exc:
            context = _session_context(
                request, session, error=exc.message, text=text, anonymous=anonymous
            )
            return render(request, "dialogue/session.html", context, status=exc.status)
        if question.state == Question.State.PENDING:
            messages.success(
                request, _("Thank you! Your question appears after a moderator approves it.")
            )
        else:
            messages.success(request, _("Thank you! Your question is published."))
        return redirect(f"{session.get_absolute_url()}#question-{question.pk}")
    return render(request, "dialogue/session.html", _session_context(request, session))


def session_presenter(request, pk: int):
    from django.utils.safestring import mark_safe

    from civic.qr import qr_svg

    """The projector screen: the question on screen, large, and the next ones in the queue."""
    session = _session_or_404(pk)
    queue = session_queue(session, for_moderators=False)
    pinned_id = queue["pinned"]["id"] if queue["pinned"] else None
    upcoming = [q for q in queue["questions"] if q["id"] != pinned_id and not q["answered"]]
    context = {
        "session": session,
        "state": session_state(session),
        "seq": now_seq(),
        "pinned": queue["pinned"],
        "upcoming": upcoming[:PRESENTER_QUEUE],
        "limit": PRESENTER_QUEUE,
    }
    # The room reads the screen in the session's language, whatever the laptop's is.
    with translation.override(session.language):
        context["session_url"] = request.build_absolute_uri(
            reverse("dialogue:session", kwargs={"pk": session.pk})
        )
        # The room joins by scanning, as on the poll projector (an SVG: no request for it).
        context["session_qr_svg"] = mark_safe(qr_svg(context["session_url"], size=240))  # noqa: S308 - ours
        return render(request, "dialogue/presenter.html", context)


@require_http_methods(["GET", "POST"])
def session_new(request):
    try:
        require_moderator(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    form = SessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = SessionInput(
            title=d["title"],
            description=d["description"],
            language=d["language"],
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
            moderation=d["moderation"],
            host_ids=tuple(h.pk for h in d["hosts"]),
            eligibility=d.get("eligibility") or "email",
            district_id=d["district"].pk if d.get("district") else None,
            **form.translation_values(),
        )
        try:
            session = session_create(actor=request.user, data=data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The session is created."))
            return redirect(session.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "dialogue/session_new.html", {"form": form}, status=status)


@require_POST
def session_ban_view(request, pk: int):
    session = _session_or_404(pk)
    try:
        session_ban(
            actor=request.user,
            session_id=session.pk,
            user_id=request.POST.get("user_id"),
            reason=_reason(request),
        )
    except DomainError as exc:
        return domain_error_response(request, exc)
    messages.success(request, _("The person can no longer ask or vote in this session."))
    return redirect(session.get_absolute_url())


@require_POST
def session_unban_view(request, pk: int):
    session = _session_or_404(pk)
    try:
        session_unban(
            actor=request.user, session_id=session.pk, user_id=request.POST.get("user_id")
        )
    except DomainError as exc:
        return domain_error_response(request, exc)
    messages.success(request, _("The person can take part in this session again."))
    return redirect(session.get_absolute_url())


QUESTION_NOTES = {
    "approve": gettext_lazy("The question is published."),
    "hide": gettext_lazy("The question is hidden."),
    "restore": gettext_lazy("The question is published again."),
    "answer": gettext_lazy("Marked as answered."),
    "pin": gettext_lazy("The question is on screen."),
    "unpin": gettext_lazy("The question is off the screen."),
    "flag": gettext_lazy("Thank you. A moderator will look at it."),
}


@require_POST
def question_action(request, pk: int, action: str):
    if action in ("vote", "flag"):
        return _question_citizen_action(request, pk, action)
    try:
        if action in QUESTION_NOTES:
            question = question_moderate(
                actor=request.user, question_id=pk, action=action, reason=_reason(request)
            )
            note = QUESTION_NOTES[action]
        else:
            raise Http404
    except DomainError as exc:
        return domain_error_response(request, exc)
    if note:
        messages.success(request, str(note))
    return redirect(f"{question.session.get_absolute_url()}#question-{question.pk}")


def _question_citizen_action(request, pk: int, action: str):
    """An upvote or a report: refused ones come back as the session page with the reason."""
    question = Question.objects.select_related("session").filter(pk=pk).first()
    try:
        if question is None:
            raise NotFound(_("No such question."))
        if action == "vote":
            up = request.POST.get("up", "1") != "0"
            question_vote(actor=request.user, question_id=pk, up=up)
            if request.headers.get("HX-Request"):
                return _question_row(request, question)
        else:
            flag_create(actor=request.user, question_id=pk, reason=_reason(request))
            messages.success(request, str(QUESTION_NOTES[action]))
    except DomainError as exc:
        if question is None or exc.status in (401, 404):
            return domain_error_response(request, exc)
        session = _session_or_404(question.session_id)
        context = _session_context(request, session, action_error=exc.message)
        return render(request, "dialogue/session.html", context, status=exc.status)
    return redirect(f"{question.session.get_absolute_url()}#question-{question.pk}")


def _question_row(request, question):
    """One published question as the list shows it, after an upvote (htmx swaps it in)."""
    session = _session_or_404(question.session_id)
    context = _session_context(request, session)
    row = next((q for q in context["published"] if q["id"] == question.pk), None)
    if row is None:
        return redirect(f"{session.get_absolute_url()}#question-{question.pk}")
    return render(request, "dialogue/_question.html", {**context, "q": row, "list": "published"})


# --- Reports (moderators) ---------------------------------------------------------------------


def flag_queue(request):
    """Open reports, oldest first, with the reported text, for moderators and officials."""
    try:
        require_moderator(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    return render(request, "dialogue/flags.html", {"flags": list(flags_open()[:200])})


@require_POST
def flag_action(request, pk: int, action: str):
    try:
        if action == "dismiss":
            flag_dismiss(actor=request.user, flag_id=pk)
            note = _("The report is dismissed.")
        elif action == "hide":
            flag_hide_target(actor=request.user, flag_id=pk, reason=_reason(request))
            note = _("It is hidden, and its reports are closed.")
        else:
            raise Http404
    except DomainError as exc:
        return domain_error_response(request, exc)
    messages.success(request, note)
    return redirect("dialogue:flags")
