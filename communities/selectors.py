"""Reads of communities and initiatives: lists with filters, pages, the review queue."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from accounts.permissions import is_moderator, is_official

from .models import Community, FocusArea, Initiative, InitiativeProgress, Membership, Support

S = Initiative.Status
PAGE_SIZE = 20
SORTS = {
    "supported": ("-supports_count", "-pk"),
    "newest": (F("submitted_at").desc(nulls_last=True), "-created_at", "-pk"),
    "decided": (F("decided_at").desc(nulls_last=True), "-pk"),
}


def community_list_public(*, focus: str | None = None, district: int | None = None) -> QuerySet:
    qs = Community.objects.filter(status=Community.Status.APPROVED).prefetch_related("districts")
    if focus in FocusArea.values:
        # JSON containment is PostgreSQL's; SQLite gets the same answer from the text.
        if connection.vendor == "postgresql":
            qs = qs.filter(focus_areas__contains=[focus])
        else:
            qs = qs.filter(focus_areas__icontains=f'"{focus}"')
    if district:
        qs = qs.filter(districts__id=district)
    return qs


def can_view_community(community: Community, user) -> bool:
    if community.status == Community.Status.APPROVED or community.status == Community.Status.SUSPENDED:
        return True
    if is_moderator(user) or is_official(user):
        return True
    return membership_of(community, user) is not None


def community_get(*, slug: str | None = None, pk: int | None = None, user) -> Community | None:
    try:
        community = Community.objects.prefetch_related("districts").get(
            **({"slug": slug} if slug is not None else {"pk": int(pk)})
        )
    except (Community.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    return community if can_view_community(community, user) else None


def membership_of(community: Community, user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(community=community, user=user).first()


def communities_of(user) -> QuerySet:
    """Communities where the user is an active member (to propose initiatives for)."""
    if not getattr(user, "is_authenticated", False):
        return Community.objects.none()
    return Community.objects.filter(
        memberships__user=user, memberships__state=Membership.State.ACTIVE
    ).distinct()


def communities_pending_review() -> QuerySet:
    return Community.objects.filter(status=Community.Status.PENDING).order_by("created_at")


def members_of(community: Community) -> QuerySet:
    return (
        Membership.objects.filter(community=community)
        .select_related("user")
        .order_by("state", "role", "created_at")
    )


def is_public(initiative: Initiative) -> bool:
    """Public once submitted to the akimat; a draft, also a withdrawn one, never was."""
    return initiative.submitted_at is not None


def can_view_initiative(initiative: Initiative, user) -> bool:
    if is_public(initiative):
        return True
    if is_official(user) or is_moderator(user):
        return True
    return (
        getattr(user, "is_authenticated", False)
        and Membership.objects.filter(
            community_id=initiative.community_id, user=user, state=Membership.State.ACTIVE
        ).exists()
    )


def initiative_get(*, initiative_id, user) -> Initiative | None:
    try:
        initiative = Initiative.objects.select_related("community", "district").get(
            pk=int(initiative_id)
        )
    except (Initiative.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    return initiative if can_view_initiative(initiative, user) else None


def initiative_list(
    *,
    user=None,
    status: str | None = None,
    category: str | None = None,
    district: int | None = None,
    community: int | str | None = None,
    q: str | None = None,
    sort: str = "supported",
) -> QuerySet:
    """Public initiatives (never those that were not submitted), filtered, searched, sorted."""
    qs = Initiative.objects.filter(submitted_at__isnull=False).select_related(
        "community", "district"
    )
    if status in S.values:
        qs = qs.filter(status=status)
    if category in FocusArea.values:
        qs = qs.filter(category=category)
    if district:
        qs = qs.filter(district_id=district)
    if community:
        qs = (
            qs.filter(community_id=community)
            if isinstance(community, int)
            else qs.filter(community__slug=community)
        )
    if q:
        qs = _search(qs, q)
    return qs.order_by(*SORTS.get(sort, SORTS["supported"]))


def _search(qs: QuerySet, q: str) -> QuerySet:
    # PostgreSQL refuses NUL in a text parameter (a 500); no stored text contains one.
    q = q.replace("\x00", "").strip()[:200]
    if not q:
        return qs
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # 'simple' config: Kazakh, Russian and English side by side, no stemming surprises.
        vector = (
            SearchVector("title", weight="A", config="simple")
            + SearchVector("summary", weight="B", config="simple")
            + SearchVector("body", weight="C", config="simple")
        )
        query = SearchQuery(q, search_type="websearch", config="simple")
        prefix = Q(title__icontains=q) | Q(summary__icontains=q)
        return qs.annotate(search=vector).filter(Q(search=query) | prefix)
    return qs.filter(Q(title__icontains=q) | Q(summary__icontains=q) | Q(body__icontains=q))


def unsubmitted_of(community: Community) -> QuerySet:
    """A community's own initiatives that never went public: drafts and withdrawn drafts."""
    return (
        community.initiatives.filter(submitted_at__isnull=True)
        .select_related("district")
        .order_by("-created_at", "-pk")
    )


