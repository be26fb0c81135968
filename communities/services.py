"""Every state change of communities and initiatives.

Register and review communities, manage members, propose initiatives and move them through
the workflow, support them, add dossier documents. Views, the API, the admin, tasks and
commands all call these functions; they check permission, validate, write in one short
transaction, and only after commit notify (Celery) and push (websocket).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

import filetype
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.text import get_valid_filename, slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.permissions import is_moderator, is_official, require_citizen, require_staff_role
from accounts.selectors import district_id_clean
from audit.services import audit_record
from civic.content import (
    FieldSpec,
    clean_translations,
    clean_version_columns,
    original_language_of,
)
from civic.content import (
    versions as content_versions,
)
from civic.errors import Conflict, Forbidden, InvalidInput, NotFound
from civic.realtime import TOPIC_INITIATIVE_STATE, mark_dirty_on_commit
from civic.validation import clean_decimal, clean_text, render_markdown
from notifications.models import Notification
from notifications.services import enqueue_on_commit, notification_store
from residents.eligibility import Eligibility

from .models import (
    ALMATY_LAT,
    ALMATY_LON,
    BUDGET_MAX_KZT,
    Attachment,
    CategoryThreshold,
    Community,
    CommunityDecision,
    CommunityInvite,
    FocusArea,
    Initiative,
    InitiativeProgress,
    InitiativeStatusChange,
    Membership,
    Support,
)
from .permissions import (
    OFFICIAL,
    NotAMember,
    TransitionNotAllowed,  # noqa: F401 (callers catch it as services.TransitionNotAllowed)
    initiative_sides,
    require_initiative_move,
    require_initiative_mover,
    require_progress_open,
    require_progress_reporter,
    require_support_eligible,
)
from .selectors import status_change_recipients

logger = logging.getLogger(__name__)

TOPIC_INITIATIVE = TOPIC_INITIATIVE_STATE
S = Initiative.Status

# A decision must carry the akimat's official response.
DECISIONS = {S.ACCEPTED, S.REJECTED, S.CHANGES_REQUESTED}
# Citizens may support (and withdraw support) while an initiative is open.
SUPPORTABLE = {S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED}
# The community may edit the proposal, and add documents, in these states.
EDITABLE = {S.DRAFT, S.CHANGES_REQUESTED}
DOSSIER_OPEN = {
    S.DRAFT,
    S.SUBMITTED,
    S.UNDER_REVIEW,
    S.CHANGES_REQUESTED,
    S.ACCEPTED,
    S.IN_PROGRESS,
}

NAME_MAX, DESCRIPTION_MAX, REASON_MAX, RESPONSE_MAX = 120, 5000, 2000, 5000
TITLE_MAX, SUMMARY_MAX, BODY_MAX, TIMELINE_MAX = 200, 500, 20000, 200

# Dossier files: what the content says they are → the extensions their name may have.
ALLOWED_FILES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/webp": (".webp",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
}
# Paths under /communities/ that a community's slug must not shadow.
RESERVED_SLUGS = {"register", "review", "invite", "new", "edit", "map"}
LOGO_TYPES = ("image/png", "image/jpeg", "image/webp")
LOGO_MAX_BYTES = 2 * 1024 * 1024


class NotALead(Forbidden):
    default_message = _("Only leads of this community can do this.")


# --- Helpers ----------------------------------------------------------------------------------


def _membership(user, community_id: int) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(
        community_id=community_id, user=user, state=Membership.State.ACTIVE
    ).first()


def require_member(user, community_id: int) -> Membership:
    require_citizen(user)
    membership = _membership(user, community_id)
    if membership is None:
        raise NotAMember()
    return membership


def require_lead(user, community_id: int) -> Membership:
    membership = require_member(user, community_id)
    if membership.role != Membership.Role.LEAD:
        raise NotALead()
    return membership


def _get_community(community_id, *, lock: bool = False) -> Community:
    qs = Community.objects.select_for_update() if lock else Community.objects
    try:
        return qs.get(pk=int(community_id))
    except (Community.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound(_("No such community.")) from None


def _get_initiative(initiative_id, *, lock: bool = False) -> Initiative:
    qs = Initiative.objects.select_for_update() if lock else Initiative.objects
    try:
        return qs.select_related("community").get(pk=int(initiative_id))
    except (Initiative.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound(_("No such initiative.")) from None


def _clean_choice_list(values, *, allowed, name) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise InvalidInput(_("%(field)s must be a list.") % {"field": name})
    cleaned = []
    for v in values:
        if v not in allowed:
            raise InvalidInput(_("Unknown value in %(field)s.") % {"field": name})
        if v not in cleaned:
            cleaned.append(v)
    return cleaned


def _clean_district_ids(values) -> list[int]:
    from accounts.models import District

    if not values:
        return []
    if not isinstance(values, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise InvalidInput(_("Districts are given by their numbers."))
    ids = set(values)
    if District.objects.filter(pk__in=ids).count() != len(ids):
        raise InvalidInput(_("Unknown district."))
    return sorted(ids)


def _check_upload(upload, *, allowed: dict[str, tuple[str, ...]], max_bytes: int):
    """(content type, extension, safe original name) of an upload, checked by its content."""
    if upload is None:
        raise InvalidInput(_("Choose a file."))
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise InvalidInput(_("The file is empty."))
    if size > max_bytes:
        raise InvalidInput(
            _("The file is too large (at most %(mb)d MB).") % {"mb": max_bytes // (1024 * 1024)}
        )
    safe_name = _safe_filename(str(getattr(upload, "name", "") or ""))
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime == "application/zip":
        mime = _office_type(upload)
    if mime not in allowed:
        raise InvalidInput(
            _("This kind of file is not accepted. Upload PDF, PNG, JPEG, WebP, XLSX or ODS.")
        )
    extension = os.path.splitext(safe_name)[1].lower()
    if extension not in allowed[mime]:
        raise InvalidInput(_("The file's content does not match its name."))
    return mime, extension, safe_name


def _safe_filename(name: str) -> str:
    """The uploader's file name made harmless for the download header: no path, no odd
    characters. A name with nothing usable left ("!!!", "«».pdf") becomes "document"
    with the extension it had; the extension is then checked against the content."""
    raw_name = os.path.basename(name.replace("\\", "/"))
    if "\x00" in raw_name or not raw_name.strip(". "):
        raise InvalidInput(_("The file name is not valid."))
    stem, extension = os.path.splitext(raw_name)
    if not re.fullmatch(r"\.[A-Za-z0-9]{1,7}", extension):
        stem, extension = raw_name, ""
    try:
        stem = get_valid_filename(stem)
    except SuspiciousFileOperation:
        stem = ""
    stem = stem.strip("._-")[:100] or "document"
    return stem + extension.lower()


# The 'mimetype' entry of an OpenDocument file is the bare media type, a few dozen bytes.
MIMETYPE_ENTRY_MAX = 100


def _office_type(upload) -> str | None:
    """XLSX and ODS are zip files; what is inside tells which."""
    upload.seek(0)
    try:
        with zipfile.ZipFile(upload) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                # Read at most a few bytes decompressed, whatever the entry claims to be.
                with zf.open("mimetype") as entry:
                    raw = entry.read(MIMETYPE_ENTRY_MAX + 1)
                mimetype = (
                    raw.decode("ascii", "replace").strip() if len(raw) <= MIMETYPE_ENTRY_MAX else ""
                )
                if mimetype == "application/vnd.oasis.opendocument.spreadsheet":
                    return mimetype
            if "xl/workbook.xml" in names and "[Content_Types].xml" in names:
                return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    except (
        zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, KeyError,
        RuntimeError, ValueError, NotImplementedError,
    ):  # fmt: skip
        return None
    finally:
        upload.seek(0)
    return None


# --- Communities ------------------------------------------------------------------------------


@dataclass
class CommunityInput:
    name: str
    kind: str
    description: str
    name_kk: str = ""
    name_ru: str = ""
    name_en: str = ""
    # Texts in three languages (civic/content.py): `name` and `description` are the original,
    # in `original_language` ("" = detected from the name); the rest are optional versions.
    original_language: str = ""
    description_kk: str = ""
    description_ru: str = ""
    description_en: str = ""
    focus_areas: list[str] = field(default_factory=list)
    district_ids: list[int] = field(default_factory=list)
    contact_email: str = ""
    contact_phone: str = ""
    website: str = ""


def _validate_community(data: CommunityInput) -> dict:
    from django.core.exceptions import ValidationError
    from django.core.validators import EmailValidator, URLValidator

    fields = {
        "name": clean_text(
            data.name,
            name=pgettext_lazy("community", "Name"),
            max_length=NAME_MAX,
            required=True,
            multiline=False,
        ),
        "description": clean_text(
            data.description, name=_("Description"), max_length=DESCRIPTION_MAX, required=True
        ),
        "contact_phone": clean_text(
            data.contact_phone, name=_("Phone"), max_length=32, required=False, multiline=False
        ),
    }
    original = original_language_of(data.original_language, fields["name"])
    fields["original_language"] = original
    fields |= clean_version_columns(
        data,
        specs={
            "name": FieldSpec(pgettext_lazy("community", "Name"), NAME_MAX),
            "description": FieldSpec(_("Description"), DESCRIPTION_MAX, multiline=True),
        },
        original=original,
    )
    fields[f"name_{original}"] = fields["name"]
    fields[f"description_{original}"] = fields["description"]
    if data.kind not in Community.Kind.values:
        raise InvalidInput(_("Unknown kind of community."))
    fields["kind"] = data.kind
    fields["focus_areas"] = _clean_choice_list(
        data.focus_areas, allowed=FocusArea.values, name=_("Focus areas")
    )
    email = clean_text(
        data.contact_email, name=_("E-mail"), max_length=254, required=False, multiline=False
    )
    website = clean_text(
        data.website, name=_("Website"), max_length=300, required=False, multiline=False
    )
    try:
        if email:
            EmailValidator()(email)
    except ValidationError:
        raise InvalidInput(_("Enter a valid e-mail address.")) from None
    try:
        if website:
            URLValidator(schemes=["http", "https"])(website)
    except ValidationError:
        raise InvalidInput(_("Enter a valid web address (http or https).")) from None
    fields["contact_email"], fields["website"] = email, website
    fields["slug"] = community_slug(fields["name"])
    return fields


# Cyrillic (Russian and Kazakh) to Latin, for slugs only: readable addresses, ASCII-safe.
CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya",
    "ә": "a", "ғ": "gh", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}  # fmt: skip


def community_slug(name: str) -> str:
    """The base of a community's address: its name in Latin letters ("Жасыл Алматы" →
    "zhasyl-almaty"), "community" when nothing is left."""
    latin = "".join(CYRILLIC_TO_LATIN.get(c, c) for c in name.lower())
    return slugify(latin, allow_unicode=False)[:100].strip("-") or "community"


def _free_slug(base: str) -> str:
    """`base`, or `base-N` with the first N not taken; one query for all the taken ones."""
    taken = (
        set(Community.objects.filter(slug__startswith=base).values_list("slug", flat=True))
        | RESERVED_SLUGS
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def community_register(*, actor, data: CommunityInput, logo=None) -> Community:
    """A verified citizen registers a community; it waits for review; they become its lead."""
    require_citizen(actor)
    fields = _validate_community(data)
    district_ids = _clean_district_ids(data.district_ids)
    logo_meta = (
        _check_upload(
            logo, allowed={t: ALLOWED_FILES[t] for t in LOGO_TYPES}, max_bytes=LOGO_MAX_BYTES
        )
        if logo is not None
        else None
    )
    if Community.objects.filter(name_key=Community.fold_name(fields["name"])).exists():
        raise Conflict(_("A community with this name already exists."), code="name_taken")
    slug = _free_slug(fields.pop("slug"))
    try:
        with transaction.atomic():
            community = Community.objects.create(**fields, slug=slug, created_by=actor)
            community.districts.set(district_ids)
            if logo_meta:
                community.logo.save(f"{community.pk}{logo_meta[1]}", logo, save=True)
            Membership.objects.create(community=community, user=actor, role=Membership.Role.LEAD)
    except IntegrityError:
        raise Conflict(_("A community with this name already exists."), code="name_taken") from None
    logger.info("community %s registered by user %s", community.pk, actor.pk)
    return community


def community_update(*, actor, community_id: int, data: CommunityInput) -> Community:
    """A lead edits the community's public profile (its name is fixed once reviewed)."""
    require_lead(actor, community_id)
    fields = _validate_community(data)
    district_ids = _clean_district_ids(data.district_ids)
    taken = Conflict(_("A community with this name already exists."), code="name_taken")
    try:
        with transaction.atomic():
            community = _get_community(community_id, lock=True)
            fields.pop("slug")
            if community.status != Community.Status.PENDING:
                fields.pop("name")
            elif (
                Community.objects.filter(name_key=Community.fold_name(fields["name"]))
                .exclude(pk=community.pk)
                .exists()
            ):
                raise taken
            for key, value in fields.items():
                setattr(community, key, value)
            community.save(update_fields=[*fields, "name_key"])
            community.districts.set(district_ids)
    except IntegrityError:  # the same name registered at the same moment
        raise taken from None
    return community


