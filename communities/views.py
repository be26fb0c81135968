"""Pages of communities and initiatives: lists, a community's page and its members, the
initiative page with its dossier, support and decisions, the map and the review queues.

Every form posts to a short view that calls one service, then redirects (post/redirect/get).
A DomainError re-renders the page with its message and status, and nothing has changed.
The live support count is rendered here first and then kept current by
static/js/initiative-live.js.
"""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import (
    is_citizen,
    is_moderator,
    is_official,
    require_citizen,
    require_moderator,
    require_official,
)
from civic.content import LANGS
from civic.errors import Conflict, DomainError, InvalidInput
from civic.realtime import now_seq
from civic.templatetags.numbers import format_percent
from civic.views import domain_error_response

from . import services
from .forms import (
    AttachmentForm,
    CommunityDecisionForm,
    CommunityFilterForm,
    CommunityForm,
    CommunityRegisterForm,
    DecisionForm,
    InitiativeFilterForm,
    InitiativeForm,
    InviteForm,
    NewInitiativeForm,
    ProgressForm,
)
from .models import Attachment, Community, CommunityInvite, FocusArea, Initiative, Membership
from .permissions import (
    COMMUNITY,
    OFFICIAL,
    PROGRESS_OPEN,
    can_report_progress,
    initiative_allowed_transitions,
    initiative_sides,
    support_refusal,
)
from .selectors import (
    PAGE_SIZE,
    communities_of,
    communities_pending_review,
    community_get,
    community_list_public,
    dossier,
    has_supported,
    in_review_queue,
    initiative_get,
    initiative_list,
    initiative_progress,
    members_of,
    membership_of,
    review_queue,
    unsubmitted_of,
    with_progress,
)
from .services import (
    COMMUNITY_MOVES,
    DOSSIER_OPEN,
    EDITABLE,
    SUPPORTABLE,
    CommunityInput,
    InitiativeInput,
)

MAP_LIMIT = 500


