"""Sending notifications: stored once per event and recipient, e-mailed once."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from .messages import render
from .models import Notification

logger = logging.getLogger(__name__)


def notification_send(*, user, kind: str, key: str, params: dict, url: str = "") -> Notification:
    """Store the notification and e-mail it, unless this event already reached this user.

    Safe to run twice, also at the same time: the row is the record of delivery, locked
    while its e-mail goes out, and `emailed_at` is set in the same transaction. If sending
    fails the transaction rolls back and a retry sends it.
    """
    with transaction.atomic():
        note, _created = Notification.objects.get_or_create(
            user=user, key=key, defaults={"kind": kind, "params": params, "url": url}
        )
        note = Notification.objects.select_for_update().get(pk=note.pk)
        if note.emailed_at is None and user.email and user.is_active:
            with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
                subject, body = render(kind, params)
                if url:
                    body += "\n\n" + settings.SITE_URL.rstrip("/") + url
            send_mail(
                settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
                body,
                None,
                [user.email],
            )
            note.emailed_at = timezone.now()
            note.save(update_fields=["emailed_at"])
    return note


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
