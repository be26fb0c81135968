"""What the akimat dashboard shows, computed once per tick for every open dashboard.

The payload names things in all three languages, so one computation serves every
dashboard whatever its language. Aggregates only: never a person; no per-district
figures for a secret ballot.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from allauth.account.models import EmailAddress
from django.db.models import Count, Q
from django.db.models.functions import TruncMinute
from django.utils import timezone

from civic.realtime import (
    EVENT_DASHBOARD_UPDATE,
    GROUP_DASHBOARD,
    GROUP_DASHBOARD_MODERATORS,
    envelope,
)
from communities.models import Initiative
from communities.selectors import review_queue
from communities.services import support_threshold
from dialogue.models import Question, Session
from polls.models import Ballot, EventCode, Participation, Poll
from polls.selectors import poll_counts

TIMELINE_MINUTES = 30
QUEUE_LIMIT = 20


def _names(obj, field: str) -> dict[str, str]:
    return {lang: getattr(obj, f"{field}_{lang}") for lang in ("kk", "ru", "en")}


def officials_see_results(poll: Poll) -> bool:
    """The dashboard is staff's: it shows tallies where officials may see them."""
    return poll.status == Poll.Status.CLOSED or poll.results_visibility in (
        Poll.Visibility.LIVE,
        Poll.Visibility.OFFICIALS,
    )


def eligible_voters(poll: Poll) -> int:
    users = EmailAddress.objects.filter(verified=True, user__is_active=True)
    if poll.district_id:
        users = users.filter(user__district_id=poll.district_id)
    return users.values("user_id").distinct().count()


def eligible_by_district() -> dict:
    """Verified active users per district (None: no district) and in all: one query for
    every open poll of a payload."""
    rows = (
        EmailAddress.objects.filter(verified=True, user__is_active=True)
        .values("user__district")
        .annotate(n=Count("user", distinct=True))
    )
    counts = {row["user__district"]: row["n"] for row in rows}
    counts["all"] = sum(counts.values())
    return counts


def turnout_timeline(poll: Poll, *, now=None, minutes: int = TIMELINE_MINUTES) -> list[dict]:
    """Votes per minute over the last `minutes`, oldest first, zeros included.

    A secret ballot has no time on its ballots: its timeline counts who took part (and codes
    used), which is public in aggregate and links no one to a choice.
    """
    now = now or timezone.now()
    start = (now - timedelta(minutes=minutes - 1)).astimezone(UTC).replace(second=0, microsecond=0)
    if poll.secret_ballot:
        sources = [
            Participation.objects.filter(poll=poll, created_at__gte=start).annotate(
                m=TruncMinute("created_at")
            ),
            EventCode.objects.filter(poll=poll, used_at__gte=start).annotate(
                m=TruncMinute("used_at")
            ),
        ]
    else:
        sources = [
            Ballot.objects.filter(poll=poll, cast_at__gte=start).annotate(m=TruncMinute("cast_at"))
        ]
    per_minute: dict = {}
    for qs in sources:
        for row in qs.values("m").annotate(n=Count("pk")):
            per_minute[row["m"]] = per_minute.get(row["m"], 0) + row["n"]
    # The database truncates in Almaty time; keys compare in UTC.
    by_key = {
        m.astimezone(UTC).replace(second=0, microsecond=0).isoformat(): n
        for m, n in per_minute.items()
    }
    return [
        {"minute": (start + timedelta(minutes=i)).isoformat(), "votes": by_key.get(
            (start + timedelta(minutes=i)).isoformat(), 0
        )}
        for i in range(minutes)
    ]  # fmt: skip


def district_participation(poll: Poll) -> list[dict] | None:
    """Ballots by the voter's district (guests with codes apart); None for a secret ballot."""
    if poll.secret_ballot:
        return None
    from accounts.models import District

    counts = dict(
        Ballot.objects.filter(poll=poll, voter__isnull=False)
        .values_list("voter__district")
        .annotate(n=Count("pk"))
    )
    rows = [
        {"district": d.slug, "names": _names(d, "name"), "votes": counts.get(d.pk, 0)}
        for d in District.objects.all()
    ]
    rows.append({"district": None, "names": None, "votes": counts.get(None, 0)})
    guests = Ballot.objects.filter(poll=poll, voter__isnull=True, code__isnull=False).count()
    rows.append({"district": "guests", "names": None, "votes": guests})
    return rows