def _page(request, items, per_page: int = PAGE_SIZE):
    """One page of `items`; a page number that is not a number or out of range gives the
    first or the last page, never an error."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _is_active_member(membership) -> bool:
    return membership is not None and membership.state == Membership.State.ACTIVE


# --- Communities ------------------------------------------------------------------------------


def community_list(request):
    form = CommunityFilterForm(request.GET)
    communities = (
        community_list_public(**form.values())
        .annotate(
            members_count=Count(
                "memberships",
                filter=Q(memberships__state=Membership.State.ACTIVE),
                distinct=True,
            )
        )
        .order_by("name")
    )
    page = _page(request, communities)
    return render(
        request,
        "communities/index.html",
        {
            "form": form,
            "page_obj": page,
            "query": _query_without_page(request),
            "can_register": is_citizen(request.user),
            "can_review": is_moderator(request.user) or is_official(request.user),
        },
    )


def _community_context(request, community: Community, **extra) -> dict:
    user = request.user
    membership = membership_of(community, user)
    is_member = _is_active_member(membership)
    can_review = is_moderator(user) or is_official(user)
    initiatives = initiative_list(community=community.pk, sort="newest")[:50]
    drafts = unsubmitted_of(community) if is_member else []
    return {
        "community": community,
        "membership": membership,
        "is_member": is_member,
        "is_lead": is_member and membership.role == Membership.Role.LEAD,
        "can_review": can_review,
        "can_join": is_citizen(user) and membership is None and community.is_approved,
        "show_status": not community.is_approved and (membership is not None or can_review),
        "focus_labels": [
            FocusArea(v).label for v in community.focus_areas if v in FocusArea.values
        ],
        "member_count": community.memberships.filter(state=Membership.State.ACTIVE).count(),
        "initiatives": initiatives,
        "drafts": drafts,
        "decisions": [
            (action, _decision_label(action))
            for action, (allowed_from, _to) in COMMUNITY_MOVES.items()
            if community.status in allowed_from
        ]
        if can_review
        else [],
        "decision_form": extra.pop("decision_form", None) or CommunityDecisionForm(),
        **extra,
    }


def _decision_label(action: str) -> str:
    return {
        "approve": _("Approve"),
        "reject": _("Reject"),
        "suspend": _("Suspend"),
        "reinstate": _("Reinstate"),
    }[action]


def _get_community_or_404(request, slug: str) -> Community:
    community = community_get(slug=slug, user=request.user)
    if community is None:
        raise Http404
    return community


def community_detail(request, slug: str):
    community = _get_community_or_404(request, slug)
    return render(request, "communities/detail.html", _community_context(request, community))


def _community_error(request, community, exc: DomainError, **extra):
    context = _community_context(request, community, error=exc.message, **extra)
    return render(request, "communities/detail.html", context, status=exc.status)


def community_logo(request, slug: str):
    community = _get_community_or_404(request, slug)
    if not community.logo:
        raise Http404
    content_type = mimetypes.guess_type(community.logo.name)[0]
    if content_type not in services.LOGO_TYPES:
        raise Http404
    try:
        handle = community.logo.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _community_input(data: dict, *, name: str | None = None) -> CommunityInput:
    return CommunityInput(
        name=name if name is not None else data["name"],
        kind=data["kind"],
        description=data["description"],
        focus_areas=list(data["focus_areas"]),
        district_ids=[d.pk for d in data["districts"]],
        contact_email=data["contact_email"],
        contact_phone=data["contact_phone"],
        website=data["website"],
        **{k: v for k, v in data.items() if k in TRANSLATION_KEYS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def community_register(request):
    try:
        require_citizen(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    form = CommunityRegisterForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                community = services.community_register(
                    actor=request.user, data=_community_input(data), logo=data.get("logo")
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("Your community is registered. It will be listed after review."),
                )
                return redirect(community.get_absolute_url())
    return render(
        request, "communities/form.html", {"form": form, "community": None}, status=status
    )


def _community_initial(community: Community) -> dict:
    return {
        "name": community.name,
        **CommunityForm.initial_translations(community, ("name", "description")),
        "kind": community.kind,
        "description": community.description,
        "focus_areas": community.focus_areas,
        "districts": list(community.districts.all()),
        "contact_email": community.contact_email,
        "contact_phone": community.contact_phone,
        "website": community.website,
    }


@login_required
@require_http_methods(["GET", "POST"])
def community_edit(request, slug: str):
    community = _get_community_or_404(request, slug)
    try:
        services.require_lead(request.user, community.pk)
    except DomainError as exc:
        return domain_error_response(request, exc)
    form = CommunityForm(request.POST or None, initial=_community_initial(community))
    if community.status != Community.Status.PENDING:
        # The name is fixed once reviewed: the reviewers approved that name.
        form.fields["name"].disabled = True
        form.fields["name"].help_text = _("The name cannot change after review.")
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.community_update(
                    actor=request.user,
                    community_id=community.pk,
                    data=_community_input(form.cleaned_data),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("Saved."))
                return redirect(community.get_absolute_url())
    return render(
        request, "communities/form.html", {"form": form, "community": community}, status=status
    )


def _members_page(request, community, *, status: int = 200, **extra):
    members = list(members_of(community))
    context = {
        "community": community,
        "requests": [m for m in members if m.state == Membership.State.REQUESTED],
        "members": [m for m in members if m.state == Membership.State.ACTIVE],
        "invite_form": extra.pop("invite_form", None) or InviteForm(),
        **extra,
    }
    return render(request, "communities/members.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def community_members(request, slug: str):
    """Leads see who is in, answer requests, and invite people by e-mail (the POST)."""
    community = _get_community_or_404(request, slug)
    try:
        services.require_lead(request.user, community.pk)
    except DomainError as exc:
        return domain_error_response(request, exc)
    if request.method == "POST":
        form = InviteForm(request.POST)
        if not form.is_valid():
            return _members_page(request, community, invite_form=form, status=400)
        try:
            invite = services.invite_create(
                actor=request.user, community_id=community.pk, email=form.cleaned_data["email"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            return _members_page(request, community, invite_form=form, status=exc.status)
        messages.success(
            request, _("An invitation was sent to %(email)s.") % {"email": invite.email}
        )
        return redirect("communities:members", slug=community.slug)
    return _members_page(request, community)


MEMBER_ACTIONS = {
    "approve": lambda actor, pk: services.membership_approve(actor=actor, membership_id=pk),
    "promote": lambda actor, pk: services.membership_set_role(
        actor=actor, membership_id=pk, role=Membership.Role.LEAD
    ),
    "demote": lambda actor, pk: services.membership_set_role(
        actor=actor, membership_id=pk, role=Membership.Role.MEMBER
    ),
    "remove": lambda actor, pk: services.membership_remove(actor=actor, membership_id=pk),
}


@login_required
@require_POST
def member_action(request, slug: str, membership_id: int, action: str):
    community = _get_community_or_404(request, slug)
    act = MEMBER_ACTIONS.get(action)
    if act is None or not community.memberships.filter(pk=membership_id).exists():
        raise Http404
    try:
        act(request.user, membership_id)
    except DomainError as exc:
        if exc.status == 403:
            return domain_error_response(request, exc)
        return _members_page(request, community, error=exc.message, status=exc.status)
    messages.success(request, _("Done."))
    return redirect("communities:members", slug=community.slug)


@login_required
@require_POST
def community_join(request, slug: str):
    community = _get_community_or_404(request, slug)
    try:
        membership = services.membership_request(actor=request.user, community_id=community.pk)
    except DomainError as exc:
        return _community_error(request, community, exc)
    if membership.state == Membership.State.REQUESTED:
        messages.success(request, _("You asked to join. A lead of the community will answer."))
    return redirect(community.get_absolute_url())


@login_required
@require_POST
def community_leave(request, slug: str):
    community = _get_community_or_404(request, slug)
    membership = membership_of(community, request.user)
    if membership is None:
        return _community_error(
            request, community, Conflict(_("You are not a member of this community."))
        )
    try:
        if membership.state == Membership.State.ACTIVE:
            services.membership_leave(actor=request.user, community_id=community.pk)
        else:  # withdrawing one's own request to join
            services.membership_remove(actor=request.user, membership_id=membership.pk)
    except DomainError as exc:
        return _community_error(request, community, exc)
    messages.success(request, _("You have left the community."))
    return redirect(community.get_absolute_url())


@login_required
@require_POST
def community_decide(request, slug: str):
    """Approve, reject, suspend or reinstate (moderators and officials)."""
    community = _get_community_or_404(request, slug)
    form = CommunityDecisionForm(request.POST)
    action = request.POST.get("action", "")
    try:
        if not form.is_valid():
            raise InvalidInput(form.errors.get("reason", [_("The data sent is not valid.")])[0])
        services.community_decide(
            actor=request.user,
            community_id=community.pk,
            action=action,
            reason=form.cleaned_data["reason"],
        )
    except DomainError as exc:
        if exc.status == 403:
            return domain_error_response(request, exc)
        if request.POST.get("from") == "review":
            # Refused from the moderators' queue: the queue again, the error on that very item
            # with the reason field focused, not the community's page with the field far below.
            error = {
                "pk": community.pk,
                "message": exc.message,
                "reason": request.POST.get("reason", ""),
            }
            return _review_page(request, decide_error=error, status=exc.status)
        missing_reason = not request.POST.get("reason", "").strip()
        if action in ("reject", "suspend") and missing_reason and "reason" not in form.errors:
            # The missing reason is the reason field's error: the form's summary links to it and
            # page.js focuses it, rather than a message at the top of the page.
            form.add_error("reason", exc.message)
            context = _community_context(request, community, error="", decision_form=form)
            return render(request, "communities/detail.html", context, status=exc.status)
        return _community_error(request, community, exc, decision_form=form)
    messages.success(request, _("The decision is recorded."))
    return redirect(_safe_next(request, community.get_absolute_url()))


@login_required
def community_review(request):
    try:
        require_moderator(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    return _review_page(request)


def _review_page(request, *, decide_error: dict | None = None, status: int = 200):
    pending = communities_pending_review().prefetch_related("districts")
    # A refused decision comes back by POST: its queue page is the one it was sent from.
    number = request.POST.get("page") if request.method == "POST" else request.GET.get("page")
    page = Paginator(pending, PAGE_SIZE).get_page(number)
    return render(
        request,
        "communities/review.html",
        {
            "pending": page.object_list,
            "page_obj": page,
            "query": _query_without_page(request),
            "decision_form": CommunityDecisionForm(),
            "decide_error": decide_error,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def invite_accept(request, token):
    invite = CommunityInvite.objects.select_related("community").filter(token=token).first()
    if invite is None:
        raise Http404
    context = {"invite": invite, "community": invite.community}
    if request.method == "POST":
        try:
            services.invite_accept(actor=request.user, token=token)
        except DomainError as exc:
            context["error"] = exc.message
            return render(request, "communities/invite.html", context, status=exc.status)
        messages.success(
            request,
            _("Welcome to %(community)s!") % {"community": invite.community.display_name},
        )
        return redirect(invite.community.get_absolute_url())
    return render(request, "communities/invite.html", context)


# --- Initiatives ------------------------------------------------------------------------------


def initiative_index(request):
    form = InitiativeFilterForm(request.GET)
    initiatives = initiative_list(user=request.user, **form.values())
    return render(
        request,
        "communities/initiative_list.html",
        {
            "form": form,
            "page_obj": _page(request, initiatives),
            "query": _query_without_page(request),
            "can_propose": is_citizen(request.user),
            "is_official": is_official(request.user),
        },
    )


def initiative_map(request):
    form = InitiativeFilterForm(request.GET)
    located = list(
        with_progress(
            initiative_list(user=request.user, **form.values()).filter(
                latitude__isnull=False, longitude__isnull=False
            )
        )[:MAP_LIMIT]
    )
    markers = [
        {
            "id": i.pk,
            "title": i.title,
            "status": _status_with_progress(i),
            "progress": i.progress_percent if i.status in PROGRESS_OPEN else None,
            "supports": i.supports_count,
            "lat": float(i.latitude),
            "lng": float(i.longitude),
            "url": i.get_absolute_url(),
        }
        for i in located
    ]
    return render(
        request,
        "communities/initiative_map.html",
        {"form": form, "initiatives": located, "markers": markers},
    )


def _status_with_progress(initiative: Initiative) -> str:
    """The status as the map's popup says it: "In progress · 40 %" once work is reported."""
    status = initiative.get_status_display()
    percent = getattr(initiative, "progress_percent", None)
    if initiative.status != Initiative.Status.IN_PROGRESS or percent is None:
        return status
    return _("%(status)s · %(percent)s") % {"status": status, "percent": format_percent(percent, 0)}


