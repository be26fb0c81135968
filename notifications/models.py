"""In-app notifications, each also sent once by e-mail.

A notification is stored as a kind and its parameters, not as text, so the in-app list
speaks the reader's current language and the e-mail the recipient's preferred one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=40)
    # What makes this notification this one (an event and its recipient): a retried task
    # finds the row it made before and sends nothing twice.
    key = models.CharField(_("event"), max_length=120)
    params = models.JSONField(_("parameters"), default=dict)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_event")
        ]
        # The sweep for e-mails that never went out reads only these.
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(emailed_at__isnull=True),
                name="notification_email_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class PendingTask(models.Model):
    """A task a committed change asked for, kept until that task has run.

    Written in the change's own transaction (a transactional outbox) and deleted only when
    the task has finished (not when the broker took it: Redis may restart empty and lose its
    queue). Celery beat hands over again what was never handed over, or was handed over and
    not done within the lease, so no notification or export is lost to an outage. The tasks
    are safe to run twice.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    # Hand-overs the broker accepted; past PENDING_TASKS_MAX_ATTEMPTS the row waits for an operator.
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    handed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("pending task")
        verbose_name_plural = _("pending tasks")

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
