"""Every state change of polls: create, schedule, open, close, vote, event codes, tallies.

Views, the API, consumers, Celery tasks and commands all call these functions.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from audit.services import audit_record
from civic.content import LANGS, LANGUAGE_LABELS, original_language_among
from civic.db import bigint_array, prepared_cursor
from civic.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from civic.ratelimit import rate_limit_check, rate_limit_count
from civic.realtime import TOPIC_POLL_RESULTS, mark_dirty_on_commit
from civic.validation import clean_datetime, clean_text, parse_id
from residents.eligibility import eligibility_clean

from .models import (
    Ballot,
    BallotChoice,
    BallotTally,
    Choice,
    ChoiceTally,
    EventCode,
    IdempotencyRecord,
    Participation,
    PendingTally,
    Poll,
)
from .permissions import require_ballot_mode, require_can_manage, require_can_vote

logger = logging.getLogger(__name__)

RESULTS_TOPIC = TOPIC_POLL_RESULTS
TITLE_MAX = 200
DESCRIPTION_MAX = 4000
MAX_CHOICES_PER_POLL = 30
MAX_CODES_PER_BATCH = 2000
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off paper
CODE_LENGTH = 10  # 32**10 = 2**50 possibilities
IDEMPOTENCY_KEY_MAX = 128


class PollNotOpen(Forbidden):
    default_message = _("This poll is not open for voting.")


class AlreadyVoted(Conflict):
    default_message = _("You have already voted in this poll.")


# --- Validation helpers -----------------------------------------------------------------------


@dataclass
class ChoiceInput:
    label_kk: str = ""
    label_ru: str = ""
    label_en: str = ""
    initiative_id: int | None = None


@dataclass
class PollInput:
    # Texts in three languages (civic/content.py): the original language's title and choice
    # labels are required, the other languages' are optional translations.
    title_kk: str = ""
    title_ru: str = ""
    title_en: str = ""
    choices: list[ChoiceInput] = field(default_factory=list)
    original_language: str = ""
    description_kk: str = ""
    description_ru: str = ""
    description_en: str = ""
    kind: str = Poll.Kind.SINGLE
    max_choices: int = 1
    district_id: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    results_visibility: str = Poll.Visibility.LIVE
    allow_vote_change: bool = False
    secret_ballot: bool = False
    ballot_mode: str = Poll.BallotMode.ACCOUNTS
    # None: verified residents of the district if one is given, else of the city.
    eligibility: str | None = None
    extra: dict = field(default_factory=dict)


def _clean_initiative(initiative_id) -> int | None:
    """A choice may name a public initiative (not a draft)."""
    if initiative_id in (None, ""):
        return None
    from communities.models import Initiative

    try:
        initiative_id = int(initiative_id)
    except (TypeError, ValueError):
        raise InvalidInput(_("Unknown initiative.")) from None
    if not (
        Initiative.objects.filter(pk=initiative_id).exclude(status=Initiative.Status.DRAFT).exists()
    ):
        raise InvalidInput(_("Unknown initiative."))
    return initiative_id


def _validate_poll_input(data: PollInput) -> dict:
    original = original_language_among(data.original_language, data, "title")
    fields = {"original_language": original}
    for lang in LANGS:
        fields[f"title_{lang}"] = clean_text(
            getattr(data, f"title_{lang}"),
            name=_("Title") + f" ({LANGUAGE_LABELS[lang]})",
            max_length=TITLE_MAX,
            required=lang == original,
            multiline=False,
        )
        fields[f"description_{lang}"] = clean_text(
            getattr(data, f"description_{lang}"),
            name=_("Description") + f" ({LANGUAGE_LABELS[lang]})",
            max_length=DESCRIPTION_MAX,
            required=False,
        )
    if data.kind not in Poll.Kind.values:
        raise InvalidInput(_("Unknown poll kind."))
    if data.results_visibility not in Poll.Visibility.values:
        raise InvalidInput(_("Unknown results visibility."))
    if data.ballot_mode not in Poll.BallotMode.values:
        raise InvalidInput(_("Say who votes: accounts, ballot codes, or both."))
    eligibility, district_id = eligibility_clean(
        data.eligibility,
        data.district_id,
        district_required_message=_("A poll for the residents of a district needs the district."),
        district_only_message=_(
            "A poll with a district is for the verified residents of that district."
        ),
    )
    choices = data.choices or []
    if len(choices) < 2:
        raise InvalidInput(_("A poll needs at least two choices."))
    if len(choices) > MAX_CHOICES_PER_POLL:
        raise InvalidInput(
            ngettext_lazy(
                "A poll can have at most %(n)d choice.",
                "A poll can have at most %(n)d choices.",
                "n",
            )
            % {"n": MAX_CHOICES_PER_POLL}
        )
    max_choices = 1 if data.kind == Poll.Kind.SINGLE else int(data.max_choices or 0)
    if not 1 <= max_choices <= len(choices):
        raise InvalidInput(_("“At most” must be between 1 and the number of choices."))
    opens_at = clean_datetime(data.opens_at, name=_("Opens at"), required=False)
    closes_at = clean_datetime(data.closes_at, name=_("Closes at"), required=False)
    if opens_at and closes_at and closes_at <= opens_at:
        raise InvalidInput(_("The poll must close after it opens."))
    if data.secret_ballot and data.allow_vote_change:
        raise InvalidInput(_("A secret ballot cannot be changed after it is cast."))
    cleaned_choices = [
        {
            **{
                f"label_{lang}": clean_text(
                    getattr(c, f"label_{lang}"),
                    name=_("Choice") + f" ({LANGUAGE_LABELS[lang]})",
                    max_length=TITLE_MAX,
                    required=lang == original,
                    multiline=False,
                )
                for lang in LANGS
            },
            "initiative_id": _clean_initiative(c.initiative_id),
        }
        for c in choices
    ]
    fields.update(
        kind=data.kind,
        max_choices=max_choices,
        district_id=district_id,
        eligibility=eligibility,
        opens_at=opens_at,
        closes_at=closes_at,
        results_visibility=data.results_visibility,
        allow_vote_change=bool(data.allow_vote_change),
        secret_ballot=bool(data.secret_ballot),
        ballot_mode=data.ballot_mode,
    )
    return {"fields": fields, "choices": cleaned_choices}


def _create_tally_shards(poll: Poll) -> None:
    """The poll's counter rows (shard 0: only tallies_fold writes them)."""
    BallotTally.objects.bulk_create([BallotTally(poll=poll, shard=0)], ignore_conflicts=True)
    ChoiceTally.objects.bulk_create(
        [ChoiceTally(poll=poll, choice=c, shard=0) for c in poll.choices.all()],
        ignore_conflicts=True,
    )