def _initiative_context(request, initiative: Initiative, **extra) -> dict:
    user = request.user
    membership = membership_of(initiative.community, user)
    is_member = _is_active_member(membership)
    official = is_official(user)
    threshold = services.support_threshold(initiative.category)
    # What the service would accept now, asked of the rule it checks moves with.
    sides = initiative_sides(user, initiative, member=is_member)
    member_moves = initiative_allowed_transitions(user, initiative, side=COMMUNITY, sides=sides)
    official_moves = initiative_allowed_transitions(user, initiative, side=OFFICIAL, sides=sides)
    return {
        "initiative": initiative,
        "history": initiative.history.select_related("actor"),
        "documents": dossier(initiative),
        "supported": has_supported(initiative, user),
        "can_support": initiative.status in SUPPORTABLE,
        # Why this citizen could not support it (not a verified resident of the city or the
        # district): explained before the button, with the way to verify.
        "support_refusal": support_refusal(user, initiative)
        if initiative.status in SUPPORTABLE
        else None,
        "is_citizen": is_citizen(user),
        "is_member": is_member,
        "is_official": official,
        "threshold": threshold,
        "threshold_reached": initiative.threshold_reached_at is not None,
        "in_review_queue": in_review_queue(initiative),
        "progress": min(100, round(100 * initiative.supports_count / threshold))
        if threshold
        else 100,
        "member_moves": [(to, Initiative.Status(to).label) for to in member_moves],
        "can_edit": is_member and initiative.status in EDITABLE,
        "can_upload": is_member and initiative.status in DOSSIER_OPEN,
        "official_moves": official_moves,
        "decision_form": extra.pop("decision_form", None)
        or (DecisionForm(moves=official_moves) if official_moves else None),
        "attachment_form": extra.pop("attachment_form", None) or AttachmentForm(),
        "work": initiative_progress(initiative),
        "progress_form": extra.pop("progress_form", None)
        or (
            ProgressForm()
            if initiative.status in PROGRESS_OPEN and can_report_progress(user, initiative)
            else None
        ),
        "seq": now_seq(),
        **extra,
    }


