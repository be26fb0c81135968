"""Exports of poll results and initiative lists, made by a Celery task, kept for download."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Export(models.Model):
    class Kind(models.TextChoices):
        POLL_RESULTS = "poll_results", _("Poll results")
        INITIATIVES = "initiatives", _("Initiatives")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSON = "json", "JSON"
        XLSX = "xlsx", "XLSX"

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    # What addresses name: an export is its requester's, and a sequential id would let anyone
    # who may export try the others' (the rule is dashboard.permissions.exports_visible_to).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    format = models.CharField(max_length=4, choices=Format.choices)
    poll = models.ForeignKey("polls.Poll", on_delete=models.CASCADE, null=True, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True)
    error = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="export_progress_is_a_percent"
            ),
            models.CheckConstraint(
                condition=~Q(kind="poll_results") | Q(poll__isnull=False),
                name="poll_export_names_its_poll",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.kind}, {self.format})"

    @property
    def filename(self) -> str:
        stem = f"poll-{self.poll_id}-results" if self.poll_id else "initiatives"
        return f"birge-{stem}-{self.created_at:%Y%m%d-%H%M}.{self.format}"