# --- Lifecycle --------------------------------------------------------------------------------


def poll_create(*, actor, data: PollInput) -> Poll:
    """An official drafts a poll with its choices."""
    require_can_manage(actor)
    cleaned = _validate_poll_input(data)
    with transaction.atomic():
        poll = Poll.objects.create(created_by=actor, status=Poll.Status.DRAFT, **cleaned["fields"])
        Choice.objects.bulk_create(
            [Choice(poll=poll, position=i, **c) for i, c in enumerate(cleaned["choices"])]
        )
        _create_tally_shards(poll)
    logger.info("poll %s created by user %s", poll.pk, actor.pk)
    return poll


def _get_for_update(poll_id: int) -> Poll:
    try:
        return Poll.objects.select_for_update().get(pk=poll_id)
    except (Poll.DoesNotExist, ValueError, OverflowError):
        raise NotFound(_("No such poll.")) from None


class PollNotDraft(Conflict):
    default_message = _(
        "Once a poll has left draft, its rules and choices can no longer be changed."
    )


def poll_update(*, actor, poll_id: int, data: PollInput) -> Poll:
    """An official changes a draft: its texts, rules and choices (the choices are replaced).

    Past draft nothing of this may change: votes are being (or were) counted by these rules,
    and every process keeps them in memory (_poll_meta).
    """
    require_can_manage(actor)
    cleaned = _validate_poll_input(data)
    with transaction.atomic():
        poll = _get_for_update(poll_id)
        if poll.status != Poll.Status.DRAFT:
            raise PollNotDraft(code="poll_not_draft")
        for name, value in cleaned["fields"].items():
            setattr(poll, name, value)
        poll.save(update_fields=list(cleaned["fields"]))
        # A draft has no ballots: its choices (and their counter rows) can simply be replaced.
        poll.choices.all().delete()
        Choice.objects.bulk_create(
            [Choice(poll=poll, position=i, **c) for i, c in enumerate(cleaned["choices"])]
        )
        _create_tally_shards(poll)
        audit_record(actor=actor, action="poll.update", target=poll)
    logger.info("poll %s changed by user %s", poll.pk, actor.pk)
    return poll


def poll_delete(*, actor, poll_id: int) -> None:
    """An official deletes a draft. A poll that has opened keeps its ballots: close it."""
    require_can_manage(actor)
    with transaction.atomic():
        poll = _get_for_update(poll_id)
        if poll.status != Poll.Status.DRAFT:
            raise PollNotDraft(_("Only a draft can be deleted."), code="poll_not_draft")
        audit_record(actor=actor, action="poll.delete", target=poll)
        poll.delete()
    logger.info("poll %s deleted by user %s", poll_id, actor.pk)


def poll_schedule(*, actor, poll_id: int) -> Poll:
    """Draft → scheduled: it opens by itself at opens_at (Celery beat)."""
    require_can_manage(actor)
    with transaction.atomic():
        poll = _get_for_update(poll_id)
        if poll.status != Poll.Status.DRAFT:
            raise Conflict(_("Only a draft can be scheduled."))
        if not poll.opens_at or not poll.closes_at:
            raise InvalidInput(_("Set when the poll opens and closes first."))
        if poll.closes_at <= timezone.now():
            raise InvalidInput(_("The closing time has already passed."))
        poll.status = Poll.Status.SCHEDULED
        poll.save(update_fields=["status"])
    return poll


