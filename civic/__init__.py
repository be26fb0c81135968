"""Birge's project package: settings, ASGI and URL entry points, Celery, shared helpers."""

from .celery import app as celery_app

__all__ = ["celery_app"]
