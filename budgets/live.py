"""A People's Budget round's live figures (ballots, turnout, approvals per project when
visible) as a server-rendered fragment: the partial the round's page renders first
(budgets/_live_round.html), rendered once per audience and language per tick."""

from __future__ import annotations

from django.template.loader import render_to_string

from .models import BudgetRound
from .views import live_context


def render_round(round_id: int, group: str, message: dict, memo: dict) -> dict[str, str]:
    budget_round = memo.get("round")
    if budget_round is None:
        budget_round = memo["round"] = (
            BudgetRound.objects.prefetch_related("projects").filter(pk=round_id).first()
        )
    if budget_round is None:
        return {}
    context = {
        "round": budget_round,
        "live": live_context(budget_round, message["payload"], seq=message["seq"]),
    }
    return {f"round-{round_id}-live": render_to_string("budgets/_live_round.html", context)}