COMMUNITY_MOVES = {
    CommunityDecision.Action.APPROVE: (
        {Community.Status.PENDING, Community.Status.REJECTED},
        Community.Status.APPROVED,
    ),
    CommunityDecision.Action.REJECT: ({Community.Status.PENDING}, Community.Status.REJECTED),
    CommunityDecision.Action.SUSPEND: ({Community.Status.APPROVED}, Community.Status.SUSPENDED),
    CommunityDecision.Action.REINSTATE: (
        {Community.Status.SUSPENDED},
        Community.Status.APPROVED,
    ),
}


def community_decide(*, actor, community_id: int, action: str, reason: str = "") -> Community:
    """A moderator or official approves, rejects, suspends or reinstates a community."""
    require_staff_role(actor, message=_("Only moderators and officials review communities."))
    if action not in COMMUNITY_MOVES:
        raise InvalidInput(_("Unknown decision."))
    reason = clean_text(reason, name=_("Reason"), max_length=REASON_MAX, required=False)
    if action in (CommunityDecision.Action.REJECT, CommunityDecision.Action.SUSPEND) and not reason:
        raise InvalidInput(_("Give the reason: the community will see it."))
    allowed_from, to = COMMUNITY_MOVES[action]
    with transaction.atomic():
        community = _get_community(community_id, lock=True)
        if community.status not in allowed_from:
            raise Conflict(
                _("This community cannot be %(action)s now.")
                % {"action": CommunityDecision.Action(action).label.lower()}
            )
        community.status = to
        community.status_reason = reason
        community.decided_at = timezone.now()
        community.save(update_fields=["status", "status_reason", "decided_at"])
        CommunityDecision.objects.create(
            community=community, action=action, reason=reason, actor=actor
        )
        audit_record(
            actor=actor, action=f"community.{action}", target=community, data={"reason": reason}
        )
    logger.info("community %s: %s by user %s", community.pk, action, actor.pk)
    return community


