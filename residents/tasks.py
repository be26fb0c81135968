"""Celery tasks of residents: thin, idempotent, calling the services."""

from celery import shared_task

from .services import census_import_run


@shared_task(name="residents.run_census_import", ignore_result=True)
def run_census_import(import_id: str) -> None:
    """Load a queued register file. A finished (done, failed, refused) import is left alone,
    and one another worker is running is not started twice."""
    census_import_run(import_id=import_id)
