"""In-app notifications, each also sent once by e-mail.

A notification is stored as a kind and its parameters, not as text, so the in-app list
speaks the reader's current language and the e-mail the recipient's preferred one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=40)
    # What makes this notification this one (an event and its recipient): a retried task
    # finds the row it made before and sends nothing twice.
    key = models.CharField(max_length=120)
    params = models.JSONField(default=dict)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"