# --- Members ----------------------------------------------------------------------------------


def membership_request(*, actor, community_id: int) -> Membership:
    """A citizen asks to join; a lead approves. Asking again changes nothing."""
    require_citizen(actor)
    community = _get_community(community_id)
    if community.status != Community.Status.APPROVED:
        raise Conflict(_("Only an approved community takes new members."))
    membership, _created = Membership.objects.get_or_create(
        community=community, user=actor, defaults={"state": Membership.State.REQUESTED}
    )
    return membership


def _get_membership(membership_id) -> Membership:
    try:
        return Membership.objects.select_related("user").get(pk=int(membership_id))
    except (Membership.DoesNotExist, TypeError, ValueError, OverflowError):
        raise NotFound(_("No such member.")) from None


def membership_approve(*, actor, membership_id: int) -> Membership:
    membership = _get_membership(membership_id)
    require_lead(actor, membership.community_id)
    if membership.state != Membership.State.ACTIVE:
        membership.state = Membership.State.ACTIVE
        membership.save(update_fields=["state"])
    return membership


def membership_set_role(*, actor, membership_id: int, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise InvalidInput(_("Unknown role."))
    membership = _get_membership(membership_id)
    require_lead(actor, membership.community_id)
    with transaction.atomic():
        _get_community(membership.community_id, lock=True)  # serializes lead changes
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.state != Membership.State.ACTIVE:
            raise Conflict(_("Approve the request first."))
        if role == Membership.Role.MEMBER and membership.role == Membership.Role.LEAD:
            _ensure_another_lead(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def _ensure_another_lead(membership: Membership) -> None:
    others = (
        Membership.objects.filter(
            community_id=membership.community_id,
            role=Membership.Role.LEAD,
            state=Membership.State.ACTIVE,
        )
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise Conflict(_("A community needs a lead: name another lead first."), code="last_lead")


def membership_remove(*, actor, membership_id: int) -> None:
    """A member leaves, or a lead removes a member or declines a request."""
    membership = _get_membership(membership_id)
    if membership.user_id != getattr(actor, "pk", None):
        require_lead(actor, membership.community_id)
    with transaction.atomic():
        _get_community(membership.community_id, lock=True)
        membership = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if membership is None:
            return
        if membership.role == Membership.Role.LEAD:
            _ensure_another_lead(membership)
        membership.delete()


def membership_leave(*, actor, community_id: int) -> None:
    membership = require_member(actor, community_id)
    membership_remove(actor=actor, membership_id=membership.pk)


def invite_create(*, actor, community_id: int, email: str) -> CommunityInvite:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    require_lead(actor, community_id)
    email = clean_text(
        email, name=_("E-mail"), max_length=254, required=True, multiline=False
    ).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(_("Enter a valid e-mail address.")) from None
    community = _get_community(community_id)
    if community.status != Community.Status.APPROVED:
        raise Conflict(_("Only an approved community takes new members."))
    invite = CommunityInvite.objects.filter(
        community=community, email=email, accepted_at__isnull=True
    ).first()
    if invite is None:
        try:
            with transaction.atomic():
                invite = CommunityInvite.objects.create(
                    community=community, email=email, invited_by=actor
                )
        except IntegrityError:
            invite = CommunityInvite.objects.get(
                community=community, email=email, accepted_at__isnull=True
            )
    enqueue_on_commit("communities.send_invite", invite.pk)
    return invite


class InviteUsed(Conflict):
    default_message = _("This invitation has already been used. Ask a lead for a new one.")


def invite_accept(*, actor, token) -> Membership:
    """The invited person joins, once: an invitation that was used, or one of a community
    that does not take members now, changes nothing."""
    require_citizen(actor)
    from django.core.exceptions import ValidationError

    try:
        invite = CommunityInvite.objects.select_related("community").get(token=token)
    except (CommunityInvite.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotFound(_("This invitation is not valid.")) from None
    from allauth.account.models import EmailAddress

    if not EmailAddress.objects.filter(
        user=actor, email__iexact=invite.email, verified=True
    ).exists():
        raise Forbidden(_("This invitation was sent to another e-mail address."))
    with transaction.atomic():
        invite = CommunityInvite.objects.select_for_update().get(pk=invite.pk)
        if invite.accepted_at is not None:
            raise InviteUsed(code="invite_used")
        community = _get_community(invite.community_id, lock=True)
        if community.status != Community.Status.APPROVED:
            raise Conflict(
                _("This community does not take new members now."), code="community_not_approved"
            )
        membership, created = Membership.objects.get_or_create(
            community=community, user=actor, defaults={"state": Membership.State.ACTIVE}
        )
        if not created and membership.state != Membership.State.ACTIVE:
            membership.state = Membership.State.ACTIVE
            membership.save(update_fields=["state"])
        invite.accepted_at = timezone.now()
        invite.save(update_fields=["accepted_at"])
    return membership


# --- Initiatives ------------------------------------------------------------------------------


@dataclass
class InitiativeInput:
    title: str
    summary: str
    category: str
    body: str = ""
    district_id: int | None = None
    latitude: object = None
    longitude: object = None
    budget_kzt: object = None
    timeline: str = ""
    # Who may support it (residents.eligibility): email unless the proposers ask for residents.
    support_eligibility: str = Eligibility.EMAIL
    # Texts in three languages (civic/content.py): `title` and `summary` are the original, in
    # `original_language` ("" = detected from the title); the rest are optional versions.
    original_language: str = ""
    title_kk: str = ""
    title_ru: str = ""
    title_en: str = ""
    summary_kk: str = ""
    summary_ru: str = ""
    summary_en: str = ""


INITIATIVE_TRANSLATED = {
    "title": FieldSpec(pgettext_lazy("initiative", "Title"), TITLE_MAX),
    "summary": FieldSpec(_("Summary"), SUMMARY_MAX),
}


def _validate_initiative(data: InitiativeInput) -> dict:

    fields = {
        "title": clean_text(
            data.title,
            name=pgettext_lazy("initiative", "Title"),
            max_length=TITLE_MAX,
            required=True,
            multiline=False,
        ),
        "summary": clean_text(
            data.summary, name=_("Summary"), max_length=SUMMARY_MAX, required=True, multiline=False
        ),
        "body": clean_text(data.body, name=_("Description"), max_length=BODY_MAX, required=False),
        "timeline": clean_text(
            data.timeline,
            name=_("Timeline"),
            max_length=TIMELINE_MAX,
            required=False,
            multiline=False,
        ),
    }
    original = original_language_of(data.original_language, fields["title"])
    fields["original_language"] = original
    fields |= clean_version_columns(data, specs=INITIATIVE_TRANSLATED, original=original)
    fields[f"title_{original}"] = fields["title"]
    fields[f"summary_{original}"] = fields["summary"]
    if data.category not in FocusArea.values:
        raise InvalidInput(_("Unknown category."))
    fields["category"] = data.category
    fields["body_html"] = render_markdown(fields["body"])
    fields["district_id"] = district_id_clean(data.district_id)
    support_eligibility = data.support_eligibility or Eligibility.EMAIL
    if support_eligibility not in Eligibility.values:
        raise InvalidInput(_("Unknown eligibility."), code="bad_eligibility")
    if support_eligibility == Eligibility.DISTRICT and fields["district_id"] is None:
        raise InvalidInput(
            _("Support by the residents of a district needs the initiative's district."),
            code="district_required",
        )
    fields["support_eligibility"] = support_eligibility
    fields["budget_kzt"] = clean_decimal(
        data.budget_kzt, name=_("Budget"), minimum=Decimal(0), maximum=BUDGET_MAX_KZT
    )
    lat = clean_decimal(
        data.latitude, name=_("Latitude"), minimum=Decimal(-90), maximum=Decimal(90), places=6
    )
    lon = clean_decimal(
        data.longitude, name=_("Longitude"), minimum=Decimal(-180), maximum=Decimal(180), places=6
    )
    if (lat is None) != (lon is None):
        raise InvalidInput(_("Give both latitude and longitude, or neither."))
    if lat is not None and not (
        ALMATY_LAT[0] <= lat <= ALMATY_LAT[1] and ALMATY_LON[0] <= lon <= ALMATY_LON[1]
    ):
        raise InvalidInput(_("The location is outside Almaty."), code="outside_almaty")
    fields["latitude"], fields["longitude"] = lat, lon
    return fields


def initiative_create(*, actor, community_id: int, data: InitiativeInput) -> Initiative:
    """A member of an approved community drafts an initiative."""
    community = _get_community(community_id)
    require_member(actor, community.pk)
    if community.status != Community.Status.APPROVED:
        raise Forbidden(
            _("Only an approved community can propose initiatives."), code="community_not_approved"
        )
    fields = _validate_initiative(data)
    with transaction.atomic():
        initiative = Initiative.objects.create(
            community=community, created_by=actor, status_changed_at=timezone.now(), **fields
        )
        InitiativeStatusChange.objects.create(
            initiative=initiative, from_status="", to_status=S.DRAFT, actor=actor
        )
    logger.info("initiative %s drafted by user %s", initiative.pk, actor.pk)
    return initiative


# What an edit may change: the fields of InitiativeInput, named as on the model.
INITIATIVE_FIELDS = tuple(f.name for f in dataclasses.fields(InitiativeInput))


def _merged(initiative: Initiative, changes: dict) -> InitiativeInput:
    current = {name: getattr(initiative, name) for name in INITIATIVE_FIELDS}
    return InitiativeInput(**(current | changes))


def initiative_update(
    *,
    actor,
    initiative_id: int,
    data: InitiativeInput | None = None,
    changes: dict | None = None,
) -> Initiative:
    """Edit a proposal: `data` gives every field, `changes` only the fields it names.

    The changes are merged into the row as it is under its lock, so two members editing
    different fields at once both keep their edit (a merge outside the lock would write back
    the other's field as it was before).
    """
    if data is not None:
        changes = {name: getattr(data, name) for name in INITIATIVE_FIELDS}
    changes = dict(changes or {})
    initiative = _get_initiative(initiative_id)
    require_member(actor, initiative.community_id)
    _validate_initiative(_merged(initiative, changes))  # bad input answers 400 before any lock
    with transaction.atomic():
        initiative = _get_initiative(initiative_id, lock=True)
        if initiative.status not in EDITABLE:
            raise Conflict(
                _("The proposal can be edited only as a draft or when changes are requested.")
            )
        cleaned = _validate_initiative(_merged(initiative, changes))
        for key, value in cleaned.items():
            setattr(initiative, key, value)
        initiative.save(update_fields=[*cleaned, "updated_at"])
    return initiative


def initiative_transition(*, actor, initiative_id: int, to: str, response: str = "") -> Initiative:
    """Move an initiative along the workflow; the one place its status changes."""
    require_citizen(actor)
    if to not in S.values:
        raise InvalidInput(_("Unknown status."))
    response = clean_text(
        response, name=_("Official response"), max_length=RESPONSE_MAX, required=False
    )
    initiative = _get_initiative(initiative_id)
    sides = initiative_sides(actor, initiative)
    require_initiative_mover(actor, to, sides=sides)
    with transaction.atomic():
        initiative = _get_initiative(initiative_id, lock=True)
        frm = initiative.status
        mover = require_initiative_move(actor, initiative, to, sides=sides)
        # Checked after the workflow: a move that is not allowed answers so (409) whatever
        # else was sent.
        if to in DECISIONS and not response:
            raise InvalidInput(
                _("A decision needs the official response the community and citizens will read."),
                code="response_required",
            )
        if to == S.SUBMITTED and initiative.community.status != Community.Status.APPROVED:
            raise Forbidden(
                _("Only an approved community can propose initiatives."),
                code="community_not_approved",
            )
        now = timezone.now()
        initiative.status = to
        initiative.status_changed_at = now
        updated = ["status", "status_changed_at", "updated_at"]
        if to == S.SUBMITTED and initiative.submitted_at is None:
            initiative.submitted_at = now
            updated.append("submitted_at")
        if to == S.SUBMITTED and frm == S.CHANGES_REQUESTED:
            # Resubmitted: the earlier decision and its answer are history (kept in the
            # status changes), not the current state of a proposal that waits again.
            initiative.decided_at = None
            initiative.official_response = ""
            initiative.responded_at = None
            initiative.responded_by = None
            updated += ["decided_at", "official_response", "responded_at", "responded_by"]
        if to in DECISIONS:
            initiative.decided_at = now
            updated.append("decided_at")
        if mover == OFFICIAL and response:
            initiative.official_response = response
            initiative.responded_at = now
            initiative.responded_by = actor
            updated += ["official_response", "responded_at", "responded_by"]
        initiative.save(update_fields=updated)
        change = InitiativeStatusChange.objects.create(
            initiative=initiative,
            from_status=frm,
            to_status=to,
            response=response if mover == OFFICIAL else "",
            actor=actor,
            official=mover == OFFICIAL,
        )
        if mover == OFFICIAL:
            audit_record(
                actor=actor,
                action="initiative.decide" if to in DECISIONS else "initiative.move",
                target=initiative,
                data={"from": frm, "to": to, "response": response},
            )
        enqueue_on_commit("communities.notify_status_change", change.pk)
        mark_dirty_on_commit(TOPIC_INITIATIVE, initiative.pk)
    logger.info("initiative %s: %s → %s by user %s", initiative.pk, frm, to, actor.pk)
    return initiative


def status_change_notify(*, change_id: int) -> int:
    """Tell the people status_change_recipients() names of a move, each once.

    First every in-app notification is stored and committed (one row per person and
    change, so running this again finds them); then each one's e-mail is its own task, so
    one failing mailbox is retried alone and holds up nobody else. Returns how many
    notifications the change has.
    """
    change = (
        InitiativeStatusChange.objects.select_related("initiative", "initiative__community")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        return 0
    initiative = change.initiative
    params = {
        "title": initiative.title,
        # Every version, so each reader's notification names it in their language.
        "titles": content_versions(initiative, "title"),
        "status": change.to_status,
        "response": change.response,
    }
    url = initiative.get_absolute_url()
    key = f"initiative-change:{change.pk}"
    recipients = status_change_recipients(change)
    for user_id in sorted(recipients):
        user, kind = recipients[user_id]
        notification_store(user=user, kind=kind, key=key, params=params, url=url)
    # Each e-mail is queued once the rows are committed (each store is its own transaction).
    pending = Notification.objects.filter(key=key, user_id__in=recipients, emailed_at__isnull=True)
    for note_id in pending.order_by("user_id").values_list("pk", flat=True):
        enqueue_on_commit("notifications.email_notification", note_id)
    return len(recipients)


# --- Support ----------------------------------------------------------------------------------


def support_threshold(category: str) -> int:
    row = CategoryThreshold.objects.filter(category=category).first()
    return row.threshold if row else settings.INITIATIVE_SUPPORT_THRESHOLD


def threshold_set(*, actor, category: str, threshold: int | None) -> int:
    """Set (or, with None, reset to the default) the supports a category needs for review.

    Open initiatives that already have that many supports reach it now, and so enter the
    review queue; one that reached it earlier keeps that. Returns how many reached it now.
    """
    may = is_moderator(actor) or is_official(actor)
    if not may and getattr(actor, "is_active", False):
        may = actor.has_perm("communities.change_categorythreshold")  # the admin's staff
    if not may:
        raise Forbidden(_("Only moderators and officials set support thresholds."))
    if category not in FocusArea.values:
        raise InvalidInput(_("Unknown category."))
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1
    ):
        raise InvalidInput(_("The threshold must be a whole number of at least 1."))
    with transaction.atomic():
        row = CategoryThreshold.objects.select_for_update().filter(category=category).first()
        if threshold is None:
            if row is not None:
                row_pk = row.pk
                row.delete()
                row.pk = row_pk  # still names the removed row in the audit log
        else:
            row, _created = CategoryThreshold.objects.update_or_create(
                category=category, defaults={"threshold": threshold}
            )
        needed = support_threshold(category)
        crossed = list(
            Initiative.objects.select_for_update()
            .filter(
                category=category,
                status__in=SUPPORTABLE,
                threshold_reached_at__isnull=True,
                supports_count__gte=needed,
            )
            .values_list("pk", flat=True)
        )
        Initiative.objects.filter(pk__in=crossed).update(threshold_reached_at=timezone.now())
        if row is not None:
            audit_record(
                actor=actor,
                action="threshold.set",
                target=row,
                data={"category": category, "threshold": needed, "reached": crossed},
            )
        for pk in crossed:
            mark_dirty_on_commit(TOPIC_INITIATIVE, pk)
    logger.info("threshold of %s set to %s by user %s", category, needed, actor.pk)
    return len(crossed)


@dataclass
class SupportResult:
    initiative: Initiative
    supported: bool
    changed: bool


def _not_supportable(initiative: Initiative):
    return Conflict(
        _("Support can be given or withdrawn only while the initiative is open."),
        code="not_open_for_support",
    )


def support_add(*, actor, initiative_id: int) -> SupportResult:
    """A verified citizen supports an initiative once; asking again changes nothing.

    Who may support is the initiative's support_eligibility (residents.eligibility); taking
    support back is always allowed (support_remove)."""
    require_citizen(actor)
    initiative = _get_initiative(initiative_id)
    if initiative.submitted_at is None:  # never made public (a draft, or a withdrawn draft)
        raise NotFound(_("No such initiative."))
    if initiative.status not in SUPPORTABLE:
        raise _not_supportable(initiative)
    require_support_eligible(actor, initiative)
    try:
        with transaction.atomic():
            Support.objects.create(initiative_id=initiative.pk, user=actor)
            # Counted under the status check: no support lands on a decided initiative.
            if not Initiative.objects.filter(pk=initiative.pk, status__in=SUPPORTABLE).update(
                supports_count=F("supports_count") + 1
            ):
                raise _not_supportable(initiative)
            _mark_threshold(initiative)
            mark_dirty_on_commit(TOPIC_INITIATIVE, initiative.pk)
    except IntegrityError:
        initiative.refresh_from_db()
        return SupportResult(initiative, supported=True, changed=False)
    initiative.refresh_from_db()
    return SupportResult(initiative, supported=True, changed=True)


def _mark_threshold(initiative: Initiative) -> None:
    threshold = support_threshold(initiative.category)
    crossed = Initiative.objects.filter(
        pk=initiative.pk, threshold_reached_at__isnull=True, supports_count__gte=threshold
    ).update(threshold_reached_at=timezone.now())
    if crossed:
        logger.info("initiative %s reached its threshold of %s", initiative.pk, threshold)


def support_remove(*, actor, initiative_id: int) -> SupportResult:
    """Withdraw one's support while the initiative is open; withdrawing twice is harmless."""
    require_citizen(actor)
    initiative = _get_initiative(initiative_id)
    if initiative.submitted_at is None:
        raise NotFound(_("No such initiative."))
    with transaction.atomic():
        deleted, _rows = Support.objects.filter(initiative_id=initiative.pk, user=actor).delete()
        if deleted:
            if not Initiative.objects.filter(pk=initiative.pk, status__in=SUPPORTABLE).update(
                supports_count=F("supports_count") - 1
            ):
                raise _not_supportable(initiative)
            mark_dirty_on_commit(TOPIC_INITIATIVE, initiative.pk)
    initiative.refresh_from_db()
    return SupportResult(initiative, supported=False, changed=bool(deleted))


def supports_verify(*, repair: bool = False) -> list[tuple[int, int, int]]:
    """Initiatives whose counter disagrees with their support rows: (id, counted, actual)."""
    from django.db.models import Count

    drift = [
        (i.pk, i.supports_count, i.actual)
        for i in Initiative.objects.annotate(actual=Count("supports")).only("supports_count")
        if i.supports_count != i.actual
    ]
    if repair:
        for pk, _counted, actual in drift:
            Initiative.objects.filter(pk=pk).update(supports_count=actual)
    return drift


# --- Dossier ----------------------------------------------------------------------------------


def attachment_add(
    *,
    actor,
    initiative_id: int,
    title: str,
    kind: str,
    upload,
    original_language: str = "",
    translations: dict | None = None,
) -> Attachment:
    """Add a document to the dossier; the same title again is its next version.

    `translations` gives the title in other languages: {"en": {"title": "..."}}.
    """
    initiative = _get_initiative(initiative_id)
    require_member(actor, initiative.community_id)
    title = clean_text(
        title, name=_("Document title"), max_length=200, required=True, multiline=False
    )
    title_language = original_language_of(original_language, title)
    title_columns = clean_translations(
        translations,
        specs={"title": FieldSpec(_("Document title"), 200)},
        original=title_language,
    )
    title_columns[f"title_{title_language}"] = title
    if kind not in Attachment.Kind.values:
        raise InvalidInput(_("Unknown kind of document."))
    mime, extension, original = _check_upload(
        upload, allowed=ALLOWED_FILES, max_bytes=settings.ATTACHMENT_MAX_BYTES
    )
    upload.seek(0)
    content = ContentFile(upload.read())
    with transaction.atomic():
        initiative = _get_initiative(initiative_id, lock=True)
        if initiative.status not in DOSSIER_OPEN:
            raise Conflict(_("Documents can no longer be added to this initiative."))
        last = initiative.attachments.filter(title=title).aggregate(v=Max("version"))["v"] or 0
        attachment = Attachment(
            initiative=initiative,
            kind=kind,
            title=title,
            original_language=title_language,
            **title_columns,
            version=last + 1,
            original_name=original,
            content_type=mime,
            extension=extension,
            size=content.size,
            uploaded_by=actor,
        )
        attachment.file.save(original, content, save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)  # no orphan file behind a failed row
            raise
    return attachment


# --- Progress of the work ---------------------------------------------------------------------

NOTE_MAX = 2000
# A progress photo is a picture: the dossier's image types only.
PHOTO_FILES = {k: v for k, v in ALLOWED_FILES.items() if k.startswith("image/")}


def _clean_percent(percent) -> int:
    if isinstance(percent, str) and re.fullmatch(r"[0-9]{1,3}", percent.strip()):
        percent = int(percent.strip())  # a form's field
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise InvalidInput(_("The percent done is a whole number from 0 to 100."), code="percent")
    return percent


def initiative_progress_add(
    *, actor, initiative_id: int, percent, note: str = "", photo=None
) -> InitiativeProgress:
    """Report how the work on an initiative in progress goes: a percent, a note, perhaps a
    photo (stored as a dossier photo and linked). Officials and the community's leads report;
    100 % does not make it implemented: officials still decide that (initiative_transition)."""
    require_citizen(actor)
    initiative = _get_initiative(initiative_id)
    require_progress_reporter(actor, initiative)
    percent = _clean_percent(percent)
    note = clean_text(note, name=_("Note"), max_length=NOTE_MAX, required=False)
    content = None
    if photo is not None:
        mime, extension, original = _check_upload(
            photo, allowed=PHOTO_FILES, max_bytes=settings.ATTACHMENT_MAX_BYTES
        )
        photo.seek(0)
        content = ContentFile(photo.read())
    with transaction.atomic():
        initiative = _get_initiative(initiative_id, lock=True)
        require_progress_open(initiative)
        attachment = None
        if content is not None:
            title = str(_("Progress photo, %(date)s")) % {"date": timezone.localdate().isoformat()}
            last = initiative.attachments.filter(title=title).aggregate(v=Max("version"))["v"]
            attachment = Attachment(
                initiative=initiative,
                kind=Attachment.Kind.PHOTO,
                title=title,
                version=(last or 0) + 1,
                original_name=original,
                content_type=mime,
                extension=extension,
                size=content.size,
                uploaded_by=actor,
            )
            attachment.file.save(original, content, save=False)
        try:
            if attachment is not None:
                attachment.save()
            update = InitiativeProgress.objects.create(
                initiative=initiative,
                percent=percent,
                note=note,
                photo=attachment,
                created_by=actor,
            )
            initiative.save(update_fields=["updated_at"])
            audit_record(
                actor=actor,
                action="initiative.progress",
                target=initiative,
                data={
                    "percent": percent,
                    "note": note,
                    "photo": attachment.pk if attachment else None,
                    "update": update.pk,
                },
            )
        except Exception:
            if attachment is not None:
                attachment.file.delete(save=False)  # no orphan file behind a failed row
            raise
        mark_dirty_on_commit(TOPIC_INITIATIVE, initiative.pk)
    logger.info("initiative %s: progress %s %% by user %s", initiative.pk, percent, actor.pk)
    return update
