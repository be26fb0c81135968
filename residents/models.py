"""The resident register (versioned census imports, keyed hashes only) and verifications."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CensusImport(models.Model):
    """One upload of the register. At most one is current: the register verifications match."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Saved with every batch: a running import without progress for long was abandoned.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    original_name = models.CharField(max_length=255, blank=True)
    # Private path of the uploaded file under MEDIA_ROOT/census/ until the import ends.
    file_path = models.CharField(max_length=255, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # CSV: line number, reason. Never the IIN.
    error_report = models.FileField(upload_to="census/reports/", blank=True)
    message = models.TextField(blank=True)
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("census import")
        verbose_name_plural = _("census imports")
        permissions = [("import_census", _("Can import the resident register"))]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=Q(is_current=True),
                name="residents_one_current_census_import",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.status}"


class CensusEntry(models.Model):
    """One resident of one import: the keyed hash of (IIN, date of birth) and the district."""

    census_import = models.ForeignKey(CensusImport, on_delete=models.CASCADE, related_name="+")
    register_key = models.BinaryField(max_length=32)
    district = models.ForeignKey("accounts.District", on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("register entry")
        verbose_name_plural = _("register entries")
        constraints = [
            # Also the index of the lookup a verification makes: (current import, key).
            models.UniqueConstraint(
                fields=["census_import", "register_key"], name="residents_entry_unique_key"
            ),
        ]
        indexes = [models.Index(fields=["census_import", "district"])]

    def __str__(self) -> str:
        return f"{self.census_import_id} #{self.pk}"


class ResidentVerification(models.Model):
    """An account verified as a resident. One IIN, one account: iin_key is unique."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident_verification"
    )
    iin_key = models.BinaryField(max_length=32, unique=True)
    register_key = models.BinaryField(max_length=32, db_index=True)
    district = models.ForeignKey(
        "accounts.District", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=32)
    verified_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    census_import = models.ForeignKey(
        CensusImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when a newer register no longer holds this resident: they must verify again.
    stale_at = models.DateTimeField(null=True, blank=True)
    iin_last4 = models.CharField(max_length=4)

    class Meta:
        verbose_name = _("resident verification")
        verbose_name_plural = _("resident verifications")
        indexes = [
            models.Index(
                fields=["district"],
                condition=Q(stale_at__isnull=True),
                name="residents_verif_live_district",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ···{self.iin_last4}"


class DeskCode(models.Model):
    """A citizen's one-time code for verification in person at a service desk.

    Only a keyed hash of the code is kept (residents.services.desk_code_hash). An account has
    at most one code: issuing a new one replaces the old. The verify_in_person permission of
    the officials who verify at a desk lives here.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resident_desk_code"
    )
    code_hash = models.BinaryField(max_length=32, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("desk code")
        verbose_name_plural = _("desk codes")
        permissions = [
            ("verify_in_person", _("Can verify residents in person at a service desk")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="residents_desk_code_expires_after_created",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.expires_at:%Y-%m-%d %H:%M}"


class IdentityReport(models.Model):
    """A citizen's report that the account holding their IIN is not theirs (someone may have
    taken their identity). Moderators see both accounts, never the IIN. Changed only through
    residents.services (identity_report_create, identity_report_resolve)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("report", "Open")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("reported by"),
    )
    # The account that held the IIN when the report was made.
    reported = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("account holding the IIN"),
    )
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    message = models.TextField(_("message from the reporter"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    note = models.TextField(_("moderator's note"), blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("identity report")
        verbose_name_plural = _("identity reports")
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "reported"],
                condition=Q(status="open"),
                name="residents_identity_report_one_open",
            ),
            models.CheckConstraint(
                condition=~Q(reporter=models.F("reported")),
                name="residents_identity_report_not_self",
            ),
            models.CheckConstraint(
                condition=Q(status="open", resolved_at__isnull=True)
                | (~Q(status="open") & Q(resolved_at__isnull=False)),
                name="residents_identity_report_resolved_at",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.reporter_id} → {self.reported_id} ({self.status})"
