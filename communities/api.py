"""JSON API of communities and initiatives: lists, pages, proposals, support, the workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.http import Http404
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.security import django_auth
from pydantic import StrictFloat, StrictInt, StrictStr

from accounts.permissions import is_moderator, is_official, require_official
from civic.content import content_payload, reader_language, translation_columns

from .models import Community, FocusArea, Initiative, Membership
from .permissions import initiative_allowed_transitions
from .selectors import (
    community_get,
    community_list_public,
    has_supported,
    initiative_get,
    initiative_list,
    initiative_progress,
    membership_of,
    review_queue,
    with_progress,
)
from .services import (
    CommunityInput,
    InitiativeInput,
    attachment_add,
    community_decide,
    community_register,
    initiative_create,
    initiative_progress_add,
    initiative_transition,
    initiative_update,
    support_add,
    support_remove,
    support_threshold,
)

router = Router(tags=["communities"])

# Ids beyond a 64-bit integer can name nothing; refusing them keeps every database happy.
MAX_ID = 2**63 - 1
MAX_OFFSET = 1_000_000
PAGE_DEFAULT, PAGE_MAX = 20, 100

Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
# A number as JSON gives it, or as text. The services turn it into a Decimal and refuse
# NaN, infinities, out-of-range and non-numeric values; bool is not a number here.
Number = StrictStr | StrictInt | StrictFloat | None
FocusValue = Literal[tuple(FocusArea.values)]  # type: ignore[valid-type]
StatusValue = Literal[tuple(Initiative.Status.values)]  # type: ignore[valid-type]
SortValue = Literal["supported", "newest", "decided"]


class ErrorOut(Schema):
    detail: str
    code: str


# --- Shapes -----------------------------------------------------------------------------------


class DistrictRef(Schema):
    id: int
    slug: str
    name: str


class CommunityRef(Schema):
    id: int
    name: str
    slug: str


class CommunityOut(Schema):
    id: int
    name: str
    display_name: str
    name_kk: str
    name_ru: str
    name_en: str
    slug: str
    kind: str
    description: str = Field(description="in the language asked for (?lang= or Accept-Language)")
    display_name_lang: str = Field("", description="the language display_name is in")
    description_lang: str = ""
    original_language: str = Field("", description="the language the author wrote in")
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="every version: {field: {kk, ru, en}} ('' = missing)"
    )
    status: str
    focus_areas: list[str]
    districts: list[DistrictRef]
    contact_email: str
    contact_phone: str
    website: str
    logo: str | None
    created_at: datetime


class CommunityDetailOut(CommunityOut):
    status_reason: str = Field(description="shown to the community's members and reviewers")
    my_role: str | None = Field(description="lead, member, requested, or null")


class CommunityPage(Schema):
    count: int
    items: list[CommunityOut]


class CommunityIn(Schema):
    name: str
    kind: str
    description: str
    name_kk: str = ""
    name_ru: str = ""
    name_en: str = ""
    original_language: str = Field("", description="kk, ru or en; detected when not given")
    translations: dict[str, dict[str, str | None]] | None = Field(
        None, description='other languages\' versions: {"en": {"title": "…", "summary": "…"}}'
    )
    focus_areas: list[StrictStr] = Field(default_factory=list, max_length=20)
    district_ids: list[Id] = Field(default_factory=list, max_length=20)
    contact_email: str = ""
    contact_phone: str = ""
    website: str = ""

    model_config = {"extra": "forbid"}


class DecisionIn(Schema):
    action: str = Field(..., description="approve, reject, suspend or reinstate")
    reason: str = ""

    model_config = {"extra": "forbid"}


class ProgressOut(Schema):
    percent: int | None = Field(description="the latest reported percent done; null before any")
    updated_at: datetime | None


class InitiativeOut(Schema):
    id: int
    title: str = Field(description="in the language asked for (?lang= or Accept-Language)")
    summary: str
    title_lang: str = Field("", description="the language `title` is in")
    summary_lang: str = ""
    original_language: str = Field("", description="the language the author wrote in")
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="every version: {field: {kk, ru, en}} ('' = missing)"
    )
    category: str
    district: DistrictRef | None
    status: str
    supports_count: int
    support_eligibility: str
    threshold_reached: bool
    community: CommunityRef
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    progress: ProgressOut


class InitiativePage(Schema):
    count: int
    items: list[InitiativeOut]


class HistoryOut(Schema):
    from_: str = Field(..., alias="from")
    to: str
    response: str
    official: bool
    at: datetime


class AttachmentOut(Schema):
    title: str
    title_lang: str = ""
    translations: dict[str, dict[str, str]] = Field(default_factory=dict)
    version: int
    kind: str
    size: int
    content_type: str
    url: str


class InitiativeDetailOut(InitiativeOut):
    body: str
    body_html: str
    threshold: int
    budget_kzt: str | None
    latitude: float | None
    longitude: float | None
    timeline: str
    official_response: str
    responded_at: datetime | None
    status_changed_at: datetime | None
    history: list[HistoryOut]
    attachments: list[AttachmentOut]
    supported_by_me: bool
    allowed_transitions: list[str] = Field(
        description="the statuses the caller may move it to now (POST .../transition)"
    )


class InitiativeIn(Schema):
    community: Id
    title: str
    summary: str
    original_language: str = Field("", description="kk, ru or en; detected when not given")
    translations: dict[str, dict[str, str | None]] | None = Field(
        None, description='other languages\' versions: {"en": {"title": "…", "summary": "…"}}'
    )
    category: str
    body: str = ""
    district: Id | None = None
    latitude: Number = None
    longitude: Number = None
    budget_kzt: Number = Field(None, description="tenge, as a number or a decimal string")
    timeline: str = ""
    support_eligibility: Literal["email", "city", "district"] = Field(
        "email",
        description="who may support: email (a verified e-mail), city (verified residents) or "
        "district (verified residents of the initiative's district)",
    )

    model_config = {"extra": "forbid"}


class InitiativePatch(Schema):
    """Only the fields sent change; null clears district, location and budget."""

    title: str | None = None
    summary: str | None = None
    original_language: str | None = None
    translations: dict[str, dict[str, str | None]] | None = Field(
        None, description='versions to set; "" removes one: {"en": {"title": "…"}}'
    )
    category: str | None = None
    body: str | None = None
    district: Id | None = None
    latitude: Number = None
    longitude: Number = None
    budget_kzt: Number = None
    timeline: str | None = None
    support_eligibility: Literal["email", "city", "district"] | None = None

    model_config = {"extra": "forbid"}


class TransitionIn(Schema):
    to: str = Field(..., description="the status to move to")
    response: str = Field("", description="the official response; required for decisions")

    model_config = {"extra": "forbid"}


class ProgressIn(Schema):
    percent: StrictInt = Field(..., description="percent of the work done, 0 to 100")
    note: str = Field("", description="what was done (at most 2000 characters)")

    model_config = {"extra": "forbid"}


class ProgressUpdateOut(Schema):
    id: int
    percent: int
    note: str
    at: datetime
    photo_url: str | None


class SupportOut(Schema):
    supported: bool
    supports_count: int


# --- Building the shapes ----------------------------------------------------------------------


def _district(d) -> dict | None:
    return {"id": d.pk, "slug": d.slug, "name": d.name} if d is not None else None


def _community_out(c: Community) -> dict:
    texts = content_payload(c, ("name", "description"), reader_language())
    return {
        "id": c.pk,
        "name": c.name,
        "display_name": texts["name"],
        "display_name_lang": texts["name_lang"],
        "description": texts["description"],
        "description_lang": texts["description_lang"],
        "original_language": texts["original_language"],
        "translations": texts["translations"],
        "name_kk": c.name_kk,
        "name_ru": c.name_ru,
        "name_en": c.name_en,
        "slug": c.slug,
        "kind": c.kind,
        "status": c.status,
        "focus_areas": list(c.focus_areas or []),
        "districts": [_district(d) for d in c.districts.all()],
        "contact_email": c.contact_email,
        "contact_phone": c.contact_phone,
        "website": c.website,
        "logo": reverse("communities:logo", kwargs={"slug": c.slug}) if c.logo else None,
        "created_at": c.created_at,
    }


def _community_detail(c: Community, user) -> dict:
    membership = membership_of(c, user)
    my_role = None
    if membership is not None:
        active = membership.state == Membership.State.ACTIVE
        my_role = membership.role if active else Membership.State.REQUESTED.value
    reviewer = is_moderator(user) or is_official(user)
    return {
        **_community_out(c),
        "status_reason": c.status_reason if (membership or reviewer) else "",
        "my_role": my_role,
    }


def _attachment_url(a) -> str:
    # The download view checks who may see the initiative and names the file; the storage
    # path under MEDIA_URL is served by nothing.
    return reverse("initiatives:attachment", kwargs={"pk": a.initiative_id, "attachment_id": a.pk})


def _initiative_out(i: Initiative) -> dict:
    return {
        "id": i.pk,
        **content_payload(i, ("title", "summary"), reader_language()),
        "category": i.category,
        "district": _district(i.district),
        "status": i.status,
        "supports_count": i.supports_count,
        "support_eligibility": i.support_eligibility,
        "threshold_reached": i.threshold_reached_at is not None,
        "community": {"id": i.community.pk, "name": i.community.name, "slug": i.community.slug},
        "created_at": i.created_at,
        "submitted_at": i.submitted_at,
        "decided_at": i.decided_at,
        "progress": _progress_out(i),
    }


def _progress_out(i: Initiative) -> dict:
    if not hasattr(i, "progress_percent"):  # not from with_progress(): asked here
        work = initiative_progress(i, limit=1)
        return {"percent": work["percent"], "updated_at": work["updated_at"]}
    return {"percent": i.progress_percent, "updated_at": i.progress_at}


def _initiative_detail(i: Initiative, user) -> dict:
    return {
        **_initiative_out(i),
        "body": i.body,
        "body_html": i.body_html,
        "threshold": support_threshold(i.category),
        "budget_kzt": str(i.budget_kzt) if i.budget_kzt is not None else None,
        "latitude": float(i.latitude) if i.latitude is not None else None,
        "longitude": float(i.longitude) if i.longitude is not None else None,
        "timeline": i.timeline,
        "official_response": i.official_response,
        "responded_at": i.responded_at,
        "status_changed_at": i.status_changed_at,
        "history": [
            {
                "from": h.from_status,
                "to": h.to_status,
                "response": h.response,
                "official": h.official,
                "at": h.created_at,
            }
            for h in i.history.all()
        ],
        "attachments": [
            {
                **content_payload(a, ("title",), reader_language()),
                "version": a.version,
                "kind": a.kind,
                "size": a.size,
                "content_type": a.content_type,
                "url": _attachment_url(a),
            }
            for a in i.attachments.all()
        ],
        "supported_by_me": has_supported(i, user),
        "allowed_transitions": initiative_allowed_transitions(user, i),
    }


def _visible_initiative(request, initiative_id: int) -> Initiative:
    # Drafts are the community's own: to everyone else they do not exist, so every action
    # on one answers 404 before it could answer 403 or 409.
    initiative = initiative_get(initiative_id=initiative_id, user=request.user)
    if initiative is None:
        raise Http404
    return initiative


def _reload(initiative: Initiative) -> Initiative:
    return Initiative.objects.select_related("community", "district").get(pk=initiative.pk)


def _page(qs, limit: int, offset: int, shape) -> dict:
    return {"count": qs.count(), "items": [shape(x) for x in qs[offset : offset + limit]]}


Limit = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX)
Offset = Query(0, ge=0, le=MAX_OFFSET)
ERRORS_READ = {404: ErrorOut, 422: dict}
ERRORS_WRITE = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


# --- Communities ------------------------------------------------------------------------------


@router.get("/communities", response={200: CommunityPage, 422: dict})
def communities(
    request,
    focus: FocusValue | None = None,
    district: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Limit,
    offset: int = Offset,
):
    qs = community_list_public(focus=focus, district=district).distinct()
    return _page(qs, limit, offset, _community_out)


@router.post(
    "/communities",
    response={201: CommunityDetailOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def community_create(request, data: CommunityIn):
    fields = data.model_dump()
    fields |= translation_columns(fields.pop("translations"), fields=("name", "description"))
    community = community_register(actor=request.auth, data=CommunityInput(**fields))
    return Status(201, _community_detail(community, request.auth))


@router.get("/communities/{community_id}", response={200: CommunityDetailOut, **ERRORS_READ})
def community_detail(request, community_id: int):
    community = community_get(pk=community_id, user=request.user)
    if community is None:
        raise Http404
    return _community_detail(community, request.user)


@router.post(
    "/communities/{community_id}/decision",
    response={200: CommunityDetailOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def community_decision(request, community_id: int, data: DecisionIn):
    community = community_decide(
        actor=request.auth, community_id=community_id, action=data.action, reason=data.reason
    )
    return _community_detail(community, request.auth)


# --- Initiatives ------------------------------------------------------------------------------


@router.get("/initiatives", response={200: InitiativePage, 422: dict}, tags=["initiatives"])
def initiatives(
    request,
    status: StatusValue | None = None,
    category: FocusValue | None = None,
    district: int | None = Query(None, ge=1, le=MAX_ID),
    community: int | None = Query(None, ge=1, le=MAX_ID),
    q: str | None = Query(None, max_length=200),
    sort: SortValue = "supported",
    limit: int = Limit,
    offset: int = Offset,
):
    qs = initiative_list(
        user=request.user,
        status=status,
        category=category,
        district=district,
        community=community,
        q=q,
        sort=sort,
    )
    return _page(with_progress(qs), limit, offset, _initiative_out)


@router.post(
    "/initiatives",
    response={201: InitiativeDetailOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
    by_alias=True,
    tags=["initiatives"],
)
def initiative_propose(request, data: InitiativeIn):
    fields = data.model_dump()
    community_id = fields.pop("community")
    fields["district_id"] = fields.pop("district")
    fields |= translation_columns(fields.pop("translations"), fields=("title", "summary"))
    initiative = initiative_create(
        actor=request.auth, community_id=community_id, data=InitiativeInput(**fields)
    )
    return Status(201, _initiative_detail(_reload(initiative), request.auth))


@router.get(
    "/initiatives/{initiative_id}",
    response={200: InitiativeDetailOut, **ERRORS_READ},
    by_alias=True,
    tags=["initiatives"],
)
def initiative_detail(request, initiative_id: int):
    return _initiative_detail(_visible_initiative(request, initiative_id), request.user)


@router.patch(
    "/initiatives/{initiative_id}",
    response={200: InitiativeDetailOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
    by_alias=True,
    tags=["initiatives"],
)
def initiative_edit(request, initiative_id: int, data: InitiativePatch):
    current = _visible_initiative(request, initiative_id)
    changes = data.model_dump(exclude_unset=True)
    if "district" in changes:
        changes["district_id"] = changes.pop("district")
    changes |= translation_columns(changes.pop("translations", None), fields=("title", "summary"))
    # Merged with the row under its lock, in the service: concurrent edits of other fields stay.
    initiative = initiative_update(actor=request.auth, initiative_id=current.pk, changes=changes)
    return _initiative_detail(_reload(initiative), request.auth)


@router.post(
    "/initiatives/{initiative_id}/transition",
    response={200: InitiativeDetailOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
    by_alias=True,
    tags=["initiatives"],
)
def initiative_move(request, initiative_id: int, data: TransitionIn):
    current = _visible_initiative(request, initiative_id)
    initiative = initiative_transition(
        actor=request.auth, initiative_id=current.pk, to=data.to, response=data.response
    )
    return _initiative_detail(_reload(initiative), request.auth)


@router.post(
    "/initiatives/{initiative_id}/support",
    response={200: SupportOut, **ERRORS_WRITE},
    auth=django_auth,
    tags=["initiatives"],
)
def initiative_support(request, initiative_id: int):
    result = support_add(actor=request.auth, initiative_id=initiative_id)
    return {"supported": result.supported, "supports_count": result.initiative.supports_count}


@router.delete(
    "/initiatives/{initiative_id}/support",
    response={200: SupportOut, **ERRORS_WRITE},
    auth=django_auth,
    tags=["initiatives"],
)
def initiative_unsupport(request, initiative_id: int):
    result = support_remove(actor=request.auth, initiative_id=initiative_id)
    return {"supported": result.supported, "supports_count": result.initiative.supports_count}


@router.post(
    "/initiatives/{initiative_id}/attachments",
    response={201: AttachmentOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
    tags=["initiatives"],
)
def initiative_attach(
    request,
    initiative_id: int,
    title: Form[str],
    file: File[UploadedFile],
    kind: Form[str] = "other",
    original_language: Form[str] = "",
    title_kk: Form[str] = "",
    title_ru: Form[str] = "",
    title_en: Form[str] = "",
):
    current = _visible_initiative(request, initiative_id)
    a = attachment_add(
        actor=request.auth,
        initiative_id=current.pk,
        title=title,
        kind=kind,
        upload=file,
        original_language=original_language,
        # The title's other versions: form fields title_kk / title_ru / title_en.
        translations={
            "kk": {"title": title_kk},
            "ru": {"title": title_ru},
            "en": {"title": title_en},
        },
    )
    return Status(
        201,
        {
            **content_payload(a, ("title",), reader_language()),
            "version": a.version,
            "kind": a.kind,
            "size": a.size,
            "content_type": a.content_type,
            "url": _attachment_url(a),
        },
    )


@router.post(
    "/initiatives/{initiative_id}/progress",
    response={201: ProgressUpdateOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
    tags=["initiatives"],
)
def initiative_progress_report(request, initiative_id: int, data: ProgressIn):
    current = _visible_initiative(request, initiative_id)
    update = initiative_progress_add(
        actor=request.auth, initiative_id=current.pk, percent=data.percent, note=data.note
    )
    return Status(
        201,
        {
            "id": update.pk,
            "percent": update.percent,
            "note": update.note,
            "at": update.created_at,
            "photo_url": None,
        },
    )


@router.get(
    "/review-queue",
    response={200: InitiativePage, 401: ErrorOut, 403: ErrorOut, 422: dict},
    auth=django_auth,
    tags=["initiatives"],
)
def review_queue_api(request, limit: int = Limit, offset: int = Offset):
    require_official(request.auth)
    return _page(with_progress(review_queue()), limit, offset, _initiative_out)
