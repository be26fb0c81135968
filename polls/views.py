"""Poll pages: the list, a poll with its vote form and live results, and officials' pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import is_official
from civic.errors import DomainError
from civic.qr import qr_svg
from civic.ratelimit import client_address
from civic.realtime import now_seq
from civic.views import domain_error_response

from .forms import ChoiceFormSet, CodesForm, PollForm
from .models import EventCode, Poll
from .permissions import require_can_manage, vote_refusal
from .selectors import (
    event_code_batches,
    poll_get,
    poll_list_public,
    poll_results_for,
    results_rows,
    voter_state,
)
from .services import (
    ChoiceInput,
    PollInput,
    PollNotDraft,
    event_codes_generate,
    event_codes_revoke,
    poll_close,
    poll_create,
    poll_open,
    poll_schedule,
    poll_update,
    vote_cast,
)


def poll_list(request):
    polls = list(poll_list_public(user=request.user)[:200])
    groups = {status: [p for p in polls if p.status == status] for status in Poll.Status.values}
    return render(
        request, "polls/index.html", {"groups": groups, "is_official": is_official(request.user)}
    )


def _detail_context(request, poll, **extra):
    message = poll_results_for(poll, request.user, seq=now_seq())
    return {
        "poll": poll,
        "results": message,
        "rows": results_rows(poll, message),
        "voter": voter_state(poll, request.user),
        "code": request.GET.get("code", "")[:32],
        # Why this account could not vote (not a verified resident, another district):
        # explained before the form, with the way to verify.
        "refusal": vote_refusal(request.user, poll) if poll.takes_accounts else None,
        **extra,
    }


@require_http_methods(["GET", "POST"])
def poll_detail(request, poll_id: int):
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    if request.method == "POST":
        code = request.POST.get("code", "").strip() or None
        choices = request.POST.getlist("choice")
        try:
            # A code used while signed in is that account's ballot: the service gets both.
            result = vote_cast(
                poll_id=poll.pk,
                choice_ids=choices,
                user=request.user,
                code=code,
                client_address=client_address(request),
            )
        except DomainError as exc:
            context = _detail_context(
                request,
                poll,
                error=exc.message,
                error_link=exc.link,
                selected=choices,
                code=code or "",
            )
            response = render(request, "polls/detail.html", context, status=exc.status)
            if getattr(exc, "retry_after", None):
                response["Retry-After"] = str(exc.retry_after)
            return response
        messages.success(
            request,
            _("Your vote has been changed.")
            if result.changed
            else _("Thank you! Your vote is counted."),
        )
        return redirect("polls:detail", poll_id=poll.pk)
    return render(request, "polls/detail.html", _detail_context(request, poll))


# --- Officials ------------------------------------------------------------------------------


def _official_only(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        try:
            require_can_manage(request.user)
        except DomainError as exc:
            return domain_error_response(request, exc)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


@_official_only
def manage_list(request):
    polls = Poll.objects.select_related("district").order_by("-created_at")[:200]
    return render(request, "polls/manage_list.html", {"polls": polls})


def _poll_input(form, formset) -> PollInput:
    choices = [
        ChoiceInput(
            f.cleaned_data["label_kk"], f.cleaned_data["label_ru"], f.cleaned_data["label_en"]
        )
        for f in formset
        if any(f.cleaned_data.get(k) for k in ("label_kk", "label_ru", "label_en"))
    ]
    d = form.cleaned_data
    return PollInput(
        original_language=d["original_language"],
        title_kk=d["title_kk"],
        title_ru=d["title_ru"],
        title_en=d["title_en"],
        description_kk=d["description_kk"],
        description_ru=d["description_ru"],
        description_en=d["description_en"],
        choices=choices,
        kind=d["kind"],
        max_choices=d["max_choices"],
        district_id=d["district"].pk if d["district"] else None,
        eligibility=d["eligibility"],
        opens_at=d["opens_at"],
        closes_at=d["closes_at"],
        results_visibility=d["results_visibility"],
        allow_vote_change=d["allow_vote_change"],
        secret_ballot=d["secret_ballot"],
        ballot_mode=d["ballot_mode"],
    )


def _poll_initial(poll: Poll) -> tuple[dict, list[dict]]:
    """A draft's values as the form's initial data (its times in Almaty time)."""
    from django.utils import timezone

    fields = {
        name: getattr(poll, name)
        for name in (
            "original_language", "title_kk", "title_ru", "title_en", "description_kk",
            "description_ru", "description_en", "kind", "max_choices", "results_visibility",
            "allow_vote_change", "secret_ballot", "ballot_mode", "eligibility",
        )
    }  # fmt: skip
    fields["district"] = poll.district
    for name in ("opens_at", "closes_at"):
        value = getattr(poll, name)
        fields[name] = timezone.localtime(value) if value else None
    choices = [
        {"label_kk": c.label_kk, "label_ru": c.label_ru, "label_en": c.label_en}
        for c in poll.choices.all()
    ]
    return fields, choices


def _poll_form_page(request, poll: Poll | None):
    """The new-poll page, and the same page for changing a draft."""
    initial, choices = _poll_initial(poll) if poll is not None else ({}, [])
    form = PollForm(request.POST or None, initial=initial or None)
    formset = ChoiceFormSet(request.POST or None, prefix="choices", initial=choices or None)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = _poll_input(form, formset)
        try:
            if poll is None:
                poll = poll_create(actor=request.user, data=data)
            else:
                poll = poll_update(actor=request.user, poll_id=poll.pk, data=data)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The poll is saved as a draft.") if not initial else _("The draft is saved."),
            )
            return redirect("polls:manage_detail", poll_id=poll.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "polls/manage_form.html",
        {"form": form, "formset": formset, "poll": poll},
        status=status,
    )


@_official_only
@require_http_methods(["GET", "POST"])
def manage_create(request):
    return _poll_form_page(request, None)


@_official_only
@require_http_methods(["GET", "POST"])
def manage_edit(request, poll_id: int):
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    if poll.status != Poll.Status.DRAFT:
        return domain_error_response(request, PollNotDraft(code="poll_not_draft"))
    return _poll_form_page(request, poll)


@_official_only
def manage_detail(request, poll_id: int):
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    context = _detail_context(
        request, poll, batches=event_code_batches(poll), codes_form=CodesForm()
    )
    return render(request, "polls/manage_detail.html", context)


ACTIONS = {"schedule": poll_schedule, "open": poll_open, "close": poll_close}
# Actions that cannot be undone are confirmed: the page's button only asks (a <details> with a
# second button, no JavaScript needed); a post without confirm=yes shows a confirmation page.
CONFIRMED = {"open", "close"}
ACTION_DONE = {
    "schedule": _lazy("The poll is scheduled: it opens by itself at its opening time."),
    "open": _lazy("The poll is open: people can vote now."),
    "close": _lazy("The poll is closed: its result is final."),
}


@_official_only
@require_http_methods(["GET", "POST"])
def manage_action(request, poll_id: int, action: str):
    service = ACTIONS.get(action)
    if service is None:
        raise Http404
    if action in CONFIRMED and (request.method == "GET" or request.POST.get("confirm") != "yes"):
        poll = poll_get(poll_id=poll_id, user=request.user)
        if poll is None:
            raise Http404
        return render(request, "polls/manage_confirm.html", {"poll": poll, "action": action})
    if request.method == "GET":
        return redirect("polls:manage_detail", poll_id=poll_id)
    try:
        service(actor=request.user, poll_id=poll_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, ACTION_DONE[action])
    return redirect("polls:manage_detail", poll_id=poll_id)


@_official_only
@require_POST
def manage_codes(request, poll_id: int):
    form = CodesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Generate between 1 and 2000 codes at a time."))
        return redirect("polls:manage_detail", poll_id=poll_id)
    try:
        codes = event_codes_generate(
            actor=request.user, poll_id=poll_id, count=form.cleaned_data["count"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("polls:manage_detail", poll_id=poll_id)
    return redirect("polls:codes_print", poll_id=poll_id, batch=codes[0].batch)


@_official_only
@require_POST
def manage_codes_revoke(request, poll_id: int, batch):
    try:
        n = event_codes_revoke(actor=request.user, poll_id=poll_id, batch=batch)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext("%(n)d unused code revoked.", "%(n)d unused codes revoked.", n) % {"n": n},
        )
    return redirect("polls:manage_detail", poll_id=poll_id)


@_official_only
def codes_print(request, poll_id: int, batch):
    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    codes = EventCode.objects.filter(poll=poll, batch=batch).order_by("id")
    if not codes:
        raise Http404
    base = request.build_absolute_uri(reverse("polls:detail", kwargs={"poll_id": poll.pk}))
    sheet = [
        {
            "code": c,
            "url": f"{base}?code={c.code}",
            "qr": mark_safe(qr_svg(f"{base}?code={c.code}")),  # noqa: S308 - SVG we generate
        }
        for c in codes
    ]
    return render(request, "polls/codes_print.html", {"poll": poll, "sheet": sheet})


def poll_qr(request, poll_id: int):
    """The poll's own QR code (for the projector and posters)."""
    from django.http import HttpResponse

    poll = poll_get(poll_id=poll_id, user=request.user)
    if poll is None:
        raise Http404
    url = request.build_absolute_uri(reverse("polls:detail", kwargs={"poll_id": poll.pk}))
    return HttpResponse(qr_svg(url), content_type="image/svg+xml")