def poll_open(*, actor, poll_id: int) -> Poll:
    """Draft or scheduled → open, now. `actor` None is the scheduler."""
    if actor is not None:
        require_can_manage(actor)
    now = timezone.now()
    with transaction.atomic():
        poll = _get_for_update(poll_id)
        if poll.status not in (Poll.Status.DRAFT, Poll.Status.SCHEDULED):
            raise Conflict(_("Only a draft or scheduled poll can be opened."))
        if poll.closes_at is None or poll.closes_at <= now:
            raise InvalidInput(_("Set a closing time in the future first."))
        poll.status = Poll.Status.OPEN
        poll.opened_at = now
        if poll.opens_at is None or poll.opens_at > now:
            poll.opens_at = now
        poll.save(update_fields=["status", "opened_at", "opens_at"])
        _create_tally_shards(poll)
        audit_record(actor=actor, action="poll.open", target=poll)
        mark_dirty_on_commit(RESULTS_TOPIC, poll.pk)
    logger.info("poll %s opened by %s", poll.pk, f"user {actor.pk}" if actor else "the scheduler")
    return poll


def _count_from_ballots(poll: Poll) -> dict:
    """The exact result, from the ballot rows (the truth), not the counters."""
    per_choice = dict(
        BallotChoice.objects.filter(poll=poll).values_list("choice").annotate(n=Count("id"))
    )
    total = Ballot.objects.filter(poll=poll).count()
    return {
        "total_votes": total,
        "choices": [{"id": c.pk, "votes": per_choice.get(c.pk, 0)} for c in poll.choices.all()],
    }


def poll_close(*, actor, poll_id: int) -> Poll:
    """Open → closed. Waits for the votes in flight (they hold the gate shared), then freezes
    the exact final result; votes that come after see the poll closed. `actor` None is the
    scheduler."""
    if actor is not None:
        require_can_manage(actor)
    with transaction.atomic():
        _gate(poll_id, exclusive=True)
        poll = _get_for_update(poll_id)
        if poll.status != Poll.Status.OPEN:
            raise Conflict(_("Only an open poll can be closed."))
        now = timezone.now()
        poll.status = Poll.Status.CLOSED
        poll.closed_at = now
        if poll.closes_at > now:
            poll.closes_at = now
        poll.final_result = _count_from_ballots(poll)
        poll.save(update_fields=["status", "closed_at", "closes_at", "final_result"])
        # No vote can come now: the counters take the last pending +1s.
        tallies_fold(poll_ids=[poll.pk], wait=True)
        audit_record(
            actor=actor,
            action="poll.close",
            target=poll,
            data={"total_votes": poll.final_result["total_votes"]},
        )
        mark_dirty_on_commit(RESULTS_TOPIC, poll.pk)
    logger.info("poll %s closed with %s ballots", poll.pk, poll.final_result["total_votes"])
    return poll


def polls_advance_schedule() -> dict:
    """Open scheduled polls whose time has come and close open polls whose time is up.

    Safe to run twice or concurrently: each poll is changed under its row lock.
    """
    now = timezone.now()
    opened = closed = 0
    for poll_id in Poll.objects.filter(status=Poll.Status.SCHEDULED, opens_at__lte=now).values_list(
        "pk", flat=True
    ):
        try:
            poll_open(actor=None, poll_id=poll_id)
            opened += 1
        except (Conflict, InvalidInput) as exc:
            logger.info("poll %s not opened: %s", poll_id, exc)
    for poll_id in Poll.objects.filter(status=Poll.Status.OPEN, closes_at__lte=now).values_list(
        "pk", flat=True
    ):
        try:
            poll_close(actor=None, poll_id=poll_id)
            closed += 1
        except Conflict as exc:
            logger.info("poll %s not closed: %s", poll_id, exc)
    return {"opened": opened, "closed": closed}


# --- Voting -----------------------------------------------------------------------------------


@dataclass
class VoteResult:
    poll_id: int
    choices: list[int] | None  # None for a secret ballot: the answer does not repeat it
    changed: bool = False
    replayed: bool = False

    def as_json(self) -> dict:
        return {
            "poll": self.poll_id,
            "status": "changed" if self.changed else "recorded",
            "choices": self.choices,
            "secret": self.choices is None,
        }


def _parse_choice_ids(choice_ids) -> list[int]:
    if not isinstance(choice_ids, list | tuple) or not choice_ids:
        raise InvalidInput(_("Choose at least one option."), code="no_choice")
    parsed = []
    for raw in choice_ids:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise InvalidInput(_("A choice is given by its number."), code="bad_choice")
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInput(_("A choice is given by its number."), code="bad_choice") from None
        if not 0 < value < 2**63:
            raise InvalidInput(_("This choice does not belong to the poll."), code="foreign_choice")
        parsed.append(value)
    if len(set(parsed)) != len(parsed):
        raise InvalidInput(_("The same choice was given twice."), code="duplicate_choice")
    return parsed


