"""Celery tasks of notifications: one e-mail per notification, thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from civic.celery import app

from .services import notification_email, notifications_email_pending, pending_tasks_hand_over


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
