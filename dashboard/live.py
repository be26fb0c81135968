"""The dashboard's and the projector's live fragments, rendered on the server with the same
partials as the pages' first render (civic.realtime sends them; static/js/live-socket.js
swaps them in). Rendered once per audience and language per tick, never per socket."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.translation import get_language

from civic import realtime
from polls.live import leading_sentence, poll_for_render
from polls.selectors import results_rows

from .charts import dashboard_charts
from .selectors import MODERATORS, OFFICIALS
from .views import live_context, projector_context


def projector_dom_id(poll_id: int) -> str:
    return f"projector-{poll_id}-results"


def render_projector(poll_id: int, group: str, message: dict, memo: dict) -> dict[str, str]:
    """The projector's chart of one poll, for the poll's socket (beside the poll page's)."""
    poll = poll_for_render(poll_id, memo)
    if poll is None:
        return {}
    context = projector_context(poll, message, (get_language() or "ru")[:2])
    return {
        projector_dom_id(poll_id): render_to_string("dashboard/_live_projector.html", context),
        "_announce": leading_sentence(results_rows(poll, message), message),
    }


def render_dashboard(item_id: int, group: str, message: dict, memo: dict) -> dict[str, str]:
    """The dashboard's live part from one audience's localized payload (message["payload"])."""
    payload = message["payload"]
    audience = MODERATORS if group.startswith(realtime.GROUP_DASHBOARD_MODERATORS) else OFFICIALS
    lang = payload.get("lang") or (get_language() or "ru")[:2]
    # The charts are the same for both audiences: drawn once per language and push.
    charts = memo.get(("charts", lang))
    if charts is None:
        charts = memo[("charts", lang)] = dashboard_charts()
    context = live_context(
        payload, seq=message["seq"], lang=lang, can_decide=audience == OFFICIALS, charts=charts
    )
    context["csrf_token"] = realtime.CSRF_PLACEHOLDER
    return {
        "dash-live": render_to_string("dashboard/_live_dashboard.html", context),
        "dash-generated": render_to_string("dashboard/_live_generated.html", context),
    }
