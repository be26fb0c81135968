"""A poll's live results as server-rendered fragments: the same partial the poll page renders
first (polls/includes/_live_results.html), rendered by civic.realtime once per audience and
language per tick (never per socket), and a short sentence for screen readers."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from civic.templatetags.numbers import format_percent

from .models import Poll
from .selectors import results_rows


def results_dom_id(poll_id: int) -> str:
    return f"poll-{poll_id}-results"


def poll_for_render(poll_id: int, memo: dict[str, Any]) -> Poll | None:
    """The poll with its choices, loaded once per push (memo) whatever the audiences."""
    key = f"poll:{poll_id}"
    if key not in memo:
        memo[key] = Poll.objects.prefetch_related("choices").filter(pk=poll_id).first()
    return memo[key]


def leading_sentence(rows: list[dict], message: dict) -> str:
    """'Cycling lanes: 41 %, leading' (or a tie), in the active language; "" when hidden."""
    if not message.get("results_visible") or not message.get("total_votes"):
        return ""
    top = max((r["votes"] or 0) for r in rows) if rows else 0
    if not top:
        return ""
    leaders = [r for r in rows if (r["votes"] or 0) == top]
    share = format_percent(leaders[0]["share"])
    if len(leaders) > 1:
        return _("%(choices)s: %(share)s, tied for the lead") % {
            "choices": ", ".join(str(r["label"]) for r in leaders),
            "share": share,
        }
    return _("%(choice)s: %(share)s, leading") % {"choice": leaders[0]["label"], "share": share}


def render_results(poll_id: int, group: str, message: dict, memo: dict) -> dict[str, str]:
    poll = poll_for_render(poll_id, memo)
    if poll is None:
        return {}
    rows = results_rows(poll, message)
    html = render_to_string(
        "polls/includes/_live_results.html", {"poll": poll, "results": message, "rows": rows}
    )
    return {results_dom_id(poll_id): html, "_announce": leading_sentence(rows, message)}
