"""The project package as an app, so it can own templates tags and management commands."""

from django.apps import AppConfig


class CivicConfig(AppConfig):
    name = "civic"
    verbose_name = "Birge"