def _get_initiative_or_404(request, pk) -> Initiative:
    initiative = initiative_get(initiative_id=pk, user=request.user)
    if initiative is None:
        raise Http404
    return initiative


def _initiative_error(request, initiative, exc: DomainError, **extra):
    context = _initiative_context(
        request, initiative, error=exc.message, error_link=exc.link, **extra
    )
    return render(request, "communities/initiative_detail.html", context, status=exc.status)


def initiative_detail(request, pk: int):
    initiative = _get_initiative_or_404(request, pk)
    return render(
        request, "communities/initiative_detail.html", _initiative_context(request, initiative)
    )


def _initiative_input(data: dict) -> InitiativeInput:
    return InitiativeInput(
        title=data["title"],
        summary=data["summary"],
        category=data["category"],
        body=data["body"],
        district_id=data["district"].pk if data["district"] else None,
        latitude=data["latitude"],
        longitude=data["longitude"],
        budget_kzt=data["budget_kzt"],
        timeline=data["timeline"],
        support_eligibility=data.get("support_eligibility") or "email",
        **{k: v for k, v in data.items() if k in TRANSLATION_KEYS},
    )


# The versions a form collects (civic.content.TranslationsFormMixin) go to the input as they are.
TRANSLATION_KEYS = {"original_language"} | {
    f"{f}_{lang}" for f in ("name", "description", "title", "summary") for lang in LANGS
}


