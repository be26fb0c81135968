"""Celery tasks of notifications: one e-mail per notification, thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task
from celery.signals import task_postrun
from django.conf import settings

from civic.celery import app

from .services import (
    OUTBOX_HEADER,
    notification_email,
    notifications_email_pending,
    pending_task_done,
    pending_tasks_hand_over,
)


@shared_task(
    name="notifications.email_notification",
    autoretry_for=(OSError,),  # SMTP and network errors: smtplib's errors are OSErrors
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
    ignore_result=True,
)
def email_notification(notification_id: int) -> bool:
    return notification_email(notification_id=notification_id)


@shared_task(name="notifications.email_pending", ignore_result=True)
def email_pending() -> int:
    """The safety net for e-mails whose task gave up."""
    return notifications_email_pending()


@shared_task(name="notifications.hand_over_pending", ignore_result=True)
def hand_over_pending() -> int:
    """The safety net for tasks the broker could not take when a change committed."""
    return pending_tasks_hand_over()


app.conf.beat_schedule["notifications-hand-over-pending"] = {
    "task": "notifications.hand_over_pending",
    "schedule": float(settings.PENDING_TASKS_SWEEP_SECONDS),
}
app.conf.beat_schedule["notifications-email-pending"] = {
    "task": "notifications.email_pending",
    "schedule": float(settings.NOTIFICATION_EMAIL_SWEEP_SECONDS),
}


@task_postrun.connect(dispatch_uid="notifications.outbox_done")
def _outbox_row_done(sender=None, task=None, state=None, **_kwargs):
    """A task handed over from the outbox has run: its row goes. A failed or retried task
    keeps its row, and beat hands it over again after the lease."""
    request = getattr(task, "request", None)
    # Custom headers are request attributes on a worker, and in request.headers when eager.
    pending_id = getattr(request, OUTBOX_HEADER, None) or (
        getattr(request, "headers", None) or {}
    ).get(OUTBOX_HEADER)
    if pending_id and state == "SUCCESS":
        pending_task_done(pending_id=int(pending_id))
