"""Celery tasks of the People's Budget: thin, idempotent, calling the services."""

from celery import shared_task
from django.conf import settings

from civic.celery import app

from .services import outcome_compute, rounds_advance_schedule


@shared_task(name="budgets.advance_schedule", ignore_result=True)
def advance_schedule():
    """Open and close rounds on time. Running it twice changes nothing the second time."""
    return rounds_advance_schedule()


@shared_task(name="budgets.compute_outcomes", ignore_result=True)
def compute_outcomes(round_id: int):
    """Both rules' outcomes of a closed round, from its ballot rows; safe to run twice. Its
    progress is the round's computation_progress (pages and the socket show it)."""
    outcome_compute(round_id=round_id)


app.conf.beat_schedule["budgets-advance-schedule"] = {
    "task": "budgets.advance_schedule",
    "schedule": float(settings.POLL_SCHEDULE_SECONDS),
}