# Namespace of the advisory locks that gate voting against closing (first key of two).
POLL_GATE_LOCK = 7301


def _gate(poll_id: int, *, exclusive: bool) -> None:
    """Votes take the poll's gate shared, closing takes it exclusively (PostgreSQL).

    PostgreSQL's lock manager queues fairly: once a close is waiting, new votes wait behind
    it, so a close is never starved by a stream of votes, and it starts only after every
    vote in flight has committed. (Row locks would not do: new FOR SHARE lockers pass a
    waiting FOR UPDATE.) SQLite runs one writer at a time, so it needs no gate.
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [POLL_GATE_LOCK, _gate_key(poll_id)])


def _gate_key(poll_id) -> int:
    # The second key is a 32-bit integer: ids are folded into it (two polls 2**31 apart
    # would share a gate, which only makes one wait for the other), and an id no poll can
    # have is not found before it reaches the lock.
    return parse_id(poll_id, message=_("No such poll.")) % 2**31


def _lock_open_poll(poll_id: int) -> bool:
    """Take the gate shared and tell whether the poll is open now, by the database's clock."""
    _gate(poll_id, exclusive=False)
    return Poll.objects.filter(pk=poll_id, status=Poll.Status.OPEN, closes_at__gt=Now()).exists()


def _not_open_error(poll_id: int) -> PollNotOpen:
    poll = Poll.objects.only("status", "closes_at").get(pk=poll_id)
    if poll.status == Poll.Status.OPEN or poll.status == Poll.Status.CLOSED:
        return PollNotOpen(_("This poll is closed."), code="poll_closed")
    if poll.status == Poll.Status.SCHEDULED:
        return PollNotOpen(_("This poll has not opened yet."), code="poll_not_open")
    return PollNotOpen(_("This poll is not open for voting."), code="poll_not_open")


# Namespace of the advisory lock that lets one process at a time fold the pending tallies.
TALLY_FOLD_LOCK = 7303


def tallies_fold(*, poll_ids: list[int] | None = None, wait: bool = False) -> list[int] | None:
    """Add the pending +1s (PendingTally) of every poll, or of `poll_ids`, to the counters and
    delete them, in one transaction: the counters plus the pending rows stay the same sum, so
    live totals never go backwards. Returns the polls whose counters moved; None when another
    process is folding right now (it takes these rows too) unless `wait`.

    Called every tick while a poll's results are watched (polls.apps), by the beat task
    polls.fold_tallies, at close and by verify_tallies."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return _fold_orm(poll_ids)
    lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT {lock}(%s)", [TALLY_FOLD_LOCK])
        if not wait and not cursor.fetchone()[0]:
            return None
        # A CHECK refuses a negative row before ON CONFLICT would add it to one, so a net -1
        # (a changed vote) is an UPDATE; a counter row missing (a choice added behind the
        # services' back) is created by the +1s.
        cursor.execute(
            """
            WITH taken AS (
                DELETE FROM polls_pendingtally
                WHERE %(all)s OR poll_id = ANY(%(polls)s::bigint[])
                RETURNING poll_id, choice_id, delta
            ), sums AS (
                SELECT poll_id, choice_id, sum(delta)::bigint AS n
                FROM taken GROUP BY poll_id, choice_id
            ), up AS (
                INSERT INTO polls_choicetally (poll_id, choice_id, shard, votes)
                SELECT poll_id, choice_id, 0, n FROM sums WHERE choice_id IS NOT NULL AND n > 0
                ON CONFLICT (choice_id, shard)
                DO UPDATE SET votes = polls_choicetally.votes + EXCLUDED.votes
            ), down AS (
                UPDATE polls_choicetally t SET votes = t.votes + s.n FROM sums s
                WHERE s.choice_id IS NOT NULL AND s.n < 0 AND t.choice_id = s.choice_id
                  AND t.shard = 0
            ), ballots AS (
                INSERT INTO polls_ballottally (poll_id, shard, ballots)
                SELECT poll_id, 0, n FROM sums WHERE choice_id IS NULL AND n > 0
                ON CONFLICT (poll_id, shard)
                DO UPDATE SET ballots = polls_ballottally.ballots + EXCLUDED.ballots
            )
            SELECT DISTINCT poll_id FROM sums ORDER BY poll_id
            """,
            {"all": poll_ids is None, "polls": list(poll_ids or [])},
        )
        return [row[0] for row in cursor.fetchall()]


def _fold_orm(poll_ids: list[int] | None) -> list[int]:
    """tallies_fold for SQLite (one writer at a time), inside the caller's transaction."""
    from django.db.models import Max, Sum

    pending = PendingTally.objects.all()
    if poll_ids is not None:
        pending = pending.filter(poll_id__in=poll_ids)
    last = pending.aggregate(last=Max("id"))["last"]
    if last is None:
        return []
    pending = pending.filter(id__lte=last)
    moved = set()
    for poll_id, choice_id, n in pending.values_list("poll_id", "choice_id").annotate(
        n=Sum("delta")
    ):
        moved.add(poll_id)
        if not n:
            continue
        if choice_id is None:
            counter, _ = BallotTally.objects.get_or_create(poll_id=poll_id, shard=0)
            BallotTally.objects.filter(pk=counter.pk).update(ballots=F("ballots") + n)
        else:
            counter, _ = ChoiceTally.objects.get_or_create(
                poll_id=poll_id, choice_id=choice_id, shard=0
            )
            ChoiceTally.objects.filter(pk=counter.pk).update(votes=F("votes") + n)
    pending.delete()
    return sorted(moved)


