"""What the home page shows: the polls open now with their totals, the initiatives gathering
support, the next Q&A session and the city's numbers. A fixed number of queries whatever the
data; the city's numbers are cached for a minute (they move slowly and cost four counts)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from accounts.permissions import is_official

HOME_POLLS = 3
HOME_INITIATIVES = 3
NUMBERS_CACHE_SECONDS = 60


def _month_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def initiatives_gathering_support(limit: int = HOME_INITIATIVES) -> list[dict]:
    """Submitted initiatives still short of the review threshold, most supported first, each
    with its progress towards that threshold (2 queries)."""
    from communities.models import CategoryThreshold, Initiative

    rows = list(
        Initiative.objects.filter(
            status__in=[Initiative.Status.SUBMITTED, Initiative.Status.CHANGES_REQUESTED],
            submitted_at__isnull=False,
            threshold_reached_at__isnull=True,
        )
        .select_related("community")
        .order_by("-supports_count", "-submitted_at", "-pk")[:limit]
    )
    if not rows:
        return []
    thresholds = dict(CategoryThreshold.objects.values_list("category", "threshold"))
    cards = []
    for initiative in rows:
        needed = thresholds.get(initiative.category, settings.INITIATIVE_SUPPORT_THRESHOLD)
        progress = min(100, round(100 * initiative.supports_count / needed)) if needed else 100
        cards.append({"initiative": initiative, "threshold": needed, "progress": progress})
    return cards


def next_session():
    """The Q&A session on now, else the next one (1 query)."""
    from dialogue.models import Session

    return Session.objects.filter(ends_at__gt=timezone.now()).order_by("starts_at", "pk").first()


def city_numbers() -> dict:
    """Ballots this month (poll ballots and budget ballots), initiatives accepted (also those
    in progress or done), initiatives implemented, approved communities. Cached a minute."""
    from budgets.models import BudgetBallot
    from communities.models import Community, Initiative
    from polls.models import Ballot, Participation

    now = timezone.now()
    start = _month_start(now)
    key = f"home:numbers:{start:%Y-%m}"
    numbers = cache.get(key)
    if numbers is not None:
        return numbers
    # A secret ballot has no time; its voter's participation has (an open ballot has both,
    # and no participation row).
    poll_ballots = (
        Ballot.objects.filter(cast_at__gte=start).count()
        + Participation.objects.filter(created_at__gte=start).count()
    )
    budget_ballots = BudgetBallot.objects.filter(created_at__gte=start).count()
    S = Initiative.Status
    initiatives = Initiative.objects.aggregate(
        accepted=Count("pk", filter=Q(status__in=[S.ACCEPTED, S.IN_PROGRESS, S.IMPLEMENTED])),
        implemented=Count("pk", filter=Q(status=S.IMPLEMENTED)),
    )
    numbers = {
        "ballots_month": poll_ballots + budget_ballots,
        "initiatives_accepted": initiatives["accepted"],
        "initiatives_implemented": initiatives["implemented"],
        "communities": Community.objects.filter(status=Community.Status.APPROVED).count(),
        "month": start,
    }
    cache.set(key, numbers, NUMBERS_CACHE_SECONDS)
    return numbers


def home_context(user) -> dict:
    from polls.cards import open_poll_cards

    session = next_session()
    return {
        "poll_cards": open_poll_cards(official=is_official(user), limit=HOME_POLLS),
        "initiative_cards": initiatives_gathering_support(),
        "next_session": session,
        "session_live": session is not None and session.starts_at <= timezone.now(),
        "numbers": city_numbers(),
    }
