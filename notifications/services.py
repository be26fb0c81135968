"""Sending notifications: stored once per event and recipient, e-mailed once, each on its own.

The in-app notification is the record; it is stored (and committed) first. Its e-mail goes
out afterwards in a task of its own, one per notification, so a recipient whose mail server
fails is retried alone and never holds up, or re-mails, anyone else.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation

from .messages import render
from .models import Notification, PendingTask

logger = logging.getLogger(__name__)


def one_line(text: str) -> str:
    """Text fit for an e-mail subject: every run of whitespace (line breaks too) is one space."""
    return " ".join(str(text).split())


def enqueue_on_commit(task, *args) -> None:
    """Queue a Celery task once the current transaction commits; never fail the caller.

    The request is written down in the same transaction (PendingTask) and handed to the
    broker after commit. If that fails (a broker outage, or in eager mode the task's own
    error) it is logged, the request that made the change still succeeds, and
    pending_tasks_hand_over tries again from Celery beat.
    """
    pending = PendingTask.objects.create(task=task.name, args=list(args))
    transaction.on_commit(lambda: _hand_over(pending.pk, task, args))


def _hand_over(pending_id: int, task, args) -> bool:
    try:
        task.delay(*args)
    except Exception:
        logger.exception("could not enqueue %s%r; beat will try again", task.name, tuple(args))
        PendingTask.objects.filter(pk=pending_id).update(attempts=F("attempts") + 1)
        return False
    PendingTask.objects.filter(pk=pending_id).delete()
    return True


def pending_tasks_hand_over(*, older_than_seconds: int = 60) -> int:
    """Hand the broker what it could not take when it was asked; returns how many it took.

    Only rows older than a minute: a younger one may still be on its way from its own
    on_commit. Stops at the first failure (the broker is still away).
    """
    from celery import current_app

    due = PendingTask.objects.filter(
        created_at__lte=timezone.now() - timedelta(seconds=older_than_seconds)
    )
    handed = 0
    for pending in due.order_by("pk")[:1000]:
        task = current_app.tasks.get(pending.task)
        if task is None:
            logger.error("pending task %s names no known task; kept", pending)
            continue
        if not _hand_over(pending.pk, task, pending.args):
            break
        handed += 1
    return handed


def notification_store(
    *, user, kind: str, key: str, params: dict, url: str = ""
) -> tuple[Notification, bool]:
    """The in-app notification of this event for this user: made once, found thereafter."""
    try:
        with transaction.atomic():
            return Notification.objects.get_or_create(
                user=user, key=key, defaults={"kind": kind, "params": params, "url": url}
            )
    except IntegrityError:  # made at the same moment by a concurrent run
        return Notification.objects.get(user=user, key=key), False


def notification_email(*, notification_id: int) -> bool:
    """E-mail one notification unless it went out already; True if it was sent now.

    Safe to run twice, also at the same time: the row is locked while its e-mail goes out
    and `emailed_at` is set in the same transaction. If sending fails, the transaction
    rolls back and a retry sends it.
    """
    with transaction.atomic():
        note = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=notification_id)
            .first()
        )
        if note is None or note.emailed_at is not None:
            return False
        user = note.user
        if not (user.email and user.is_active):
            return False
        with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
            subject, body = render(note.kind, note.params)
            if note.url:
                body += "\n\n" + settings.SITE_URL.rstrip("/") + note.url
        send_mail(
            one_line(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject), body, None, [user.email]
        )
        note.emailed_at = timezone.now()
        note.save(update_fields=["emailed_at"])
    return True


def notification_send(*, user, kind: str, key: str, params: dict, url: str = "") -> Notification:
    """Store the notification, then (after commit) e-mail it in a task of its own.

    Safe to run twice: the second run finds the stored row, and its e-mail task sends
    nothing that was sent before.
    """
    from .tasks import email_notification

    note, _created = notification_store(user=user, kind=kind, key=key, params=params, url=url)
    if note.emailed_at is None:
        enqueue_on_commit(email_notification, note.pk)
    return note


def notifications_email_pending(*, older_than_seconds: int = 300, days: int = 2) -> int:
    """E-mail what should have gone out already: notifications whose e-mail task gave up
    (the mail server was away through every retry). Returns how many were sent now.

    Celery beat runs it every few minutes; notification_email's lock and `emailed_at` keep
    it from sending anything twice, also beside a task that is still running.
    """
    now = timezone.now()
    pending = Notification.objects.filter(
        emailed_at__isnull=True,
        created_at__lte=now - timedelta(seconds=older_than_seconds),
        created_at__gte=now - timedelta(days=days),
        user__is_active=True,
    ).exclude(user__email="")
    sent = 0
    for pk in pending.order_by("pk").values_list("pk", flat=True)[:1000]:
        try:
            sent += notification_email(notification_id=pk)
        except OSError:
            logger.warning("notification %s could not be e-mailed yet", pk, exc_info=True)
            break  # the mail server is away: the next sweep tries again
    return sent


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
