"""App configuration for dialogue: registers the live question queue (and the dialogue's
activity, which the dashboard summarizes) with the ticker."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DialogueConfig(AppConfig):
    name = "dialogue"
    verbose_name = _("City Dialogue")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from civic.realtime import TOPIC_DIALOGUE_ACTIVITY, TOPIC_SESSION_QUESTIONS, register_topic

        from .selectors import compute_session_push

        register_topic(TOPIC_SESSION_QUESTIONS, compute_session_push)
        # Nothing to send of its own: a change here only wakes the summaries that depend on it.
        register_topic(TOPIC_DIALOGUE_ACTIVITY, lambda item_id, seq: [])
