"""App configuration for dialogue."""

from django.apps import AppConfig


class DialogueConfig(AppConfig):
    name = "dialogue"