class CodeNotValid(Forbidden):
    default_message = _("This ballot code is not valid.")


CODE_FAILURES_SCOPE = "ballot_code_failures"


def _code_failures_key(poll: PollMeta, client_address: str | None) -> str:
    return f"{poll.pk}:{client_address or 'unknown'}"


def _find_code(poll: PollMeta, code: str, *, client_address: str | None) -> EventCode:
    """This poll's usable code. Failed codes are counted per address and poll: past the limit,
    every code from there is refused for a while (429), valid or not, so guessing gains
    nothing. A code of another poll is looked up exactly as a code that does not exist (one
    query on code and poll) and gets the same answer."""
    failures_key = _code_failures_key(poll, client_address)
    window = settings.BALLOT_CODE_FAILURES_WINDOW
    rate_limit_check(
        scope=CODE_FAILURES_SCOPE,
        key=failures_key,
        limit=settings.RATE_LIMITS["ballot_code_failures"],
        window=window,
        message=_("Too many wrong ballot codes from your network. Please wait and try again."),
    )
    normalized = "".join(ch for ch in str(code).upper() if ch.isalnum())
    if not normalized or len(normalized) > 16:
        raise InvalidInput(_("This ballot code is not valid."), code="bad_code")
    found = _code_state(poll.pk, normalized)
    if found is None or found[1] or found[2]:
        rate_limit_count(scope=CODE_FAILURES_SCOPE, key=failures_key, window=window)
    if found is None:
        raise CodeNotValid(code="bad_code")
    code_id, used, revoked = found
    if revoked:
        raise Forbidden(_("This ballot code was revoked."), code="code_revoked")
    if used:
        raise AlreadyVoted(_("This ballot code has already been used."), code="code_used")
    # Its other fields load when asked for (_code_taken_error refreshes it).
    return EventCode.from_db("default", ["id", "poll_id", "code"], [code_id, poll.pk, normalized])


def _code_state(poll_id: int, code: str) -> tuple[int, bool, bool] | None:
    """(id, used, revoked) of the poll's code, in one prepared statement (through the ORM,
    building the query cost a third of a ballot-code vote's CPU)."""
    table = EventCode._meta.db_table
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT id, used_at IS NOT NULL, revoked_at IS NOT NULL FROM {table}"  # noqa: S608
            " WHERE code = %s AND poll_id = %s",
            [code, poll_id],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], bool(row[1]), bool(row[2]))


def _replay(scope: str, key: str | None, poll_id: int) -> VoteResult | None:
    if not key:
        return None
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if record is None:
        return None
    if record.poll_id != poll_id:
        raise Conflict(
            _("This Idempotency-Key was used for another request."), code="idempotency_mismatch"
        )
    data = record.response
    return VoteResult(
        poll_id=poll_id, choices=data["choices"], changed=data["status"] == "changed", replayed=True
    )


@dataclass(frozen=True)
class PollMeta:
    """What the vote path needs of a poll that has left draft: it no longer changes."""

    pk: int
    district_id: int | None
    eligibility: str
    max_choices: int
    secret_ballot: bool
    allow_vote_change: bool
    ballot_mode: str
    choice_ids: frozenset[int]


_meta_cache: dict[int, PollMeta] = {}
_META_CACHE_MAX = 1000


def _poll_meta(poll_id) -> PollMeta:
    """The poll's fixed settings, from this process's memory after the first vote.

    Only polls past draft are cached: their choices and rules cannot be edited any more.
    Whether the poll is open is never taken from here: the vote transaction reads it.
    """
    try:
        poll_id = int(poll_id)
    except (ValueError, TypeError, OverflowError):
        raise NotFound(_("No such poll.")) from None
    meta = _meta_cache.get(poll_id)
    if meta is not None:
        return meta
    poll = (
        Poll.objects.filter(pk=poll_id).exclude(status=Poll.Status.DRAFT).first()
        if 0 < poll_id < 2**63
        else None
    )
    if poll is None:
        raise NotFound(_("No such poll."))
    meta = PollMeta(
        pk=poll.pk,
        district_id=poll.district_id,
        eligibility=poll.eligibility,
        max_choices=poll.max_choices,
        secret_ballot=poll.secret_ballot,
        allow_vote_change=poll.allow_vote_change,
        ballot_mode=poll.ballot_mode,
        choice_ids=frozenset(poll.choices.values_list("pk", flat=True)),
    )
    if len(_meta_cache) >= _META_CACHE_MAX:
        _meta_cache.clear()
    _meta_cache[poll_id] = meta
    return meta


