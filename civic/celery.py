"""The Celery application; its configuration is the CELERY_* part of Django's settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civic.settings.base")

app = Celery("civic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Periodic work (opening and closing polls on time, ...) is added by the apps' tasks modules
# to app.conf.beat_schedule.
app.conf.beat_schedule = {}
