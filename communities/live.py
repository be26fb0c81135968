"""An initiative's live support count as a server-rendered fragment (the partial the page
renders first, communities/_live_support.html), rendered once per language per tick."""

from __future__ import annotations

from django.template.loader import render_to_string

from .models import Initiative


def render_support(initiative_id: int, group: str, message: dict, memo: dict) -> dict[str, str]:
    initiative = memo.get("initiative")
    if initiative is None:
        initiative = memo["initiative"] = Initiative.objects.filter(pk=initiative_id).first()
    if initiative is None:
        return {}
    state = message["payload"]
    threshold = state["threshold"] or 0
    context = {
        "initiative": initiative,
        "threshold": threshold,
        "threshold_reached": state["threshold_reached"],
        "in_review_queue": state["in_review_queue"],
        "progress": min(100, round(100 * initiative.supports_count / threshold))
        if threshold
        else 100,
    }
    return {
        f"initiative-{initiative_id}-support": render_to_string(
            "communities/_live_support.html", context
        )
    }