@login_required
@require_http_methods(["GET", "POST"])
def initiative_new(request):
    try:
        require_citizen(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    communities = communities_of(request.user).filter(status=Community.Status.APPROVED)
    if not communities.exists():
        # Nothing to propose for: explain how to get there (a POST is refused as such).
        status = services.NotAMember.status if request.method == "POST" else 200
        return render(request, "communities/initiative_form.html", {"form": None}, status=status)
    form = NewInitiativeForm(
        request.POST or None,
        communities=communities,
        initial={"community": request.GET.get("community", "")[:20]},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                initiative = services.initiative_create(
                    actor=request.user,
                    community_id=form.cleaned_data["community"].pk,
                    data=_initiative_input(form.cleaned_data),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("Your draft is saved. Add documents, then submit it to the akimat."),
                )
                return redirect(initiative.get_absolute_url())
    return render(request, "communities/initiative_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def initiative_edit(request, pk: int):
    initiative = _get_initiative_or_404(request, pk)
    try:
        services.require_member(request.user, initiative.community_id)
        if initiative.status not in EDITABLE:
            raise Conflict(
                _("The proposal can be edited only as a draft or when changes are requested.")
            )
    except DomainError as exc:
        return domain_error_response(request, exc)
    form = InitiativeForm(request.POST or None, initial=InitiativeForm.initial_from(initiative))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.initiative_update(
                    actor=request.user,
                    initiative_id=initiative.pk,
                    data=_initiative_input(form.cleaned_data),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("Saved."))
                return redirect(initiative.get_absolute_url())
    return render(
        request,
        "communities/initiative_form.html",
        {"form": form, "initiative": initiative},
        status=status,
    )


@login_required
@require_POST
def initiative_support(request, pk: int):
    initiative = _get_initiative_or_404(request, pk)
    try:
        result = services.support_add(actor=request.user, initiative_id=initiative.pk)
    except DomainError as exc:
        return _initiative_error(request, initiative, exc)
    if request.headers.get("HX-Request"):
        return _support_region(request, initiative.pk)
    if result.changed:
        messages.success(request, _("Thank you for your support!"))
    return redirect(initiative.get_absolute_url())


@login_required
@require_POST
def initiative_unsupport(request, pk: int):
    initiative = _get_initiative_or_404(request, pk)
    try:
        result = services.support_remove(actor=request.user, initiative_id=initiative.pk)
    except DomainError as exc:
        return _initiative_error(request, initiative, exc)
    if request.headers.get("HX-Request"):
        return _support_region(request, initiative.pk)
    if result.changed:
        messages.success(request, _("Your support is withdrawn."))
    return redirect(initiative.get_absolute_url())


def _support_region(request, pk: int):
    """The support region alone, as it is now (htmx swaps it in place of the old one)."""
    initiative = _get_initiative_or_404(request, pk)
    return render(
        request, "communities/_support_box.html", _initiative_context(request, initiative)
    )


@login_required
@require_POST
def initiative_move(request, pk: int):
    """The community's moves: submit to the akimat, or withdraw."""
    initiative = _get_initiative_or_404(request, pk)
    try:
        services.initiative_transition(
            actor=request.user, initiative_id=initiative.pk, to=request.POST.get("to", "")
        )
    except DomainError as exc:
        return _initiative_error(request, initiative, exc)
    messages.success(request, _("The status is changed."))
    return redirect(initiative.get_absolute_url())


@login_required
@require_POST
def initiative_decide(request, pk: int):
    """An official's decision with the akimat's response."""
    initiative = _get_initiative_or_404(request, pk)
    try:
        require_official(request.user)
    except DomainError as exc:
        return _initiative_error(request, initiative, exc)
    form = DecisionForm(
        request.POST,
        moves=initiative_allowed_transitions(request.user, initiative, side=OFFICIAL),
    )
    if not form.is_valid():
        context = _initiative_context(request, initiative, decision_form=form)
        return render(request, "communities/initiative_detail.html", context, status=400)
    try:
        services.initiative_transition(
            actor=request.user,
            initiative_id=initiative.pk,
            to=form.cleaned_data["to"],
            response=form.cleaned_data["response"],
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        context = _initiative_context(request, initiative, decision_form=form)
        return render(request, "communities/initiative_detail.html", context, status=exc.status)
    messages.success(request, _("The decision is recorded and the community is notified."))
    return redirect(initiative.get_absolute_url())


def _dossier_post(request, pk: int, *, form_class, form_key: str, add, done: str, anchor: str):
    """A form posted on the initiative's page (a dossier document, a progress report): an
    invalid form or a refused service call re-renders the page with the form's errors."""
    initiative = _get_initiative_or_404(request, pk)
    form = form_class(request.POST, request.FILES)
    if not form.is_valid():
        context = _initiative_context(request, initiative, **{form_key: form})
        return render(request, "communities/initiative_detail.html", context, status=400)
    try:
        add(initiative, form.cleaned_data)
    except DomainError as exc:
        form.add_error(None, exc.message)
        context = _initiative_context(request, initiative, **{form_key: form})
        return render(request, "communities/initiative_detail.html", context, status=exc.status)
    messages.success(request, done)
    return redirect(initiative.get_absolute_url() + anchor)


@login_required
@require_POST
def attachment_upload(request, pk: int):
    return _dossier_post(
        request,
        pk,
        form_class=AttachmentForm,
        form_key="attachment_form",
        add=lambda initiative, data: services.attachment_add(
            actor=request.user,
            initiative_id=initiative.pk,
            title=data["title"],
            kind=data["kind"],
            upload=data["file"],
            original_language=data.get("original_language") or "",
            translations={lang: {"title": data.get(f"title_{lang}") or ""} for lang in LANGS},
        ),
        done=_("The document is added to the dossier."),
        anchor="#dossier",
    )


@login_required
@require_POST
def progress_add(request, pk: int):
    """A progress report (percent, note, photo) by an official or a community lead."""
    return _dossier_post(
        request,
        pk,
        form_class=ProgressForm,
        form_key="progress_form",
        add=lambda initiative, data: services.initiative_progress_add(
            actor=request.user,
            initiative_id=initiative.pk,
            percent=data["percent"],
            note=data["note"],
            photo=data["photo"],
        ),
        done=_("The progress is reported."),
        anchor="#progress",
    )


def attachment_download(request, pk: int, attachment_id: int):
    initiative = _get_initiative_or_404(request, pk)
    attachment = Attachment.objects.filter(pk=attachment_id, initiative=initiative).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def initiative_review(request):
    try:
        require_official(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    return render(
        request,
        "communities/initiative_review.html",
        {"page_obj": _page(request, review_queue()), "query": _query_without_page(request)},
    )
