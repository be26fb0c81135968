"""Celery tasks of notifications: one e-mail per notification, thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services import notification_email


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
