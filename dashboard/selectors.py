"""What the akimat dashboard shows, computed once per tick for every open dashboard.

One computation (`dashboard_payload`, language-neutral) is turned into one compact message
per audience (officials, moderators) and language (`localize`): a socket, a resync and a
page render all read the last one from the cache (`dashboard_snapshot`) while it is fresh,
so however many dashboards (re)connect, the summary is computed at most about once a tick.
Aggregates only: never a person; no per-district figures for a secret ballot.
"""

from __future__ import annotations

import time
from datetime import UTC, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncMinute
from django.utils import timezone
from django.utils.text import Truncator

from civic.content import choose
from civic.content import versions as content_versions
from civic.realtime import (
    EVENT_DASHBOARD_UPDATE,
    GROUP_DASHBOARD,
    GROUP_DASHBOARD_MODERATORS,
    envelope,
    now_seq,
    page_language,
)
from communities.models import CategoryThreshold, Initiative
from communities.selectors import review_queue
from dialogue.models import Comment, Flag, Question, Session, Thread
from polls.models import Ballot, EventCode, Participation, Poll
from polls.permissions import results_visible
from polls.selectors import poll_counts
from residents.eligibility import RESIDENT_LEVELS, Eligibility
from residents.selectors import register_residents_counts

LANGUAGES = ("kk", "ru", "en")
TIMELINE_MINUTES = 30
QUEUE_LIMIT = 20
NEW_LIMIT = 10
SUMMARY_CHARS = 240

OFFICIALS, MODERATORS = "officials", "moderators"
AUDIENCE_GROUPS = {OFFICIALS: GROUP_DASHBOARD, MODERATORS: GROUP_DASHBOARD_MODERATORS}

# Counts that cost a scan of users or ballots are reused for a few seconds: the turnout's
# denominator moves with sign-ups, not with votes; districts are refreshed at most this
# often while votes arrive, and at once on the next computation after they stop.
ELIGIBLE_CACHE_SECONDS = 10
DISTRICTS_CACHE_SECONDS = 2
# The last payloads are kept this long; they are *served* only while younger than a tick.
PAYLOAD_KEEP_SECONDS = 60
COMPUTING_LOCK_SECONDS = 5


def _names(obj, field: str) -> dict[str, str]:
    return {lang: getattr(obj, f"{field}_{lang}") for lang in LANGUAGES}


def pick(names: dict | None, lang: str) -> str:
    return choose(names, lang).text


def officials_see_results(poll: Poll) -> bool:
    """The dashboard is staff's: it shows tallies where officials may see them (the polls'
    one visibility rule)."""
    return results_visible(poll, official=True)


# --- Turnout ----------------------------------------------------------------------------------


def eligible_voters(poll: Poll) -> int:
    users = EmailAddress.objects.filter(verified=True, user__is_active=True)
    if poll.district_id:
        users = users.filter(user__district_id=poll.district_id)
    return users.values("user_id").distinct().count()


def eligible_by_district(*, cached: bool = False) -> dict:
    """Verified active users per district (None: no district) and in all: one query for
    every open poll of a payload; with `cached`, reused for a few seconds."""
    key = "dashboard:eligible"
    if cached:
        counts = cache.get(key)
        if counts is not None:
            return counts
    rows = (
        EmailAddress.objects.filter(verified=True, user__is_active=True)
        .values("user__district")
        .annotate(n=Count("user", distinct=True))
    )
    counts = {row["user__district"]: row["n"] for row in rows}
    counts["all"] = sum(counts.values())
    if cached:
        cache.set(key, counts, ELIGIBLE_CACHE_SECONDS)
    return counts


# Where a poll's turnout denominator comes from: the residents of the current register (a
# poll for verified residents, with a register loaded), or the accounts with a verified e-mail.
SOURCE_REGISTER, SOURCE_ACCOUNTS = "register", "accounts"
_UNSET = object()


def eligible_from_register(poll: Poll, register_counts: dict | None) -> int | None:
    """A resident poll's denominator: residents in the current register (of the poll's
    district, or the city): the real share of the district that voted. None for an e-mail
    poll, or while no register is loaded (the accounts' count applies)."""
    if register_counts is None or poll.eligibility not in RESIDENT_LEVELS:
        return None
    if poll.eligibility == Eligibility.DISTRICT:
        return register_counts.get(poll.district_id, 0)
    return register_counts.get("all", 0)


