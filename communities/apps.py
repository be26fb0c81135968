"""App configuration for communities: registers the live initiative state with the ticker."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunitiesConfig(AppConfig):
    name = "communities"
    verbose_name = _("Communities and initiatives")

    def ready(self):
        from civic.realtime import TOPIC_INITIATIVE_STATE, register_topic

        from .selectors import initiative_state_message

        register_topic(TOPIC_INITIATIVE_STATE, initiative_state_message)
