"""Reads of polls: lists, live results from the counters, the frozen final result."""

from __future__ import annotations

from django.db import connection

from accounts.permissions import is_official
from civic.realtime import (
    EVENT_RESULTS_SNAPSHOT,
    EVENT_RESULTS_UPDATE,
    GROUP_POLL_OFFICIALS,
    GROUP_POLL_PUBLIC,
)

from .models import BallotTally, ChoiceTally, PendingTally, Poll
from .permissions import can_see_results, can_view, results_visible


def poll_groups(poll_id: int) -> tuple[str, str]:
    return GROUP_POLL_PUBLIC.format(id=poll_id), GROUP_POLL_OFFICIALS.format(id=poll_id)


def poll_list_public(*, user=None):
    qs = Poll.objects.select_related("district").order_by("-opens_at", "-id")
    if not is_official(user):
        qs = qs.exclude(status=Poll.Status.DRAFT)
    return qs


def poll_get(*, poll_id, user=None) -> Poll | None:
    try:
        poll = (
            Poll.objects.select_related("district").prefetch_related("choices").get(pk=int(poll_id))
        )
    except (Poll.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    return poll if can_view(user, poll) else None


def live_tallies(poll_ids) -> dict[int, dict]:
    """The live totals of polls: their counters plus the +1s not folded into them yet
    (PendingTally), so exact at every moment. {poll_id: {"total": n, "choices": {id: n}}}.

    One statement, so one snapshot: a fold that commits meanwhile (it moves pending rows into
    the counters) is seen whole or not at all, and a total never goes backwards."""
    ids = [int(poll_id) for poll_id in poll_ids]
    tallies = {poll_id: {"total": 0, "choices": {}} for poll_id in ids}
    if not ids:
        return tallies
    among = ", ".join(["%s"] * len(ids))
    choices, ballots, pending = (
        ChoiceTally._meta.db_table,
        BallotTally._meta.db_table,
        PendingTally._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT poll_id, choice_id, SUM(votes) FROM {choices}
            WHERE poll_id IN ({among}) GROUP BY poll_id, choice_id
            UNION ALL
            SELECT poll_id, NULL, SUM(ballots) FROM {ballots}
            WHERE poll_id IN ({among}) GROUP BY poll_id
            UNION ALL
            SELECT poll_id, choice_id, SUM(delta) FROM {pending}
            WHERE poll_id IN ({among}) GROUP BY poll_id, choice_id
            """,  # noqa: S608 - table names are ours, the ids are parameters
            ids * 3,
        )
        rows = cursor.fetchall()
    for poll_id, choice_id, n in rows:
        if choice_id is None:
            tallies[poll_id]["total"] += int(n or 0)
        else:
            counted = tallies[poll_id]["choices"]
            counted[choice_id] = counted.get(choice_id, 0) + int(n or 0)
    return tallies


def poll_counts(poll: Poll) -> dict:
    """Totals: the frozen result of a closed poll, else the live tallies."""
    if poll.status == Poll.Status.CLOSED and poll.final_result:
        return poll.final_result
    live = live_tallies([poll.pk])[poll.pk]
    return {
        "total_votes": live["total"],
        "choices": [{"id": c.pk, "votes": live["choices"].get(c.pk, 0)} for c in poll.choices.all()],
    }


def results_message(poll: Poll, counts: dict, *, seq: int, visible: bool, kind: str) -> dict:
    """The one shape of results: the API's /results, the socket's snapshot and updates."""
    return {
        "type": kind,
        "seq": seq,
        "poll": poll.pk,
        "status": poll.status,
        "total_votes": counts["total_votes"],
        "results_visible": visible,
        "choices": [
            {"id": row["id"], "votes": row["votes"] if visible else None}
            for row in counts["choices"]
        ],
    }


def poll_results_for(poll: Poll, user, *, seq: int, kind: str = EVENT_RESULTS_SNAPSHOT) -> dict:
    return results_message(
        poll, poll_counts(poll), seq=seq, visible=can_see_results(user, poll), kind=kind
    )


def compute_results_push(poll_id: int, seq: int) -> list[tuple[str, dict]]:
    """One computation per poll per tick, as one message per audience."""
    poll = Poll.objects.prefetch_related("choices").filter(pk=poll_id).first()
    if poll is None:
        return []
    counts = poll_counts(poll)
    public, officials = poll_groups(poll.pk)
    public_visible = results_visible(poll, official=False)
    officials_visible = results_visible(poll, official=True)
    return [
        (
            public,
            results_message(
                poll, counts, seq=seq, visible=public_visible, kind=EVENT_RESULTS_UPDATE
            ),
        ),
        (
            officials,
            results_message(
                poll, counts, seq=seq, visible=officials_visible, kind=EVENT_RESULTS_UPDATE
            ),
        ),
    ]


def voter_state(poll: Poll, user) -> dict:
    """Whether this user has voted here and, for an open ballot, what they chose."""
    from .models import Ballot, Participation

    if not getattr(user, "is_authenticated", False):
        return {"voted": False, "choices": []}
    if poll.secret_ballot:
        return {
            "voted": Participation.objects.filter(poll=poll, voter=user).exists(),
            "choices": [],
        }
    ballot = Ballot.objects.filter(poll=poll, voter=user).first()
    if ballot is None:
        return {"voted": False, "choices": []}
    return {"voted": True, "choices": list(ballot.selections.values_list("choice_id", flat=True))}


def results_rows(poll: Poll, message: dict) -> list[dict]:
    """Rows for the server-rendered chart: label, votes and share of ballots."""
    by_id = {row["id"]: row["votes"] for row in message["choices"]}
    total = message["total_votes"] or 0
    rows = []
    for choice in poll.choices.all():
        votes = by_id.get(choice.pk)
        share = round(100 * votes / total, 1) if (votes is not None and total) else 0
        rows.append({"id": choice.pk, "label": choice.label, "votes": votes, "share": share})
    return rows


def event_code_batches(poll: Poll) -> list[dict]:
    from django.db.models import Count, Min, Q

    from .models import EventCode

    return list(
        EventCode.objects.filter(poll=poll)
        .values("batch")
        .annotate(
            created=Min("created_at"),
            total=Count("id"),
            used=Count("id", filter=Q(used_at__isnull=False)),
            revoked=Count("id", filter=Q(revoked_at__isnull=False)),
        )
        .order_by("-created")
    )
