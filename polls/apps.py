"""App configuration for polls: registers the live-results topic with the ticker."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = _("Polls")

    def ready(self):
        from civic.realtime import register_topic

        from .selectors import compute_results_push
        from .services import RESULTS_TOPIC

        register_topic(RESULTS_TOPIC, compute_results_push)
