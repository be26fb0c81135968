"""App configuration for polls: registers the live-results topic with the ticker."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = _("Polls")

    def ready(self):
        from civic.realtime import register_topic

        from .selectors import compute_results_push
        from .services import RESULTS_TOPIC, tallies_fold

        def fold_then_compute(poll_id: int, seq: int):
            # Once a tick for a watched poll: the pending +1s (of every poll) go into the
            # counters, outside any voter's transaction; then the push is computed.
            tallies_fold()
            return compute_results_push(poll_id, seq)

        register_topic(RESULTS_TOPIC, fold_then_compute)