def guests_by_poll(poll_ids) -> dict[int, int]:
    """Ballots cast with event codes (guests without an account), per poll: one query."""
    rows = (
        EventCode.objects.filter(poll_id__in=list(poll_ids), used_at__isnull=False)
        .values_list("poll_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def turnout(*, total: int, guests: int, eligible: int) -> dict:
    """Turnout counts registered voters only: guests with codes are not among the eligible,
    so they are shown apart, and the share never exceeds 100 % (a voter who has moved out
    of the district since voting still counts as a ballot, not as eligible)."""
    registered = max(0, total - guests)
    pct = min(100.0, round(100 * registered / eligible, 1)) if eligible else None
    return {"registered_votes": registered, "guest_votes": guests, "turnout_pct": pct}


# --- Timeline ---------------------------------------------------------------------------------


def _window_start(now, minutes: int):
    return (now - timedelta(minutes=minutes - 1)).astimezone(UTC).replace(second=0, microsecond=0)


def _per_minute(poll: Poll, start, end=None) -> dict[str, int]:
    """Votes per minute (ISO minute in UTC → count) from `start` up to `end` (excluded).

    A secret ballot has no time on its ballots: it counts who took part (and codes used),
    which is public in aggregate and links no one to a choice.
    """
    if poll.secret_ballot:
        sources = [
            (Participation.objects.filter(poll=poll), "created_at"),
            (EventCode.objects.filter(poll=poll), "used_at"),
        ]
    else:
        sources = [(Ballot.objects.filter(poll=poll), "cast_at")]
    per_minute: dict = {}
    for qs, field in sources:
        qs = qs.filter(**{f"{field}__gte": start})
        if end is not None:
            qs = qs.filter(**{f"{field}__lt": end})
        for row in qs.annotate(m=TruncMinute(field)).values("m").annotate(n=Count("pk")):
            # The database truncates in Almaty time; keys compare in UTC.
            key = row["m"].astimezone(UTC).replace(second=0, microsecond=0).isoformat()
            per_minute[key] = per_minute.get(key, 0) + row["n"]
    return per_minute


def _series(start, minutes: int, counts: dict[str, int]) -> list[dict]:
    keys = [(start + timedelta(minutes=i)).isoformat() for i in range(minutes)]
    return [{"minute": key, "votes": counts.get(key, 0)} for key in keys]


def turnout_timeline(poll: Poll, *, now=None, minutes: int = TIMELINE_MINUTES) -> list[dict]:
    """Votes per minute over the last `minutes`, oldest first, zeros included."""
    now = now or timezone.now()
    start = _window_start(now, minutes)
    return _series(start, minutes, _per_minute(poll, start))


def _timeline_fast(poll: Poll, now) -> list[dict]:
    """The same figures, at one small query a tick: the finished minutes of the window are
    counted once a minute (and kept), only the current minute is counted every tick."""
    start = _window_start(now, TIMELINE_MINUTES)
    current = start + timedelta(minutes=TIMELINE_MINUTES - 1)
    key = f"dashboard:timeline:{poll.pk}:{int(poll.secret_ballot)}:{current.isoformat()}"
    finished = cache.get(key)
    if finished is None:
        finished = _per_minute(poll, start, current)
        cache.set(key, finished, 90)
    counts = {**finished, **_per_minute(poll, current)}
    return _series(start, TIMELINE_MINUTES, counts)


# --- Districts --------------------------------------------------------------------------------


def district_participation(poll: Poll) -> list[dict] | None:
    """Ballots by the voter's district (guests with codes apart), with the districts' names
    in every language; None for a secret ballot. Exact: exports use it."""
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


def _districts_fast(poll: Poll, *, total: int, guests: int) -> list[dict] | None:
    """Registered voters' ballots by district, re-aggregated only when the poll's total has
    moved and the last aggregate is a couple of seconds old; guests from the live count."""
    if poll.secret_ballot:
        return None
    key = f"dashboard:districts:{poll.pk}"
    entry = cache.get(key)
    fresh = entry is not None and (
        entry["total"] == total or time.time() - entry["at"] < DISTRICTS_CACHE_SECONDS
    )
    if not fresh:
        rows = district_participation(poll)
        entry = {
            "total": total,
            "at": time.time(),
            "rows": [(r["district"], r["votes"]) for r in rows if r["district"] != "guests"],
        }
        cache.set(key, entry, 300)
    return [{"district": d, "votes": n} for d, n in entry["rows"]] + [
        {"district": "guests", "votes": guests}
    ]


# --- Polls ------------------------------------------------------------------------------------


def poll_summary(
    poll: Poll,
    *,
    now=None,
    eligible_counts: dict | None = None,
    guests: int | None = None,
    fast: bool = False,
    register_counts=_UNSET,
) -> dict:
    """One open poll. `fast` (the live payload) takes the cached timeline and districts.
    `register_counts`: residents_counts of the current register (asked if not given)."""
    now = now or timezone.now()
    counts = poll_counts(poll)
    visible = officials_see_results(poll)
    labels = {c.pk: _names(c, "label") for c in poll.choices.all()}
    if register_counts is _UNSET:
        register_counts = register_residents_counts()
    eligible = eligible_from_register(poll, register_counts)
    source = SOURCE_REGISTER
    if eligible is None:
        source = SOURCE_ACCOUNTS
        if eligible_counts is None:
            eligible = eligible_voters(poll)
        else:
            eligible = eligible_counts.get(poll.district_id or "all", 0)
    if guests is None:
        guests = guests_by_poll([poll.pk]).get(poll.pk, 0)
    total = counts["total_votes"]
    if fast:
        timeline = _timeline_fast(poll, now)
        districts = _districts_fast(poll, total=total, guests=guests)
    else:
        timeline = turnout_timeline(poll, now=now)
        rows = district_participation(poll)
        districts = (
            None
            if rows is None
            else [{"district": r["district"], "votes": r["votes"]} for r in rows]
        )
    return {
        "id": poll.pk,
        "title": _names(poll, "title"),
        "status": poll.status,
        "secret_ballot": poll.secret_ballot,
        "closes_at": poll.closes_at.isoformat() if poll.closes_at else None,
        "total_votes": total,
        "eligible": eligible,
        "eligible_source": source,
        **turnout(total=total, guests=guests, eligible=eligible),
        "results_visible": visible,
        # Moderators see what the public sees (for_moderators).
        "officials_only": visible and not results_visible(poll, official=False),
        "choices": [
            {"id": r["id"], "labels": labels.get(r["id"]), "votes": r["votes"] if visible else None}
            for r in counts["choices"]
        ],
        "timeline": timeline,
        "districts": districts,
    }


# --- Initiatives ------------------------------------------------------------------------------


def _thresholds():
    """support_threshold() for every category, from one query."""
    own = dict(CategoryThreshold.objects.values_list("category", "threshold"))
    default = settings.INITIATIVE_SUPPORT_THRESHOLD
    return lambda category: own.get(category, default)


def _item(i: Initiative, threshold, now) -> dict:
    since = i.status_changed_at or i.created_at
    return {
        "id": i.pk,
        "title": i.title,
        "summary": Truncator(i.summary).chars(SUMMARY_CHARS),
        "community": i.community.name,
        # Every language's version (civic/content.py): each reader's page picks its own.
        "titles": content_versions(i, "title"),
        "summaries": {
            lang: Truncator(text).chars(SUMMARY_CHARS)
            for lang, text in content_versions(i, "summary").items()
        },
        "communities": content_versions(i.community, "name"),
        "status": i.status,
        "supports_count": i.supports_count,
        "threshold": threshold(i.category),
        "threshold_reached": i.threshold_reached_at is not None,
        "waiting_since": since.isoformat(),
        "waiting_minutes": int((now - since).total_seconds() // 60),
    }


def new_submissions():
    """Submitted, not yet under review, not yet at their threshold (those that are wait in
    the review queue): newest first, so an official sees what just came in."""
    return (
        Initiative.objects.filter(
            status=Initiative.Status.SUBMITTED, threshold_reached_at__isnull=True
        )
        .select_related("community")
        .order_by("-submitted_at", "-pk")
    )


def pipeline_summary(*, now=None) -> dict:
    now = now or timezone.now()
    by_status = dict(Initiative.objects.values_list("status").annotate(n=Count("pk")))
    threshold = _thresholds()
    fresh = new_submissions()
    return {
        "counts": {status: by_status.get(status, 0) for status in Initiative.Status.values},
        "queue": [_item(i, threshold, now) for i in review_queue()[:QUEUE_LIMIT]],
        "queue_total": review_queue().count(),
        "new": [_item(i, threshold, now) for i in fresh[:NEW_LIMIT]],
        "new_total": fresh.count(),
    }


# --- Dialogue ---------------------------------------------------------------------------------


def threads_waiting_for_an_answer():
    """Visible threads where someone wrote and no official has answered yet: no comment
    marked as the answer, no comment written as an official."""
    visible = Comment.objects.filter(
        thread=OuterRef("pk"), hidden_at__isnull=True, deleted_at__isnull=True
    )
    return Thread.objects.filter(
        Exists(visible), ~Exists(visible.filter(is_official=True)), hidden_at__isnull=True,
        answer__isnull=True,
    )  # fmt: skip


def dialogue_summary(*, now=None) -> dict:
    """Questions of live sessions that wait for an answer (or for a moderator), threads that
    wait for an official answer, and flags no moderator has resolved yet."""
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
            {
                "id": s.pk,
                "title": content_versions(s, "title"),  # every language: localize() picks
                "waiting": s.waiting,
                "pending": s.pending,
            }
            for s in live.order_by("ends_at")
        ],
        "threads_waiting": threads_waiting_for_an_answer().count(),
        "open_flags": Flag.objects.filter(resolved_at__isnull=True).count(),
    }


# --- Budget rounds ----------------------------------------------------------------------------


def round_summaries(*, eligible_counts: dict | None = None, register_counts=_UNSET) -> list[dict]:
    """Open People's Budget rounds: ballots cast and turnout (never who voted, never what;
    per-project counts stay on the round's own page, under its visibility rule). The
    turnout's denominator is the polls' one: the register's residents for a residents'
    round while a register is loaded, else the accounts with a verified e-mail."""
    from budgets.models import BudgetRound
    from budgets.selectors import ballots_count

    rounds = BudgetRound.objects.filter(status=BudgetRound.Status.OPEN).order_by("closes_at", "pk")
    if register_counts is _UNSET:
        register_counts = register_residents_counts()
    summaries = []
    for r in rounds:
        ballots = ballots_count(r)
        eligible = eligible_from_register(r, register_counts)
        source = SOURCE_REGISTER
        if eligible is None:
            source = SOURCE_ACCOUNTS
            counts = eligible_counts if eligible_counts is not None else eligible_by_district()
            eligible = counts.get(r.district_id or "all", 0)
        summaries.append(
            {
                "id": r.pk,
                "title": _names(r, "title"),
                "status": r.status,
                "secret_ballot": r.secret_ballot,
                "closes_at": r.closes_at.isoformat() if r.closes_at else None,
                "total_budget": r.total_budget,
                "ballots": ballots,
                "eligible": eligible,
                "eligible_source": source,
                "turnout_pct": min(100.0, round(100 * ballots / eligible, 1)) if eligible else None,
            }
        )
    return summaries


# --- The whole payload ------------------------------------------------------------------------


def dashboard_payload(*, now=None) -> dict:
    """The one computation: language-neutral, for officials (see for_moderators)."""
    now = now or timezone.now()
    polls = list(
        Poll.objects.filter(status=Poll.Status.OPEN)
        .prefetch_related("choices")
        .order_by("closes_at", "pk")
    )
    eligible = eligible_by_district(cached=True)
    register = register_residents_counts()  # cached per import: counted once per register
    guests = guests_by_poll(p.pk for p in polls)
    return {
        "generated_at": now.isoformat(),
        "polls": [
            poll_summary(
                p,
                now=now,
                eligible_counts=eligible,
                guests=guests.get(p.pk, 0),
                fast=True,
                register_counts=register,
            )
            for p in polls
        ],
        "rounds": round_summaries(eligible_counts=eligible, register_counts=register),
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


def localize(payload: dict, lang: str) -> dict:
    """What a socket receives: names in its page's language only, the timeline and the
    districts as plain lists (the page knows the minutes' spacing and the districts' names)."""

    def poll(p: dict) -> dict:
        timeline = p["timeline"]
        return {
            **p,
            "title": choose(p["title"], lang).text,
            "title_lang": choose(p["title"], lang).lang,
            "choices": [
                {"id": c["id"], "label": pick(c["labels"], lang), "votes": c["votes"]}
                for c in p["choices"]
            ],
            "timeline": {
                "start": timeline[0]["minute"] if timeline else None,
                "votes": [m["votes"] for m in timeline],
            },
            "districts": None
            if p["districts"] is None
            else [[d["district"], d["votes"]] for d in p["districts"]],
        }

    return {
        **payload,
        "lang": lang,
        "polls": [poll(p) for p in payload["polls"]],
        "rounds": [
            {**r, "title": choose(r["title"], lang).text, "title_lang": choose(r["title"], lang).lang}
            for r in payload.get("rounds", [])
        ],
        "dialogue": {
            **payload["dialogue"],
            "sessions": [
                {**s, "title": choose(s["title"], lang).text, "title_lang": choose(s["title"], lang).lang}
                for s in payload["dialogue"]["sessions"]
            ],
        }
        if payload.get("dialogue")
        else payload.get("dialogue"),
    }


def audience_of(user) -> str:
    from accounts.permissions import is_official

    return OFFICIALS if is_official(user) else MODERATORS


def dashboard_for(user, *, now=None) -> dict:
    """A fresh computation for `user`'s audience (language-neutral); no cache."""
    payload = dashboard_payload(now=now)
    return payload if audience_of(user) == OFFICIALS else for_moderators(payload)


def dashboard_group(audience: str, lang: str) -> str:
    """One channel group per audience and language: every socket in it gets the same text."""
    return f"{AUDIENCE_GROUPS[audience]}.{lang}"



# --- The shared cache of the last payloads -----------------------------------------------------


def _key(audience: str, lang: str) -> str:
    return f"dashboard:payload:{audience}:{lang}"


_LOCK = "dashboard:computing"
_LATEST = "dashboard:payload:seq"


def _compute_and_store(seq: int | None = None) -> dict[tuple[str, str], dict]:
    """Compute once, keep every audience's and language's payload in the cache."""
    seq = seq or now_seq()  # taken before the queries: any later computation is newer
    neutral = dashboard_payload()
    entries = {}
    for audience, payload in ((OFFICIALS, neutral), (MODERATORS, for_moderators(neutral))):
        for lang in LANGUAGES:
            entries[(audience, lang)] = {"seq": seq, "payload": localize(payload, lang)}
    # A slower computation that started earlier must not replace a newer one.
    latest = cache.get(_LATEST)
    if latest is None or latest <= seq:
        cache.set_many(
            {_key(*k): v for k, v in entries.items()} | {_LATEST: seq}, PAYLOAD_KEEP_SECONDS
        )
    return entries


def _fresh(entry: dict | None) -> bool:
    return entry is not None and now_seq() - entry["seq"] < settings.REALTIME_TICK_MS


def dashboard_snapshot(*, audience: str, lang: str) -> tuple[int, dict]:
    """(seq, payload) of the last computation if it is younger than a tick, else a new one.

    Never waits: while another process (or thread) computes, this serves the last payload
    kept (at most PAYLOAD_KEEP_SECONDS old; the sockets get the newer one with the next push
    or resync), and computes itself only when there is none. A request thread (one of a
    few) is never held up by someone else's computation.
    """
    lang = page_language(lang)
    entry = cache.get(_key(audience, lang))
    if _fresh(entry):
        return entry["seq"], entry["payload"]
    if not cache.add(_LOCK, 1, COMPUTING_LOCK_SECONDS):
        if entry is None:
            entry = _compute_and_store()[(audience, lang)]
        return entry["seq"], entry["payload"]
    try:
        entry = _compute_and_store()[(audience, lang)]
    finally:
        cache.delete(_LOCK)
    return entry["seq"], entry["payload"]


def compute_dashboard_push(item_id: int, seq: int) -> list[tuple[str, dict]]:
    """One computation per tick for every dashboard in every process: one message per
    audience and language, kept in the cache for the snapshots of the same tick."""
    locked = cache.add(_LOCK, 1, COMPUTING_LOCK_SECONDS)
    try:
        entries = _compute_and_store(seq)
    finally:
        if locked:
            cache.delete(_LOCK)
    return [
        (
            dashboard_group(audience, lang),
            envelope(EVENT_DASHBOARD_UPDATE, seq=entry["seq"], payload=entry["payload"]),
        )
        for (audience, lang), entry in entries.items()
    ]
