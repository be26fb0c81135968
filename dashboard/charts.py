"""The dashboard's charts: participation by district and turnout over time.

Selectors (one grouped query each, language-neutral, kept a few seconds in the cache so a
tick's fragments and pages share them) and the builders that turn their rows into
civic.charts.Chart objects in the current language, for templates/dashboard/_districts.html
and _turnout.html. Aggregates only; secret ballots give no district figures (their ballots
carry no voter) and count in the turnout by who took part, never by what or when they chose.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Min
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from civic.charts import Chart, Datum, bar_chart, column_chart, number

LANGUAGES = ("kk", "ru", "en")
CACHE_SECONDS = 5
# Hourly while the open polls and rounds are younger than this, daily after.
HOURLY_UP_TO = timedelta(hours=48)
MAX_DAYS = 30
GUESTS = "guests"


def _lang() -> str:
    lang = (get_language() or "ru")[:2]
    return lang if lang in LANGUAGES else "ru"


# --- Selectors --------------------------------------------------------------------------------


def participation_by_district(*, cached: bool = False) -> list[tuple[int | None, int]]:
    """Ballots in the open polls and budget rounds by the voter's district (None: no
    district given): one query (a UNION ALL of two groupings). Secret ballots have no voter
    and do not count here."""
    from budgets.models import BudgetBallot, BudgetRound
    from polls.models import Ballot, Poll

    key = "dashboard:chart:districts"
    if cached and (rows := cache.get(key)) is not None:
        return rows
    polls = (
        Ballot.objects.filter(poll__status=Poll.Status.OPEN, voter__isnull=False)
        .values(d=F("voter__district"))
        .annotate(n=Count("pk"))
        .values_list("d", "n")
        .order_by()
    )
    rounds = (
        BudgetBallot.objects.filter(round__status=BudgetRound.Status.OPEN, voter__isnull=False)
        .values(d=F("voter__district"))
        .annotate(n=Count("pk"))
        .values_list("d", "n")
        .order_by()
    )
    totals: dict = {}
    for district, n in polls.union(rounds, all=True):
        totals[district] = totals.get(district, 0) + n
    rows = sorted(totals.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    if cached:
        cache.set(key, rows, CACHE_SECONDS)
    return rows


def _opened_since(now):
    """When the oldest open poll or round opened (None: nothing is open). One opened before
    the opening time was recorded counts from its planned opening, else its creation."""
    from budgets.models import BudgetRound
    from polls.models import Poll

    opened = Min(Coalesce("opened_at", "opens_at", "created_at"))
    starts = [
        Poll.objects.filter(status=Poll.Status.OPEN).aggregate(t=opened)["t"],
        BudgetRound.objects.filter(status=BudgetRound.Status.OPEN).aggregate(t=opened)["t"],
    ]
    starts = [t for t in starts if t is not None]
    return min(starts) if starts else None


def turnout_over_time(*, now=None, cached: bool = False) -> dict:
    """Ballots per hour (per day once the open polls and rounds are older than two days) in
    the open polls and rounds, oldest first, empty buckets included: one query (UNION ALL
    of the places a ballot's time is kept: an open ballot's cast_at; a secret poll's
    participations and guest codes; a budget round's participations).

    {"unit": "hour"|"day", "buckets": [(aware local datetime, ballots), ...]}
    """
    from budgets.models import BudgetParticipation, BudgetRound
    from polls.models import Ballot, EventCode, Participation, Poll

    key = "dashboard:chart:turnout"
    if cached and (result := cache.get(key)) is not None:
        return result
    now = timezone.localtime(now or timezone.now())
    since = _opened_since(now)
    if since is None:
        result = {"unit": "hour", "buckets": []}
        if cached:
            cache.set(key, result, CACHE_SECONDS)
        return result
    since = timezone.localtime(since)
    hourly = now - since <= HOURLY_UP_TO
    if hourly:
        unit, trunc, step = "hour", TruncHour, timedelta(hours=1)
        first = since.replace(minute=0, second=0, microsecond=0)
    else:
        unit, trunc, step = "day", TruncDay, timedelta(days=1)
        first = max(since, now - timedelta(days=MAX_DAYS - 1))
        first = first.replace(hour=0, minute=0, second=0, microsecond=0)

    def grouped(qs, field):
        return (
            qs.filter(**{f"{field}__gte": first})
            .annotate(t=trunc(field))
            .values("t")
            .annotate(n=Count("pk"))
            .values_list("t", "n")
            .order_by()  # no model ordering: SQLite refuses it inside a UNION
        )

    open_poll = {"poll__status": Poll.Status.OPEN}
    parts = [
        grouped(Ballot.objects.filter(**open_poll, poll__secret_ballot=False), "cast_at"),
        grouped(Participation.objects.filter(**open_poll), "created_at"),
        grouped(EventCode.objects.filter(**open_poll, poll__secret_ballot=True), "used_at"),
        grouped(
            BudgetParticipation.objects.filter(round__status=BudgetRound.Status.OPEN), "created_at"
        ),
    ]
    counts: dict = {}
    for t, n in parts[0].union(*parts[1:], all=True):
        if t is None:
            continue
        t = timezone.localtime(t) if timezone.is_aware(t) else timezone.make_aware(t)
        counts[t.isoformat()] = counts.get(t.isoformat(), 0) + n
    buckets = []
    t = first
    while t <= now:
        buckets.append((t, counts.get(t.isoformat(), 0)))
        # Across a DST change local hours would drift: step in UTC, name in local time.
        t = timezone.localtime(t + step)
        if not hourly:
            t = t.replace(hour=0)
    result = {"unit": unit, "buckets": buckets}
    if cached:
        cache.set(key, result, CACHE_SECONDS)
    return result


# --- Charts -----------------------------------------------------------------------------------


def district_names(lang: str | None = None) -> dict:
    """Every district's name in `lang` (its Russian or Kazakh name if missing), by id and by
    slug; the rows without a district and the guests by their own names."""
    from accounts.models import District

    lang = lang or _lang()
    names: dict = {}
    for d in District.objects.all():
        name = getattr(d, f"name_{lang}", "") or d.name_ru or d.name_kk or d.name_en or d.slug
        names[d.pk] = names[d.slug] = name
    names[None] = names[""] = _("No district given")
    names[GUESTS] = _("Guests with codes")
    return names


def districts_chart(
    rows: list | None, *, names: dict | None = None, title: str | None = None, key: str = ""
) -> Chart | None:
    """Horizontal bars of ballots by district, from (district id or slug, ballots) pairs
    (None: a secret ballot, no chart). Every district is drawn, with no ballots too; the
    rows without a district and the guests only when there are any."""
    if rows is None:
        return None
    names = names if names is not None else district_names()
    data = []
    for district, votes in rows:
        if district in (None, "", GUESTS) and not votes:
            continue
        label = names.get("" if district is None else district, str(district))
        data.append(Datum(label, votes or 0))
    chart = bar_chart(
        title=title or _("Participation by district"),
        data=data,
        label_heading=_("District"),
        value_heading=_("Ballots"),
    )
    chart.key = key
    return chart


def all_districts(rows: list[tuple[int | None, int]], names: dict) -> list[tuple]:
    """Every district in its order (with zero ballots too), then those without a district."""
    counts = dict(rows)
    ids = [k for k in names if isinstance(k, int)]
    return [(pk, counts.get(pk, 0)) for pk in ids] + [(None, counts.get(None, 0))]


def city_districts_chart(*, cached: bool = True) -> Chart:
    names = district_names()
    rows = all_districts(participation_by_district(cached=cached), names)
    return districts_chart(
        rows,
        names=names,
        title=_("Ballots in open polls and budget rounds, by district"),
        key="districts",
    )


def turnout_chart(series: dict | None = None, *, now=None, cached: bool = True) -> Chart:
    """Columns of ballots per hour or per day over the open polls' and rounds' time."""
    series = series if series is not None else turnout_over_time(now=now, cached=cached)
    hourly = series["unit"] == "hour"
    data = []
    for t, n in series["buckets"]:
        if hourly:
            label = (
                formats.date_format(t, "j E, H:i")
                if t.hour == 0 or not data
                else (formats.time_format(t, "H:i"))
            )
        else:
            label = formats.date_format(t, "j E")
        data.append(Datum(label, n))
    chart = column_chart(
        title=_("Ballots per hour") if hourly else _("Ballots per day"),
        data=data,
        label_heading=_("Hour") if hourly else _("Day"),
        value_heading=_("Ballots"),
    )
    chart.key = "turnout"
    return chart


def minutes_chart(timeline: dict, *, key: str = "") -> Chart:
    """A poll's votes per minute over the last half hour, from the payload's compact timeline
    ({"start": ISO minute in UTC, "votes": [n, ...]}): one column a minute, oldest first."""
    votes = timeline.get("votes") or []
    start = datetime.fromisoformat(timeline["start"]) if timeline.get("start") else None
    data = []
    for i, n in enumerate(votes):
        minute = timezone.localtime(start + timedelta(minutes=i)) if start else None
        data.append(Datum(formats.time_format(minute, "H:i") if minute else str(i), n))
    total, peak = sum(votes), max(votes, default=0)
    chart = column_chart(
        title=_("Votes per minute"),
        data=data,
        label_heading=_("Time"),
        value_heading=_("Votes"),
        summary=ngettext(
            "Last 30 minutes: %(total)s vote, at most %(peak)s in one minute.",
            "Last 30 minutes: %(total)s votes, at most %(peak)s in one minute.",
            total,
        )
        % {"total": number(total), "peak": number(peak)},
    )
    chart.key = key
    return chart


def dashboard_charts(*, now=None) -> dict[str, Chart]:
    """Both charts of the dashboard page, in the current language (for the page and for the
    live fragments alike)."""
    return {
        "districts_chart": city_districts_chart(),
        "turnout_chart": turnout_chart(now=now),
    }
