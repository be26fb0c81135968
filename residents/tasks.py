"""Celery tasks of residents: thin, idempotent, calling the services."""

from celery import shared_task

from .services import census_import_run, identity_report_notify


@shared_task(name="residents.run_census_import", ignore_result=True)
def run_census_import(import_id: str) -> None:
    """Load a queued register file. A finished (done, failed, refused) import is left alone,
    and one another worker is running is not started twice."""
    census_import_run(import_id=import_id)


@shared_task(name="residents.notify_identity_report", ignore_result=True)
def notify_identity_report(report_id: int) -> int:
    """Tell the moderators of a new identity report (each once, however often this runs)."""
    return identity_report_notify(report_id=report_id)
