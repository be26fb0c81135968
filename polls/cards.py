"""The card of an open poll with its live totals (the home page shows a few of them).

One partial, polls/includes/_open_poll_card.html, renders a card from `card_context`; the
home page renders it first, and the poll's socket may push the same partial (render_card)
when the totals move. The cards of a page are read with a fixed number of queries.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.template.loader import render_to_string

from .models import Choice, Poll
from .permissions import results_visible
from .selectors import live_tallies, results_message, results_rows

# The card shows the leading choices only: the poll page has them all.
CARD_ROWS = 3


def card_dom_id(poll_id: int) -> str:
    return f"poll-{poll_id}-card"


def card_context(poll: Poll, counts: dict, *, official: bool, seq: int = 0) -> dict:
    """What the card partial needs: the poll, its results message and its leading rows."""
    visible = results_visible(poll, official=official)
    message = results_message(poll, counts, seq=seq, visible=visible, kind="results.card")
    rows = results_rows(poll, message)
    if visible:
        rows = sorted(rows, key=lambda r: -(r["votes"] or 0))
    return {
        "poll": poll,
        "results": message,
        "rows": rows[:CARD_ROWS],
        "more_choices": max(0, len(rows) - CARD_ROWS),
        "card_id": card_dom_id(poll.pk),
    }


def _counts_for(polls: list[Poll]) -> dict[int, dict]:
    """The live totals of several polls in three queries (not three per poll)."""
    live = live_tallies([p.pk for p in polls])
    return {
        p.pk: {
            "total_votes": live[p.pk]["total"],
            "choices": [
                {"id": c.pk, "votes": live[p.pk]["choices"].get(c.pk, 0)} for c in p.choices.all()
            ],
        }
        for p in polls
    }


def open_poll_cards(*, official: bool, limit: int = 3) -> list[dict]:
    """The polls open now, closing soonest first, each as a card context (4 queries)."""
    polls = list(
        Poll.objects.filter(status=Poll.Status.OPEN)
        .select_related("district")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position", "pk")))
        .order_by("closes_at", "pk")[:limit]
    )
    counts = _counts_for(polls)
    return [card_context(p, counts[p.pk], official=official) for p in polls]


def render_card(poll: Poll, counts: dict, *, official: bool, seq: int = 0) -> str:
    """The card as HTML in the active language, for a push over the poll's socket."""
    return render_to_string(
        "polls/includes/_open_poll_card.html",
        card_context(poll, counts, official=official, seq=seq),
    )
