"""App configuration for dialogue: registers the live question queue with the ticker."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DialogueConfig(AppConfig):
    name = "dialogue"
    verbose_name = _("City Dialogue")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from civic.realtime import TOPIC_SESSION_QUESTIONS, register_topic

        from .selectors import compute_session_push

        register_topic(TOPIC_SESSION_QUESTIONS, compute_session_push)
