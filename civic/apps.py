"""The project package as an app, so it can own templates tags and management commands."""

from django.apps import AppConfig


class CivicConfig(AppConfig):
    name = "civic"
    verbose_name = "Birge"

    def ready(self):
        # Services ask for tasks by name (notifications.services.enqueue_on_commit), so no
        # service imports a tasks module: load every app's tasks here, once all models are.
        from .celery import app

        app.autodiscover_tasks(force=True)
