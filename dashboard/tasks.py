"""Celery tasks of the dashboard: thin, taking ids, safe to run twice."""

from celery import shared_task

from .services import export_run


@shared_task(name="dashboard.run_export", ignore_result=True)
def run_export(export_id: int) -> None:
    export_run(export_id=export_id)