def poll_summary(poll: Poll, *, now=None, eligible_counts: dict | None = None) -> dict:
    counts = poll_counts(poll)
    visible = officials_see_results(poll)
    labels = {c.pk: _names(c, "label") for c in poll.choices.all()}
    if eligible_counts is None:
        eligible = eligible_voters(poll)
    else:
        eligible = eligible_counts.get(poll.district_id or "all", 0)
    total = counts["total_votes"]
    return {
        "id": poll.pk,
        "title": _names(poll, "title"),
        "status": poll.status,
        "secret_ballot": poll.secret_ballot,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "total_votes": total,
        "eligible": eligible,
        "turnout_pct": round(100 * total / eligible, 1) if eligible else None,
        "results_visible": visible,
        "officials_only": poll.status == Poll.Status.OPEN
        and poll.results_visibility == Poll.Visibility.OFFICIALS,
        "choices": [
            {"id": r["id"], "labels": labels.get(r["id"]), "votes": r["votes"] if visible else None}
            for r in counts["choices"]
        ],
        "timeline": turnout_timeline(poll, now=now),
        "districts": district_participation(poll),
    }


def pipeline_summary(*, now=None) -> dict:
    now = now or timezone.now()
    by_status = dict(Initiative.objects.values_list("status").annotate(n=Count("pk")))
    queue = [
        {
            "id": i.pk,
            "title": i.title,
            "community": i.community.display_name,
            "status": i.status,
            "supports_count": i.supports_count,
            "threshold": support_threshold(i.category),
            "threshold_reached": i.threshold_reached_at is not None,
            "waiting_since": (i.status_changed_at or i.created_at).isoformat(),
            "waiting_minutes": int(
                (now - (i.status_changed_at or i.created_at)).total_seconds() // 60
            ),
        }
        for i in review_queue()[:QUEUE_LIMIT]
    ]
    return {
        "counts": {status: by_status.get(status, 0) for status in Initiative.Status.values},
        "queue": queue,
        "queue_total": review_queue().count(),
    }


def dialogue_summary(*, now=None) -> dict:
    """Questions of live sessions that wait for an answer (or for a moderator)."""
    now = now or timezone.now()
    live = Session.objects.filter(starts_at__lte=now, ends_at__gt=now).annotate(
        waiting=Count(
            "questions",
            filter=Q(questions__state=Question.State.APPROVED, questions__answered_at__isnull=True),
        ),
        pending=Count("questions", filter=Q(questions__state=Question.State.PENDING)),
    )
    return {
        "sessions": [
            {"id": s.pk, "title": s.title, "waiting": s.waiting, "pending": s.pending}
            for s in live.order_by("ends_at")
        ]
    }


def dashboard_payload(*, now=None) -> dict:
    now = now or timezone.now()
    polls = Poll.objects.filter(status=Poll.Status.OPEN).prefetch_related("choices")
    eligible = eligible_by_district()
    return {
        "generated_at": now.isoformat(),
        "polls": [
            poll_summary(p, now=now, eligible_counts=eligible)
            for p in polls.order_by("closes_at", "pk")
        ],
        "pipeline": pipeline_summary(now=now),
        "dialogue": dialogue_summary(now=now),
    }


def for_moderators(payload: dict) -> dict:
    """The same payload without the tallies that only officials may see while a poll is open
    (results visibility "live for officials"). Derived, not recomputed: no queries."""
    polls = []
    for poll in payload["polls"]:
        if poll["results_visible"] and poll.get("officials_only"):
            poll = {
                **poll,
                "results_visible": False,
                "choices": [{**c, "votes": None} for c in poll["choices"]],
            }
        polls.append(poll)
    return {**payload, "polls": polls}


def dashboard_for(user, *, now=None) -> dict:
    from accounts.permissions import is_official

    payload = dashboard_payload(now=now)
    return payload if is_official(user) else for_moderators(payload)


def compute_dashboard_push(item_id: int, seq: int) -> list[tuple[str, dict]]:
    """One computation per tick for every dashboard in every process, two audiences."""
    payload = dashboard_payload()
    return [
        (GROUP_DASHBOARD, envelope(EVENT_DASHBOARD_UPDATE, seq=seq, payload=payload)),
        (
            GROUP_DASHBOARD_MODERATORS,
            envelope(EVENT_DASHBOARD_UPDATE, seq=seq, payload=for_moderators(payload)),
        ),
    ]