def vote_cast(
    *,
    poll_id: int,
    choice_ids,
    user=None,
    code: str | None = None,
    idempotency_key: str | None = None,
    client_address: str | None = None,
) -> VoteResult:
    """Cast (or, where the poll allows, change) one ballot: by a citizen, or with a ballot code.

    One person, one ballot: a code used while signed in is that account's ballot, so an
    account that has voted cannot add a code's ballot, nor the other way round (the database's
    unique constraints decide, race-safe). Failed codes are throttled per `client_address`
    and poll. The ballot row is the truth; the counters move in the same transaction. Nothing
    is pushed before commit, and nothing on this path goes through Celery.
    """
    poll = _poll_meta(poll_id)
    if idempotency_key is not None:
        idempotency_key = str(idempotency_key).strip()
        if (
            not idempotency_key
            or len(idempotency_key) > IDEMPOTENCY_KEY_MAX
            or "\x00" in idempotency_key
        ):
            raise InvalidInput(
                _("The Idempotency-Key header is not valid."), code="bad_idempotency_key"
            )
    signed_in = user is not None and user.is_authenticated
    if code is not None and not str(code).strip():
        code = None

    if code is None:
        if not signed_in:
            if poll.ballot_mode == Poll.BallotMode.CODES:
                raise NotAuthenticated(_("Enter the ballot code from your card."))
            if poll.ballot_mode == Poll.BallotMode.ACCOUNTS:
                raise NotAuthenticated(_("Sign in to vote."))
            raise NotAuthenticated(_("Sign in to vote, or use a ballot code."))
        require_ballot_mode(poll, with_code=False)
        require_can_vote(user, poll)
        scope = f"user:{user.pk}"
        replay = _replay(scope, idempotency_key, poll.pk)
        if replay:
            return replay
    else:
        require_ballot_mode(poll, with_code=True)

    wanted = _parse_choice_ids(choice_ids)
    if len(wanted) > poll.max_choices:
        raise InvalidInput(
            ngettext_lazy("Choose at most %(n)d option.", "Choose at most %(n)d options.", "n")
            % {"n": poll.max_choices},
            code="too_many_choices",
        )
    if not set(wanted) <= poll.choice_ids:
        raise InvalidInput(_("This choice does not belong to the poll."), code="foreign_choice")

    if code is not None:
        event_code = _find_code(poll, code, client_address=client_address)
        scope = f"code:{event_code.pk}"
        replay = _replay(scope, idempotency_key, poll.pk)
        if replay:
            return replay

    voter = user if signed_in else None
    try:
        if connection.vendor == "postgresql" and not (poll.allow_vote_change and code is None):
            result = _cast_in_one_statement(
                poll,
                wanted,
                voter=voter,
                event_code=event_code if code is not None else None,
                scope=scope,
                idempotency_key=idempotency_key,
            )
        else:
            with transaction.atomic():
                if not _lock_open_poll(poll.pk):
                    raise _not_open_error(poll.pk)
                if code is not None:
                    result = _cast_with_code(poll, event_code, wanted, voter=voter)
                elif poll.secret_ballot:
                    result = _cast_secret(poll, user, wanted)
                else:
                    result = _cast_open(poll, user, wanted)
                if idempotency_key:
                    IdempotencyRecord.objects.create(
                        scope=scope, key=idempotency_key, poll_id=poll.pk, response=result.as_json()
                    )
                if connection.vendor != "postgresql":
                    # SQLite has one writer at a time: the counters move with the vote.
                    _fold_orm([poll.pk])
        # After the commit (at once, or when a caller's transaction commits).
        mark_dirty_on_commit(RESULTS_TOPIC, poll.pk)
    except (IntegrityError, AlreadyVoted) as exc:
        # A concurrent request of the same voter won the race; if it carried the same
        # Idempotency-Key, its answer is this request's answer too.
        replay = _replay(scope, idempotency_key, poll.pk)
        if replay:
            return replay
        if isinstance(exc, AlreadyVoted):
            raise
        raise AlreadyVoted() from None
    return result


def _secret_selection_ids(wanted: list[int]) -> list[int]:
    # Sequential selection ids would put secret ballots in the order people voted, which the
    # participation rows (who, when) also show: a secret ballot's selections get random ids.
    return [secrets.randbelow(2**63 - 2**40) + 2**40 for _ in wanted]


