"""Communities of Almaty and the urban initiatives they propose.

A community registers and is reviewed; its members propose initiatives with a dossier of
documents; the akimat moves them through a workflow and answers officially; citizens support
the ones they want. Every state change lives in communities.services.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civic.content import original_language_field
from civic.content import text as content_text
from residents.eligibility import Eligibility

# Almaty's city limits, generously: a point outside this box is not in Almaty.
ALMATY_LAT = (Decimal("43.05"), Decimal("43.45"))
ALMATY_LON = (Decimal("76.60"), Decimal("77.20"))
BUDGET_MAX_KZT = Decimal("1000000000000")  # one trillion tenge: more is a typo


class FocusArea(models.TextChoices):
    """The city's themes: a community's focus areas and an initiative's category."""

    ECOLOGY = "ecology", _("Ecology")
    TRANSPORT = "transport", _("Transport")
    HEALTH = "health", _("Health")
    CULTURE = "culture", _("Culture")
    SOCIAL = "social", _("Social life")
    URBAN_SPACE = "urban_space", _("Urban space")
    EDUCATION = "education", _("Education")
    BUSINESS = "business", _("Business")


def _localized(obj, field: str) -> str:
    return content_text(obj, field)


class Community(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    class Kind(models.TextChoices):
        CITIZEN_GROUP = "citizen_group", _("Citizen group")
        NGO = "ngo", _("NGO")
        SOCIAL_BUSINESS = "social_business", _("Social business")

    name = models.CharField(_("name"), max_length=120, unique=True)
    # The name folded for comparison (Unicode case, spaces): "Трамвай депо" and "ТРАМВАЙ  ДЕПО"
    # are one name. SQLite's LOWER() knows ASCII only, so the folding is done here.
    name_key = models.CharField(max_length=120, unique=True, editable=False)
    # Texts in three languages (civic/content.py): `name` and `description` are the original's,
    # in `original_language`; the columns per language hold every version.
    original_language = original_language_field()
    name_kk = models.CharField(_("name (Kazakh)"), max_length=120, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=120, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    slug = models.SlugField(_("address"), unique=True, max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), max_length=5000)
    description_kk = models.TextField(_("description (Kazakh)"), max_length=5000, blank=True)
    description_ru = models.TextField(_("description (Russian)"), max_length=5000, blank=True)
    description_en = models.TextField(_("description (English)"), max_length=5000, blank=True)
    focus_areas = models.JSONField(_("focus areas"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    status_reason = models.TextField(_("reason"), blank=True, max_length=2000)
    districts = models.ManyToManyField(
        "accounts.District", blank=True, related_name="communities", verbose_name=_("districts")
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    website = models.URLField(_("website"), blank=True, max_length=300)
    logo = models.FileField(_("logo"), upload_to="communities/logos/", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    created_at = models.DateTimeField(_("registered"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_key = self.fold_name(self.name)  # derived, never set by hand
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("communities:detail", kwargs={"slug": self.slug})

    @staticmethod
    def fold_name(name: str) -> str:
        return " ".join(name.split()).casefold()

    @property
    def display_name(self) -> str:
        return _localized(self, "name")

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class CommunityDecision(models.Model):
    """Who approved, rejected, suspended or reinstated a community, when, and why."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        SUSPEND = "suspend", _("Suspended")
        REINSTATE = "reinstate", _("Reinstated")

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("community")
    )
    action = models.CharField(_("decision"), max_length=12, choices=Action.choices)
    reason = models.TextField(_("reason"), blank=True, max_length=2000)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    created_at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("community decision")
        verbose_name_plural = _("community decisions")

    def __str__(self) -> str:
        return f"{self.community_id}: {self.action}"


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", _("Lead")
        MEMBER = "member", _("Member")

    class State(models.TextChoices):
        ACTIVE = "active", _("Member")
        REQUESTED = "requested", _("Asked to join")

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("community")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["community", "user"], name="one_membership_per_user"),
            models.CheckConstraint(
                condition=~Q(role="lead") | Q(state="active"), name="lead_is_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.community_id} ({self.role}, {self.state})"


class CommunityInvite(models.Model):
    """A lead's invitation by e-mail; the invited person accepts it once, signed in."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="invites", verbose_name=_("community")
    )
    email = models.EmailField(_("e-mail"))
    token = models.UUIDField(_("token"), default=uuid.uuid4, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "email"],
                condition=Q(accepted_at__isnull=True),
                name="one_open_invite_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invite of {self.email} to {self.community_id}"


class Initiative(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        UNDER_REVIEW = "under_review", _("Under review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        IN_PROGRESS = "in_progress", _("In progress")
        IMPLEMENTED = "implemented", _("Implemented")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    community = models.ForeignKey(
        Community,
        on_delete=models.PROTECT,
        related_name="initiatives",
        verbose_name=_("community"),
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500)
    # Texts in three languages (civic/content.py): `title` and `summary` are the original's.
    original_language = original_language_field()
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    summary_kk = models.CharField(_("summary (Kazakh)"), max_length=500, blank=True)
    summary_ru = models.CharField(_("summary (Russian)"), max_length=500, blank=True)
    summary_en = models.CharField(_("summary (English)"), max_length=500, blank=True)
    body = models.TextField(_("description (Markdown)"), max_length=20000, blank=True)
    body_html = models.TextField(_("description (HTML)"), editable=False, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=FocusArea.choices)
    district = models.ForeignKey(
        "accounts.District",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("district"),
        related_name="initiatives",
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    budget_kzt = models.DecimalField(
        _("estimated budget, KZT"), max_digits=15, decimal_places=2, null=True, blank=True
    )
    timeline = models.CharField(_("timeline"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    supports_count = models.PositiveIntegerField(_("supports"), default=0)
    # Who may support (residents.eligibility). E-mail by default: support asks the akimat to
    # review, it decides nothing, so it stays open to every citizen unless the proposers ask
    # for verified residents (of the city, or of the initiative's district).
    support_eligibility = models.CharField(
        _("who may support"),
        max_length=10,
        choices=Eligibility.choices,
        default=Eligibility.EMAIL,
    )
    threshold_reached_at = models.DateTimeField(_("threshold reached"), null=True, blank=True)
    official_response = models.TextField(_("official response"), blank=True, max_length=5000)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responded by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("drafted by"),
    )
    created_at = models.DateTimeField(_("drafted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget_kzt__isnull=True)
                | Q(budget_kzt__gte=0, budget_kzt__lte=BUDGET_MAX_KZT),
                name="initiative_budget_in_range",
            ),
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | Q(
                    latitude__gte=ALMATY_LAT[0],
                    latitude__lte=ALMATY_LAT[1],
                    longitude__gte=ALMATY_LON[0],
                    longitude__lte=ALMATY_LON[1],
                ),
                name="initiative_location_in_almaty",
            ),
            models.CheckConstraint(
                # Support by a district's residents needs the initiative's district.
                condition=~Q(support_eligibility="district") | Q(district__isnull=False),
                name="initiative_district_support_has_district",
            ),
        ]
        indexes = [models.Index(fields=["status", "-supports_count"])]
        verbose_name = _("initiative")
        verbose_name_plural = _("initiatives")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("initiatives:detail", kwargs={"pk": self.pk})

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class InitiativeStatusChange(models.Model):
    """The public history of an initiative: every move, who made it, the answer given."""

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="history", verbose_name=_("initiative")
    )
    from_status = models.CharField(
        _("from status"), max_length=20, choices=Initiative.Status.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=20, choices=Initiative.Status.choices)
    response = models.TextField(_("official response"), blank=True, max_length=5000)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    official = models.BooleanField(_("by an official"), default=False)
    created_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.from_status} → {self.to_status}"


class Support(models.Model):
    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="supports", verbose_name=_("initiative")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="supports",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("given"), auto_now_add=True)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints = [
            models.UniqueConstraint(fields=["initiative", "user"], name="one_support_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} supports {self.initiative_id}"


class CategoryThreshold(models.Model):
    """Supports needed in a category to put an initiative into the officials' review queue."""

    category = models.CharField(
        _("category"), max_length=16, choices=FocusArea.choices, unique=True
    )
    threshold = models.PositiveIntegerField(_("supports needed"))

    class Meta:
        verbose_name = _("support threshold")
        verbose_name_plural = _("support thresholds")
        constraints = [models.CheckConstraint(condition=Q(threshold__gte=1), name="threshold_ge_1")]

    def __str__(self) -> str:
        return f"{self.category}: {self.threshold}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is ours, never the uploader's: no path tricks, no collisions.
    return f"initiatives/{instance.initiative_id}/{uuid.uuid4().hex}{instance.extension}"


class Attachment(models.Model):
    """One version of a dossier document. A new upload under the same title is a new version."""

    class Kind(models.TextChoices):
        DESIGN = "design", _("Design")
        ESTIMATE = "estimate", _("Cost estimate")
        PHOTO = "photo", _("Photo")
        OTHER = "other", _("Other document")

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="attachments",
        verbose_name=_("initiative"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(_("title"), max_length=200)
    original_language = original_language_field()
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=200, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    extension = models.CharField(_("extension"), max_length=8)
    size = models.PositiveIntegerField(_("size, bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["title", "-version"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "title", "version"], name="one_version_number_per_document"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class InitiativeProgress(models.Model):
    """One dated report of how the work on an initiative in progress goes: a percent, a note,
    perhaps a photo (a dossier photo). Written only by communities.services."""

    initiative = models.ForeignKey(
        Initiative,
        on_delete=models.CASCADE,
        related_name="progress_updates",
        verbose_name=_("initiative"),
    )
    percent = models.PositiveSmallIntegerField(_("percent done"))
    note = models.TextField(_("note"), max_length=2000, blank=True)
    photo = models.ForeignKey(
        Attachment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("photo"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    created_at = models.DateTimeField(_("reported"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["initiative", "-created_at", "-id"])]
        verbose_name = _("progress update")
        verbose_name_plural = _("progress updates")
        constraints = [
            models.CheckConstraint(
                condition=Q(percent__gte=0, percent__lte=100), name="progress_percent_0_100"
            )
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.percent} %"