def in_review_queue(initiative: Initiative) -> bool:
    return initiative.status == S.UNDER_REVIEW or (
        initiative.status == S.SUBMITTED and initiative.threshold_reached_at is not None
    )


def review_queue() -> QuerySet:
    """What waits for the akimat: under review, and submitted ones that reached their
    threshold, longest waiting first."""
    return (
        Initiative.objects.filter(
            Q(status=S.UNDER_REVIEW) | Q(status=S.SUBMITTED, threshold_reached_at__isnull=False)
        )
        .select_related("community", "district")
        .order_by(F("status_changed_at").asc(nulls_first=True), "pk")
    )


def has_supported(initiative: Initiative, user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and Support.objects.filter(initiative=initiative, user=user).exists()
    )


def dossier(initiative: Initiative) -> list[dict]:
    """Documents by title, newest version first, older versions kept beside it."""
    documents: dict[str, dict] = {}
    for a in initiative.attachments.order_by("title", "-version"):
        doc = documents.setdefault(a.title, {"title": a.title, "latest": a, "older": []})
        if doc["latest"] is not a:
            doc["older"].append(a)
    return list(documents.values())


def initiative_state_message(initiative_id: int, seq: int) -> list[tuple[str, dict]]:
    """The live state of one initiative, for the coalescing ticker."""
    initiative = Initiative.objects.filter(pk=initiative_id).first()
    if initiative is None:
        return []
    return [(initiative_group(initiative_id), initiative_state(initiative, seq=seq))]


def initiative_group(initiative_id: int) -> str:
    from civic.realtime import GROUP_INITIATIVE

    return GROUP_INITIATIVE.format(id=initiative_id)


def initiative_state(initiative: Initiative, *, seq: int, kind: str | None = None) -> dict:
    from civic.realtime import EVENT_INITIATIVE_UPDATE, envelope

    from .services import support_threshold

    return envelope(
        kind or EVENT_INITIATIVE_UPDATE,
        seq=seq,
        payload={
            "id": initiative.pk,
            "status": initiative.status,
            "supports_count": initiative.supports_count,
            "threshold": support_threshold(initiative.category),
            "threshold_reached": initiative.threshold_reached_at is not None,
            "in_review_queue": in_review_queue(initiative),
        },
    )


# --- Who hears of a move -----------------------------------------------------------------------

# Supporters hear of decisions, and of a request for changes; members hear of every move.
SUPPORTER_EVENTS = {
    S.CHANGES_REQUESTED,
    S.ACCEPTED,
    S.REJECTED,
    S.IN_PROGRESS,
    S.IMPLEMENTED,
}
# Supporters of an initiative that is still open hear of its new status, not of a decision.
SUPPORTER_KIND = {S.CHANGES_REQUESTED: "initiative.status"}


def status_change_recipients(change) -> dict[int, tuple[object, str]]:
    """Who is told of an initiative's move, and as what: user id → (user, notification kind).

    The community's active members hear of every move; supporters of a decision (and of a
    request for changes); each person once, as a member first; never who made the move.
    """
    initiative = change.initiative
    recipients: dict[int, tuple[object, str]] = {}
    for m in Membership.objects.select_related("user").filter(
        community_id=initiative.community_id, state=Membership.State.ACTIVE
    ):
        recipients[m.user_id] = (m.user, "initiative.status")
    if change.to_status in SUPPORTER_EVENTS:
        kind = SUPPORTER_KIND.get(change.to_status, "initiative.decided")
        for support in initiative.supports.select_related("user").order_by("pk").iterator():
            recipients.setdefault(support.user_id, (support.user, kind))
    recipients.pop(change.actor_id, None)
    return recipients


# --- Progress of the work ----------------------------------------------------------------------

PROGRESS_UPDATES_SHOWN = 50


def initiative_progress(initiative: Initiative, *, limit: int = PROGRESS_UPDATES_SHOWN) -> dict:
    """How the work on `initiative` goes: the latest percent (None before any report), when it
    was reported, and the dated updates newest first (with their photos)."""
    updates = list(
        initiative.progress_updates.select_related("photo").order_by("-created_at", "-pk")[:limit]
    )
    latest = updates[0] if updates else None
    return {
        "percent": latest.percent if latest else None,
        "updated_at": latest.created_at if latest else None,
        "updates": updates,
    }


def _latest_progress(field: str) -> Subquery:
    return Subquery(
        InitiativeProgress.objects.filter(initiative=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values(field)[:1]
    )


def with_progress(qs: QuerySet) -> QuerySet:
    """`qs` with each initiative's latest percent (progress_percent) and its time
    (progress_at), None before any report: one query for a list or the map."""
    return qs.annotate(
        progress_percent=_latest_progress("percent"), progress_at=_latest_progress("created_at")
    )