def _cast_in_one_statement(
    poll: PollMeta, wanted: list[int], *, voter, event_code, scope: str, idempotency_key
) -> VoteResult:
    """PostgreSQL: the vote in one statement, birge_cast_ballot() (migration 0007), so one
    round trip; outside a caller's transaction it is committed, durably, when it returns. The
    poll's gate, its open check by the database's clock, the code's claim, the ballot, its
    selections, its pending +1s and the Idempotency-Key record: all of it, or nothing.
    A second ballot of the voter or the code fails a unique constraint (IntegrityError)."""
    secret = poll.secret_ballot
    result = VoteResult(poll_id=poll.pk, choices=None if secret else wanted)
    code_id = event_code.pk if event_code is not None else None
    voter_id = voter.pk if voter is not None else None
    now = timezone.now()
    params = [
        POLL_GATE_LOCK,
        _gate_key(poll.pk),
        poll.pk,
        uuid.uuid4(),
        None if secret else voter_id,  # the ballot's voter
        code_id,  # the code claimed
        None if secret else code_id,  # the ballot's code
        voter_id if secret else None,  # who took part in a secret ballot
        None if secret else now,
        now,
        bigint_array(wanted),
        bigint_array(_secret_selection_ids(wanted) if secret else [None] * len(wanted)),
        scope if idempotency_key else None,
        idempotency_key or None,
        json.dumps(result.as_json()) if idempotency_key else None,
    ]
    # Inside a caller's transaction (a test's, say) a savepoint keeps a refusal from
    # breaking it; on its own, the statement is its own transaction.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, prepared_cursor() as cursor:
        cursor.execute(
            "SELECT birge_cast_ballot(%s::integer, %s::integer, %s::bigint, %s::uuid,"
            " %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::timestamptz,"
            " %s::timestamptz, %s::bigint[], %s::bigint[], %s::text, %s::text, %s::jsonb)",
            params,
        )
        status = cursor.fetchone()[0]
    if status == "not_open":
        raise _not_open_error(poll.pk)
    if status == "code_taken":
        raise _code_taken_error(event_code)
    return result


def _code_taken_error(event_code: EventCode) -> Forbidden | AlreadyVoted:
    """Another request used the code first, or it was revoked meanwhile."""
    event_code.refresh_from_db()
    if event_code.revoked_at:
        return Forbidden(_("This ballot code was revoked."), code="code_revoked")
    return AlreadyVoted(_("This ballot code has already been used."), code="code_used")


def _add_pending(poll_id: int, *, add: list[int], remove: list[int], ballots: int) -> None:
    """A vote's changes to the counters, as PendingTally rows (ORM: SQLite, changed votes)."""
    rows = [PendingTally(poll_id=poll_id, choice_id=c, delta=1) for c in add]
    rows += [PendingTally(poll_id=poll_id, choice_id=c, delta=-1) for c in remove]
    if ballots:
        rows.append(PendingTally(poll_id=poll_id, choice_id=None, delta=ballots))
    PendingTally.objects.bulk_create(rows)


def _insert_ballot(poll: PollMeta, wanted: list[int], **ballot_fields) -> None:
    """The ballot, its selections and its pending +1s (the ORM path: SQLite, changed votes)."""
    ballot = Ballot(poll_id=poll.pk, **ballot_fields)
    ids = _secret_selection_ids(wanted) if poll.secret_ballot else None
    ballot.save(force_insert=True)
    BallotChoice.objects.bulk_create(
        [
            BallotChoice(id=ids[i] if ids else None, ballot=ballot, choice_id=c, poll_id=poll.pk)
            for i, c in enumerate(wanted)
        ]
    )
    _add_pending(poll.pk, add=wanted, remove=[], ballots=1)


def _cast_open(poll: PollMeta, user, wanted: list[int]) -> VoteResult:
    if not poll.allow_vote_change:
        # The unique constraint (poll, voter) decides: a second ballot is an IntegrityError.
        _insert_ballot(poll, wanted, voter=user, cast_at=timezone.now())
        return VoteResult(poll_id=poll.pk, choices=wanted)
    existing = Ballot.objects.select_for_update().filter(poll_id=poll.pk, voter=user).first()
    if existing is None:
        _insert_ballot(poll, wanted, voter=user, cast_at=timezone.now())
        return VoteResult(poll_id=poll.pk, choices=wanted)
    before = list(existing.selections.values_list("choice_id", flat=True))
    if sorted(before) == sorted(wanted):
        return VoteResult(poll_id=poll.pk, choices=wanted, changed=False)
    existing.selections.all().delete()
    BallotChoice.objects.bulk_create(
        [BallotChoice(ballot=existing, choice_id=c, poll_id=poll.pk) for c in wanted]
    )
    existing.changed_at = timezone.now()
    existing.save(update_fields=["changed_at"])
    _add_pending(
        poll.pk,
        add=[c for c in wanted if c not in before],
        remove=[c for c in before if c not in wanted],
        ballots=0,
    )
    return VoteResult(poll_id=poll.pk, choices=wanted, changed=True)


def _cast_secret(poll: PollMeta, user, wanted: list[int]) -> VoteResult:
    # Who took part and what was chosen go to two tables with nothing in common: the ballot
    # has a random id, no voter and no time.
    Participation.objects.create(poll_id=poll.pk, voter=user)
    _insert_ballot(poll, wanted)
    return VoteResult(poll_id=poll.pk, choices=None)


