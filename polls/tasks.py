"""Celery tasks of polls: thin, idempotent, calling the services."""

from celery import shared_task
from django.conf import settings

from civic.celery import app

from .services import polls_advance_schedule, tallies_fold


@shared_task(name="polls.advance_schedule", ignore_result=True)
def advance_schedule():
    """Open and close polls on time. Running it twice changes nothing the second time."""
    return polls_advance_schedule()


app.conf.beat_schedule["polls-advance-schedule"] = {
    "task": "polls.advance_schedule",
    "schedule": float(settings.POLL_SCHEDULE_SECONDS),
}


@shared_task(name="polls.fold_tallies", ignore_result=True)
def fold_tallies():
    """Fold the pending +1s into the counters where no socket's ticker did (nobody watching):
    the pending table stays short, so reads of the live totals stay cheap."""
    return tallies_fold()


app.conf.beat_schedule["polls-fold-tallies"] = {
    "task": "polls.fold_tallies",
    "schedule": float(settings.POLL_FOLD_SECONDS),
}
