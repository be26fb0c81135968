"""Sending notifications: stored once per event and recipient, e-mailed once, each on its own.

The in-app notification is the record; it is stored (and committed) first. Its e-mail goes
out afterwards in a task of its own, one per notification, so a recipient whose mail server
fails is retried alone and never holds up, or re-mails, anyone else.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation

from .links import url_in_language, url_neutral
from .messages import render
from .models import Notification, PendingTask

logger = logging.getLogger(__name__)


def one_line(text: str) -> str:
    """Text fit for an e-mail subject: every run of whitespace (line breaks too) is one space."""
    return " ".join(str(text).split())


# The outbox row's id travels with the task in this message header; when the task has run,
# the row goes (the task_postrun receiver in notifications/tasks.py calls pending_task_done).
OUTBOX_HEADER = "birge_outbox_id"


def enqueue_on_commit(task_name: str, *args) -> None:
    """Run the Celery task named `task_name` once the current transaction commits; never fail
    the caller. The one way services ask for a task: by name, so no service imports a task.

    The request is written down in the same transaction (PendingTask, a transactional outbox)
    and handed to the broker after commit. The row stays until the task has run: if the
    broker loses the message (Redis restarted empty) or never took it (an outage), Celery beat
    hands it over again (pending_tasks_hand_over). The tasks are safe to run twice.
    """
    pending = PendingTask.objects.create(task=task_name, args=list(args))
    transaction.on_commit(lambda: _hand_over(pending.pk, task_name, list(args)))


def _hand_over(pending_id: int, task_name: str, args: list) -> bool:
    task = current_app.tasks.get(task_name)
    if task is None:
        logger.error("pending task %s names no known task; kept", task_name)
        return False
    # Counted as an attempt once the broker has it; set back if the broker would not take it,
    # so an outage spends no attempts and the next sweep tries again.
    PendingTask.objects.filter(pk=pending_id).update(
        handed_at=timezone.now(), attempts=F("attempts") + 1
    )
    try:
        # In the embedded mode (eager) the task runs right here, and its row is gone after.
        task.apply_async(args=args, headers={OUTBOX_HEADER: pending_id})
    except Exception:
        logger.warning(
            "could not run or enqueue %s%r; beat will try again",
            task_name,
            tuple(args),
            exc_info=True,
        )
        # Due again at the next sweep. A broker that refused spent no attempt; an eager task
        # that ran and failed did.
        spent = 1 if current_app.conf.task_always_eager else 0
        PendingTask.objects.filter(pk=pending_id).update(
            handed_at=None, attempts=F("attempts") - 1 + spent
        )
        return False
    return True


def pending_task_done(*, pending_id: int) -> None:
    """The task an outbox row asked for has run: the row has done its job."""
    PendingTask.objects.filter(pk=pending_id).delete()


def pending_tasks_hand_over(
    *,
    older_than_seconds: int | None = None,
    lease_seconds: int | None = None,
    max_attempts: int | None = None,
) -> int:
    """Hand the broker again what no task has finished; returns how many it took.

    Rows never handed over are due after `older_than_seconds` (a younger one may still be on
    its way from its own on_commit); rows handed over but not done after `lease_seconds`
    (the broker lost them, or the task failed). After `max_attempts` a row is left for an
    operator, with an error logged. Stops at the first failure (the broker is still away).
    """
    older = settings.PENDING_TASKS_SWEEP_SECONDS if older_than_seconds is None else older_than_seconds
    lease = settings.PENDING_TASKS_LEASE_SECONDS if lease_seconds is None else lease_seconds
    limit = settings.PENDING_TASKS_MAX_ATTEMPTS if max_attempts is None else max_attempts
    now = timezone.now()
    due = PendingTask.objects.filter(
        Q(handed_at__isnull=True, created_at__lte=now - timedelta(seconds=older))
        | Q(handed_at__lte=now - timedelta(seconds=lease))
    )
    given_up = due.filter(attempts__gte=limit)
    if given_up.exists():
        logger.error(
            "%d pending tasks failed %d times and are kept for an operator (admin: pending tasks)",
            given_up.count(),
            limit,
        )
    handed = 0
    for pending in due.filter(attempts__lt=limit).order_by("pk")[:1000]:
        if not _hand_over(pending.pk, pending.task, pending.args):
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
                user=user,
                key=key,
                # Kept without a language: each reader gets it in theirs.
                defaults={"kind": kind, "params": params, "url": url_neutral(url)},
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
        language = user.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            subject, body = render(note.kind, note.params)
            link = url_in_language(note.url, language)
            if link:
                body += "\n\n" + settings.SITE_URL.rstrip("/") + link
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
    note, _created = notification_store(user=user, kind=kind, key=key, params=params, url=url)
    if note.emailed_at is None:
        enqueue_on_commit("notifications.email_notification", note.pk)
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