def _cast_with_code(
    poll: PollMeta, event_code: EventCode, wanted: list[int], *, voter=None
) -> VoteResult:
    """A code's ballot. Used while signed in (`voter`), it is that account's ballot: the same
    unique constraints as an account's vote refuse a second one (IntegrityError), and the
    code is then left unused, as the whole transaction rolls back."""
    used = EventCode.objects.filter(
        pk=event_code.pk, used_at__isnull=True, revoked_at__isnull=True
    ).update(used_at=timezone.now())
    if not used:
        raise _code_taken_error(event_code)
    if poll.secret_ballot:
        if voter is not None:
            Participation.objects.create(poll_id=poll.pk, voter=voter)
        _insert_ballot(poll, wanted)
        return VoteResult(poll_id=poll.pk, choices=None)
    _insert_ballot(poll, wanted, voter=voter, code=event_code, cast_at=timezone.now())
    return VoteResult(poll_id=poll.pk, choices=wanted)


# --- Event codes ------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def event_codes_generate(*, actor, poll_id: int, count: int) -> list[EventCode]:
    """Generate `count` one-time ballot codes for a poll, as one printable batch."""
    require_can_manage(actor)
    if (
        not isinstance(count, int)
        or isinstance(count, bool)
        or not 1 <= count <= MAX_CODES_PER_BATCH
    ):
        raise InvalidInput(
            ngettext_lazy(
                "Generate between 1 and %(n)d code at a time.",
                "Generate between 1 and %(n)d codes at a time.",
                "n",
            )
            % {"n": MAX_CODES_PER_BATCH}
        )
    with transaction.atomic():
        poll = _get_for_update(poll_id)
        if poll.status == Poll.Status.CLOSED:
            raise Conflict(_("The poll is closed."))
        if not poll.takes_codes:
            raise Conflict(
                _("This poll takes votes from accounts only: it has no ballot codes."),
                code="codes_not_accepted",
            )
        import uuid

        batch = uuid.uuid4()
        codes = set()
        while len(codes) < count:
            codes.add(_new_code())
        taken = set(EventCode.objects.filter(code__in=codes).values_list("code", flat=True))
        rows = [EventCode(poll=poll, code=c, batch=batch, created_by=actor) for c in codes - taken]
        EventCode.objects.bulk_create(rows)
    logger.info("%d event codes generated for poll %s by user %s", len(rows), poll.pk, actor.pk)
    return list(EventCode.objects.filter(batch=batch))


def event_codes_revoke(
    *, actor, poll_id: int, code_ids: list[int] | None = None, batch=None
) -> int:
    """Revoke unused codes (some, or a whole batch). Returns how many were revoked."""
    require_can_manage(actor)
    poll_id = parse_id(poll_id, message=_("No such poll."))
    codes = EventCode.objects.filter(poll_id=poll_id, used_at__isnull=True, revoked_at__isnull=True)
    if code_ids is not None:
        codes = codes.filter(pk__in=code_ids)
    elif batch is not None:
        codes = codes.filter(batch=batch)
    else:
        raise InvalidInput(_("Say which codes to revoke."))
    return codes.update(revoked_at=timezone.now())


# --- Tallies ----------------------------------------------------------------------------------


@dataclass
class Drift:
    poll_id: int
    what: str  # "ballots" or "choice <id>"
    counted: int  # from the counters
    actual: int  # from the ballot rows


def tallies_verify(*, poll_id: int | None = None, repair: bool = False) -> list[Drift]:
    """Compare the live tallies (the counters plus the pending +1s) with the ballot rows; with
    repair, fold the pending rows and make the counters agree."""
    from .selectors import live_tallies

    polls = Poll.objects.exclude(status=Poll.Status.DRAFT)
    if poll_id is not None:
        polls = polls.filter(pk=poll_id)
    drifts: list[Drift] = []
    for poll in polls:
        with transaction.atomic():
            if repair:
                # Stop votes on this poll while the counters are rewritten.
                _gate(poll.pk, exclusive=True)
                _create_tally_shards(poll)
                tallies_fold(poll_ids=[poll.pk], wait=True)
            actual = _count_from_ballots(poll)
            live = live_tallies([poll.pk])[poll.pk]
            poll_drifts = []
            if live["total"] != actual["total_votes"]:
                poll_drifts.append(Drift(poll.pk, "ballots", live["total"], actual["total_votes"]))
            for row in actual["choices"]:
                counted = live["choices"].get(row["id"], 0)
                if counted != row["votes"]:
                    poll_drifts.append(Drift(poll.pk, f"choice {row['id']}", counted, row["votes"]))
            if repair and poll_drifts:
                BallotTally.objects.filter(poll=poll).update(ballots=0)
                BallotTally.objects.filter(poll=poll, shard=0).update(ballots=actual["total_votes"])
                ChoiceTally.objects.filter(poll=poll).update(votes=0)
                for row in actual["choices"]:
                    ChoiceTally.objects.filter(choice_id=row["id"], shard=0).update(
                        votes=row["votes"]
                    )
                mark_dirty_on_commit(RESULTS_TOPIC, poll.pk)
            drifts += poll_drifts
    return drifts
