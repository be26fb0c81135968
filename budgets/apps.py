"""App configuration for budgets: registers the live round topic with the ticker."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BudgetsConfig(AppConfig):
    name = "budgets"
    verbose_name = _("People's Budget")

    def ready(self):
        from civic.realtime import TOPIC_BUDGET_ROUND, register_topic

        from .selectors import compute_round_push

        register_topic(TOPIC_BUDGET_ROUND, compute_round_push)
