"""App configuration for the akimat dashboard: one live summary, recomputed when any poll,
initiative, Q&A session or budget round it summarizes changes, at most once per tick."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Akimat dashboard")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from civic import realtime

        from .selectors import compute_dashboard_push

        realtime.register_topic(realtime.TOPIC_DASHBOARD, compute_dashboard_push)
        for source in (
            realtime.TOPIC_POLL_RESULTS,
            realtime.TOPIC_INITIATIVE_STATE,
            realtime.TOPIC_SESSION_QUESTIONS,
            realtime.TOPIC_DIALOGUE_ACTIVITY,
            realtime.TOPIC_BUDGET_ROUND,
        ):
            realtime.register_dependent(source, realtime.TOPIC_DASHBOARD, 0)
