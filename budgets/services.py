"""Every state change of the People's Budget: rounds, their projects, ballots, outcomes.

Views, the API, the admin, Celery tasks and commands all call these functions. Each checks
permission first, validates, writes in one transaction and tells the world after commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from audit.services import audit_record
from civic.content import LANGS, LANGUAGE_LABELS, detect_language, original_language_among
from civic.content import original_language as content_original_language
from civic.content import versions as content_versions
from civic.db import bigint_array, prepared_cursor
from civic.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
)
from civic.realtime import TOPIC_BUDGET_ROUND, mark_dirty_on_commit
from civic.validation import clean_datetime, clean_text, parse_id
from notifications.services import enqueue_on_commit
from residents.eligibility import Eligibility, eligibility_clean

from .models import (
    TOTAL_BUDGET_LIMIT,
    BudgetBallot,
    BudgetBallotProject,
    BudgetOutcome,
    BudgetParticipation,
    BudgetProject,
    BudgetRound,
)
from .permissions import require_can_manage, require_can_vote

logger = logging.getLogger(__name__)

TITLE_MAX = 200
DESCRIPTION_MAX = 4000
COST_NOTE_MAX = 2000
MAX_PROJECTS_PER_ROUND = 300
MAX_BALLOT_PROJECTS = 300
COMPUTE_TASK = "budgets.compute_outcomes"
# Namespace of the advisory locks that gate ballots against closing (polls use 7301).
BUDGET_GATE_LOCK = 7302

S = BudgetRound.Status


# --- Errors -----------------------------------------------------------------------------------


class BallotRefused(InvalidInput):
    """A ballot that breaks the round's rules: 422, with a code saying which rule."""

    status = 422
    close_code = 4422
    default_message = _("This ballot does not follow the round's rules.")


class RoundNotOpen(Forbidden):
    default_message = _("This round is not open for voting.")


class AlreadyVoted(Conflict):
    default_message = _("You have already voted in this round.")


class RoundNotDraft(Conflict):
    default_message = _(
        "Once a round has left draft, its rules and projects can no longer be changed."
    )


# --- Input ------------------------------------------------------------------------------------


@dataclass
class RoundInput:
    title_kk: str
    title_ru: str
    title_en: str
    total_budget: int
    description_kk: str = ""
    description_ru: str = ""
    description_en: str = ""
    district_id: int | None = None
    # None: verified residents of the district if one is given, else of the city.
    eligibility: str | None = None
    min_projects: int = 1
    max_projects: int = 5
    rule: str = BudgetRound.Rule.GREEDY
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    results_visibility: str = BudgetRound.Visibility.HIDDEN
    allow_ballot_change: bool = False
    secret_ballot: bool = False
    # Texts in three languages (civic/content.py): the original language's title is required.
    original_language: str = ""


ROUND_INPUT_FIELDS = [
    "original_language",
    "title_kk",
    "title_ru",
    "title_en",
    "total_budget",
    "description_kk",
    "description_ru",
    "description_en",
    "district_id",
    "eligibility",
    "min_projects",
    "max_projects",
    "rule",
    "opens_at",
    "closes_at",
    "results_visibility",
    "allow_ballot_change",
    "secret_ballot",
]


def round_input_of(budget_round: BudgetRound, **changes) -> RoundInput:
    """The round as it is, with `changes`: what an edit of some fields sends to round_update."""
    values = {name: getattr(budget_round, name) for name in ROUND_INPUT_FIELDS}
    values.update(changes)
    return RoundInput(**values)


@dataclass
class ProjectInput:
    """A project entered by officials, or (with `initiative_id`) an accepted initiative:
    blank titles and a None cost are taken from the initiative and its estimate."""

    title_kk: str = ""
    title_ru: str = ""
    title_en: str = ""
    cost: int | None = None
    description_kk: str = ""
    description_ru: str = ""
    description_en: str = ""
    initiative_id: int | None = None
    cost_note: str = ""
    original_language: str = ""


def clean_amount(value, *, name, code: str) -> int:
    """A whole, positive amount of tenge below TOTAL_BUDGET_LIMIT, or a clear InvalidInput."""
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidInput(
            _("%(field)s must be a whole number of tenge.") % {"field": name}, code=code
        )
    if isinstance(value, str):
        value = value.strip().replace(" ", "").replace("\u00a0", "")
    try:
        number = Decimal(str(value)) if not isinstance(value, int) else Decimal(value)
    except (ArithmeticError, ValueError):
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise InvalidInput(
            _("%(field)s must be a whole number of tenge.") % {"field": name}, code=code
        )
    if number <= 0:
        raise InvalidInput(_("%(field)s must be more than zero.") % {"field": name}, code=code)
    if number >= TOTAL_BUDGET_LIMIT:
        raise InvalidInput(
            _("%(field)s must be less than %(limit)s tenge.")
            % {"field": name, "limit": f"{TOTAL_BUDGET_LIMIT:,}".replace(",", " ")},
            code=code,
        )
    return int(number)


def _clean_count(value, *, name) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput(
            _("%(field)s must be a whole number.") % {"field": name}, code="bad_count"
        )
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            _("%(field)s must be a whole number.") % {"field": name}, code="bad_count"
        ) from None
    if not 1 <= number <= MAX_BALLOT_PROJECTS:
        raise InvalidInput(
            _("%(field)s must be between 1 and %(max)d.")
            % {"field": name, "max": MAX_BALLOT_PROJECTS},
            code="bad_count",
        )
    return number


def _clean_texts(data, *, names: tuple[str, ...], required: bool) -> dict:
    """Titles and descriptions in three languages: the original's title is required."""
    original = original_language_among(data.original_language, data, "title")
    fields = {"original_language": original}
    for lang in LANGS:
        fields[f"title_{lang}"] = clean_text(
            getattr(data, f"title_{lang}"),
            name=f"{names[0]} ({LANGUAGE_LABELS[lang]})",
            max_length=TITLE_MAX,
            required=required and lang == original,
            multiline=False,
        )
        fields[f"description_{lang}"] = clean_text(
            getattr(data, f"description_{lang}"),
            name=f"{names[1]} ({LANGUAGE_LABELS[lang]})",
            max_length=DESCRIPTION_MAX,
            required=False,
        )
    return fields


def _validate_round_input(data: RoundInput) -> dict:
    fields = _clean_texts(
        data, names=(pgettext_lazy("budget", "Title"), _("Description")), required=True
    )
    fields["total_budget"] = clean_amount(
        data.total_budget, name=_("The total budget"), code="bad_total_budget"
    )
    if data.rule not in BudgetRound.Rule.values:
        raise InvalidInput(_("Unknown rule: choose greedy or equal_shares."), code="bad_rule")
    if data.results_visibility not in BudgetRound.Visibility.values:
        raise InvalidInput(_("Unknown results visibility."), code="bad_visibility")
    eligibility, district_id = eligibility_clean(
        data.eligibility,
        data.district_id,
        district_required_message=_("A round for the residents of a district needs the district."),
        district_only_message=_(
            "A round with a district is for the verified residents of that district."
        ),
    )
    min_projects = _clean_count(data.min_projects, name=_("“At least”"))
    max_projects = _clean_count(data.max_projects, name=_("“At most”"))
    if max_projects < min_projects:
        raise InvalidInput(_("“At most” must not be less than “at least”."), code="max_below_min")
    opens_at = clean_datetime(data.opens_at, name=_("Opens at"), required=False)
    closes_at = clean_datetime(data.closes_at, name=_("Closes at"), required=False)
    if opens_at and closes_at and closes_at <= opens_at:
        raise InvalidInput(_("The round must close after it opens."), code="bad_dates")
    if not isinstance(data.secret_ballot, bool) or not isinstance(data.allow_ballot_change, bool):
        raise InvalidInput(_("Say yes or no."), code="bad_flag")
    if data.secret_ballot and data.allow_ballot_change:
        raise InvalidInput(
            _("A secret ballot cannot be changed after it is cast."), code="secret_is_final"
        )
    fields.update(
        district_id=district_id,
        eligibility=eligibility,
        min_projects=min_projects,
        max_projects=max_projects,
        rule=data.rule,
        opens_at=opens_at,
        closes_at=closes_at,
        results_visibility=data.results_visibility,
        allow_ballot_change=data.allow_ballot_change,
        secret_ballot=data.secret_ballot,
    )
    return fields


def _get_for_update(round_id) -> BudgetRound:
    pk = parse_id(round_id, message=_("No such budget round."))
    try:
        return BudgetRound.objects.select_for_update().get(pk=pk)
    except BudgetRound.DoesNotExist:
        raise NotFound(_("No such budget round.")) from None


# --- Rounds -----------------------------------------------------------------------------------


def round_create(*, actor, data: RoundInput) -> BudgetRound:
    """An official drafts a round; projects are added to the draft one by one."""
    require_can_manage(actor)
    fields = _validate_round_input(data)
    with transaction.atomic():
        budget_round = BudgetRound.objects.create(created_by=actor, status=S.DRAFT, **fields)
        audit_record(actor=actor, action="budget_round.create", target=budget_round)
    logger.info("budget round %s created by user %s", budget_round.pk, actor.pk)
    return budget_round


def round_update(
    *, actor, round_id: int, data: RoundInput | None = None, changes: dict | None = None
) -> BudgetRound:
    """An official changes a draft's texts and rules: all of them (`data`), or some
    (`changes`, merged with the row under its lock, so a concurrent edit of other fields
    stays). Past draft nothing of this may change: ballots are being (or were) cast under
    these rules."""
    require_can_manage(actor)
    if data is not None:
        fields = _validate_round_input(data)
    unknown = set(changes or {}) - set(ROUND_INPUT_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown field."), code="unknown_field")
    with transaction.atomic():
        budget_round = _get_for_update(round_id)
        if budget_round.status != S.DRAFT:
            raise RoundNotDraft(code="round_not_draft")
        if data is None:
            if "district_id" in (changes or {}) and "eligibility" not in changes:
                # A district given or taken away decides the eligibility, as on create.
                changes = {**changes, "eligibility": None}
            fields = _validate_round_input(round_input_of(budget_round, **(changes or {})))
        too_dear = budget_round.projects.filter(cost__gt=fields["total_budget"]).first()
        if too_dear is not None:
            raise InvalidInput(
                _("The project “%(project)s” costs more than this total budget.")
                % {"project": too_dear.title},
                code="cost_above_total",
            )
        for name, value in fields.items():
            setattr(budget_round, name, value)
        budget_round.save(update_fields=list(fields))
        audit_record(actor=actor, action="budget_round.update", target=budget_round)
    return budget_round


def round_delete(*, actor, round_id: int) -> None:
    """An official deletes a draft. A round that has opened keeps its ballots."""
    require_can_manage(actor)
    with transaction.atomic():
        budget_round = _get_for_update(round_id)
        if budget_round.status != S.DRAFT:
            raise RoundNotDraft(_("Only a draft can be deleted."), code="round_not_draft")
        audit_record(actor=actor, action="budget_round.delete", target=budget_round)
        budget_round.delete()


def _check_ready(budget_round: BudgetRound, *, now) -> None:
    """What a round needs before it can take ballots."""
    if budget_round.closes_at is None or budget_round.closes_at <= now:
        raise InvalidInput(
            _("Set a closing time in the future first."), code="closing_time_required"
        )
    n = budget_round.projects.count()
    if n < budget_round.min_projects:
        raise InvalidInput(
            ngettext_lazy(
                "The ballot needs at least %(n)d project: a voter must pick that many.",
                "The ballot needs at least %(n)d projects: a voter must pick that many.",
                "n",
            )
            % {"n": budget_round.min_projects},
            code="too_few_projects_on_ballot",
        )


def round_schedule(*, actor, round_id: int) -> BudgetRound:
    """Draft → scheduled: it opens by itself at opens_at (Celery beat, the database's clock)."""
    require_can_manage(actor)
    with transaction.atomic():
        budget_round = _get_for_update(round_id)
        if budget_round.status != S.DRAFT:
            raise Conflict(_("Only a draft can be scheduled."), code="round_not_draft")
        if budget_round.opens_at is None:
            raise InvalidInput(_("Set when the round opens first."), code="opening_time_required")
        _check_ready(budget_round, now=timezone.now())
        budget_round.status = S.SCHEDULED
        budget_round.save(update_fields=["status"])
        audit_record(actor=actor, action="budget_round.schedule", target=budget_round)
    return budget_round


def round_open(*, actor, round_id: int) -> BudgetRound:
    """Draft or scheduled → open, now; the projects' costs are fixed from here on.
    `actor` None is the scheduler."""
    if actor is not None:
        require_can_manage(actor)
    now = timezone.now()
    with transaction.atomic():
        budget_round = _get_for_update(round_id)
        if budget_round.status not in (S.DRAFT, S.SCHEDULED):
            raise Conflict(
                _("Only a draft or scheduled round can be opened."), code="round_not_draft"
            )
        _check_ready(budget_round, now=now)
        budget_round.status = S.OPEN
        budget_round.opened_at = now
        if budget_round.opens_at is None or budget_round.opens_at > now:
            budget_round.opens_at = now
        budget_round.save(update_fields=["status", "opened_at", "opens_at"])
        audit_record(actor=actor, action="budget_round.open", target=budget_round)
        mark_dirty_on_commit(TOPIC_BUDGET_ROUND, budget_round.pk)
    logger.info(
        "budget round %s opened by %s",
        budget_round.pk,
        f"user {actor.pk}" if actor else "the scheduler",
    )
    return budget_round


def round_close(*, actor, round_id: int) -> BudgetRound:
    """Open → closed. Waits for the ballots in flight (they hold the gate shared), freezes the
    number of ballots, and asks for both outcomes (Celery, after commit). `actor` None is the
    scheduler."""
    if actor is not None:
        require_can_manage(actor)
    with transaction.atomic():
        _gate(round_id, exclusive=True)
        budget_round = _get_for_update(round_id)
        if budget_round.status != S.OPEN:
            raise Conflict(_("Only an open round can be closed."), code="round_not_open")
        now = timezone.now()
        budget_round.status = S.CLOSED
        budget_round.closed_at = now
        if budget_round.closes_at > now:
            budget_round.closes_at = now
        budget_round.final_ballots = BudgetBallot.objects.filter(round=budget_round).count()
        budget_round.computation = BudgetRound.Computation.QUEUED
        budget_round.computation_progress = 0
        budget_round.computation_error = ""
        budget_round.save(
            update_fields=[
                "status",
                "closed_at",
                "closes_at",
                "final_ballots",
                "computation",
                "computation_progress",
                "computation_error",
            ]
        )
        audit_record(
            actor=actor,
            action="budget_round.close",
            target=budget_round,
            data={"ballots": budget_round.final_ballots},
        )
        enqueue_on_commit(COMPUTE_TASK, budget_round.pk)
        mark_dirty_on_commit(TOPIC_BUDGET_ROUND, budget_round.pk)
    logger.info(
        "budget round %s closed with %s ballots", budget_round.pk, budget_round.final_ballots
    )
    return budget_round


def rounds_advance_schedule() -> dict:
    """Open scheduled rounds whose time has come and close open rounds whose time is up, by
    the database's clock. Safe to run twice or concurrently: each round changes under its
    row lock."""
    opened = closed = 0
    due = BudgetRound.objects.filter(status=S.SCHEDULED, opens_at__lte=Now())
    for round_id in due.values_list("pk", flat=True):
        try:
            round_open(actor=None, round_id=round_id)
            opened += 1
        except DomainError as exc:
            logger.info("budget round %s not opened: %s", round_id, exc)
    over = BudgetRound.objects.filter(status=S.OPEN, closes_at__lte=Now())
    for round_id in over.values_list("pk", flat=True):
        try:
            round_close(actor=None, round_id=round_id)
            closed += 1
        except DomainError as exc:
            logger.info("budget round %s not closed: %s", round_id, exc)
    return {"opened": opened, "closed": closed}


# --- Projects ---------------------------------------------------------------------------------


def _estimate_of(initiative) -> int | None:
    """The community's estimate in whole tenge (rounded up), or None."""
    if initiative.budget_kzt is None:
        return None
    value = Decimal(initiative.budget_kzt).to_integral_value(rounding="ROUND_CEILING")
    return int(value) if value > 0 else None


def _initiative_for_ballot(initiative_id, budget_round: BudgetRound):
    from communities.models import Attachment, Initiative

    pk = parse_id(initiative_id, message=_("No such initiative."))
    initiative = Initiative.objects.filter(pk=pk).first()
    if initiative is None:
        raise NotFound(_("No such initiative."))
    if initiative.status != Initiative.Status.ACCEPTED:
        raise InvalidInput(
            _("Only an initiative the akimat has accepted can be put on the ballot."),
            code="initiative_not_accepted",
        )
    if (
        budget_round.district_id is not None
        and initiative.district_id is not None
        and initiative.district_id != budget_round.district_id
    ):
        raise InvalidInput(
            _("This initiative is for another district than the round."),
            code="initiative_other_district",
        )
    document = (
        Attachment.objects.filter(initiative=initiative, kind=Attachment.Kind.ESTIMATE)
        .order_by("-created_at", "-version")
        .first()
    )
    return initiative, document


def project_add(*, actor, round_id: int, data: ProjectInput) -> BudgetProject:
    """Put a project on a draft round's ballot: an accepted initiative with the community's
    cost estimate (the akimat confirms it, or corrects it with a public note), or a project
    the officials enter."""
    require_can_manage(actor)
    with transaction.atomic():
        budget_round = _get_for_update(round_id)
        if budget_round.status != S.DRAFT:
            raise RoundNotDraft(code="round_not_draft")
        initiative = document = None
        estimate = None
        if data.initiative_id not in (None, ""):
            initiative, document = _initiative_for_ballot(data.initiative_id, budget_round)
            if budget_round.projects.filter(initiative=initiative).exists():
                raise Conflict(
                    _("This initiative is already on the ballot."), code="duplicate_project"
                )
            estimate = _estimate_of(initiative)
            if estimate is None and data.cost in (None, ""):
                raise InvalidInput(
                    _("This initiative has no cost estimate: enter the cost."),
                    code="cost_required",
                )
            # The initiative's versions (title, summary) stand where none are given, in the
            # initiative's languages: a missing language stays missing (shown with its note).
            defaults = {}
            titles = content_versions(initiative, "title")
            summaries = content_versions(initiative, "summary")
            for lang in LANGS:
                if not (getattr(data, f"title_{lang}") or "").strip():
                    defaults[f"title_{lang}"] = titles[lang][:TITLE_MAX]
                if not (getattr(data, f"description_{lang}") or "").strip():
                    defaults[f"description_{lang}"] = summaries[lang]
            if not data.original_language:
                defaults["original_language"] = content_original_language(initiative, "title")
            data = dataclasses.replace(data, **defaults)
        fields = _clean_texts(
            data, names=(pgettext_lazy("budget", "Title"), _("Description")), required=True
        )
        cost = estimate if data.cost in (None, "") else data.cost
        cost = clean_amount(cost, name=_("The cost"), code="bad_cost")
        note = clean_text(
            data.cost_note, name=_("Note on the cost"), max_length=COST_NOTE_MAX, required=False
        )
        if estimate is not None and cost != estimate and not note:
            raise InvalidInput(
                _(
                    "The cost differs from the community's estimate: say why in the note, "
                    "it is shown publicly."
                ),
                code="cost_note_required",
            )
        if cost > budget_round.total_budget:
            raise InvalidInput(
                _("The cost (%(cost)s tenge) is above the round's total budget (%(total)s).")
                % {"cost": _money(cost), "total": _money(budget_round.total_budget)},
                code="cost_above_total",
            )
        if budget_round.projects.count() >= MAX_PROJECTS_PER_ROUND:
            raise InvalidInput(
                ngettext_lazy(
                    "A round can have at most %(n)d project.",
                    "A round can have at most %(n)d projects.",
                    "n",
                )
                % {"n": MAX_PROJECTS_PER_ROUND},
                code="too_many_projects",
            )
        position = budget_round.projects.count()
        try:
            with transaction.atomic():
                project = BudgetProject.objects.create(
                    round=budget_round,
                    initiative=initiative,
                    estimated_cost=estimate,
                    estimate_document=document,
                    cost=cost,
                    cost_note=note,
                    position=position,
                    created_by=actor,
                    **fields,
                )
        except IntegrityError:
            raise Conflict(
                _("This initiative is already on the ballot."), code="duplicate_project"
            ) from None
        audit_record(
            actor=actor,
            action="budget_project.add",
            target=project,
            data={
                "round": budget_round.pk,
                "cost": cost,
                "initiative": initiative and initiative.pk,
            },
        )
        mark_dirty_on_commit(TOPIC_BUDGET_ROUND, budget_round.pk)
    return project


def _project_for_update(round_id, project_id) -> tuple[BudgetRound, BudgetProject]:
    budget_round = _get_for_update(round_id)
    pk = parse_id(project_id, message=_("No such project in this round."))
    project = BudgetProject.objects.filter(round=budget_round, pk=pk).first()
    if project is None:
        raise NotFound(_("No such project in this round."))
    if budget_round.status != S.DRAFT:
        raise RoundNotDraft(code="round_not_draft")
    return budget_round, project


def project_update(
    *, actor, round_id: int, project_id: int, cost=None, cost_note: str | None = None
) -> BudgetProject:
    """The akimat confirms or corrects a draft project's cost (with a public note when it
    differs from the community's estimate). Fixed once the round opens."""
    require_can_manage(actor)
    with transaction.atomic():
        budget_round, project = _project_for_update(round_id, project_id)
        new_cost = project.cost if cost in (None, "") else cost
        new_cost = clean_amount(new_cost, name=_("The cost"), code="bad_cost")
        note = project.cost_note if cost_note is None else cost_note
        note = clean_text(
            note, name=_("Note on the cost"), max_length=COST_NOTE_MAX, required=False
        )
        if new_cost > budget_round.total_budget:
            raise InvalidInput(
                _("The cost (%(cost)s tenge) is above the round's total budget (%(total)s).")
                % {"cost": _money(new_cost), "total": _money(budget_round.total_budget)},
                code="cost_above_total",
            )
        if project.estimated_cost is not None and new_cost != project.estimated_cost and not note:
            raise InvalidInput(
                _(
                    "The cost differs from the community's estimate: say why in the note, "
                    "it is shown publicly."
                ),
                code="cost_note_required",
            )
        before = project.cost
        project.cost = new_cost
        project.cost_note = note
        project.save(update_fields=["cost", "cost_note"])
        audit_record(
            actor=actor,
            action="budget_project.cost",
            target=project,
            data={"from": before, "to": new_cost, "note": note},
        )
        mark_dirty_on_commit(TOPIC_BUDGET_ROUND, budget_round.pk)
    return project


def project_remove(*, actor, round_id: int, project_id: int) -> None:
    """Take a project off a draft round's ballot."""
    require_can_manage(actor)
    with transaction.atomic():
        budget_round, project = _project_for_update(round_id, project_id)
        audit_record(
            actor=actor,
            action="budget_project.remove",
            target=project,
            data={"round": budget_round.pk, "title": project.title_en or project.title},
        )
        project.delete()
        mark_dirty_on_commit(TOPIC_BUDGET_ROUND, budget_round.pk)


def _money(amount: int) -> str:
    """12 500 000: thousands apart with a no-break space, as Kazakh and Russian write them."""
    return f"{int(amount):,}".replace(",", "\u00a0")


# --- Ballots ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundMeta:
    """What the ballot path needs of a round past draft: it no longer changes."""

    pk: int
    status: str
    district_id: int | None
    eligibility: str
    total_budget: int
    min_projects: int
    max_projects: int
    secret_ballot: bool
    allow_ballot_change: bool
    costs: dict  # project id -> cost


_meta_cache: dict[int, RoundMeta] = {}
_META_CACHE_MAX = 1000


def forget_round_meta() -> None:
    """Tests start from an empty cache (ids are reused across transactional tests)."""
    _meta_cache.clear()


def _round_meta(round_id) -> RoundMeta:
    """The round's fixed rules and its projects' costs: from this process's memory after
    the first ballot (only rounds past draft, whose rules and projects cannot change).
    Whether the round is open is never taken from here: the ballot transaction reads it."""
    pk = parse_id(round_id, message=_("No such budget round."))
    meta = _meta_cache.get(pk)
    if meta is not None:
        return meta
    budget_round = BudgetRound.objects.filter(pk=pk).exclude(status=S.DRAFT).first()
    if budget_round is None:
        raise NotFound(_("No such budget round."))
    meta = RoundMeta(
        pk=budget_round.pk,
        status=budget_round.status,
        district_id=budget_round.district_id,
        eligibility=budget_round.eligibility,
        total_budget=budget_round.total_budget,
        min_projects=budget_round.min_projects,
        max_projects=budget_round.max_projects,
        secret_ballot=budget_round.secret_ballot,
        allow_ballot_change=budget_round.allow_ballot_change,
        costs=dict(budget_round.projects.values_list("pk", "cost")),
    )
    if len(_meta_cache) >= _META_CACHE_MAX:
        _meta_cache.clear()
    _meta_cache[pk] = meta
    return meta


def _parse_project_ids(project_ids, meta: RoundMeta) -> list[int]:
    """The ballot's project ids, in the order given, each checked against the round's rules:
    422 with a code for every way a ballot can be wrong, never a 500."""
    if not isinstance(project_ids, list | tuple):
        raise BallotRefused(_("Send the projects you pick as a list."), code="bad_projects")
    if len(project_ids) > MAX_BALLOT_PROJECTS:
        raise BallotRefused(
            ngettext_lazy("Pick at most %(n)d project.", "Pick at most %(n)d projects.", "n")
            % {"n": meta.max_projects},
            code="too_many",
        )
    parsed = []
    for raw in project_ids:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise BallotRefused(_("A project is given by its number."), code="bad_project")
        try:
            value = int(raw)
        except ValueError:
            raise BallotRefused(
                _("A project is given by its number."), code="bad_project"
            ) from None
        if value not in meta.costs:
            raise BallotRefused(
                _("Project %(id)s is not on this round's ballot.") % {"id": str(raw)[:30]},
                code="unknown_project",
            )
        parsed.append(value)
    if len(set(parsed)) != len(parsed):
        raise BallotRefused(_("The same project was picked twice."), code="duplicate_project")
    if len(parsed) < meta.min_projects:
        raise BallotRefused(
            ngettext_lazy("Pick at least %(n)d project.", "Pick at least %(n)d projects.", "n")
            % {"n": meta.min_projects}
            if meta.min_projects > 1
            else _("Pick at least one project."),
            code="too_few",
        )
    if len(parsed) > meta.max_projects:
        raise BallotRefused(
            ngettext_lazy("Pick at most %(n)d project.", "Pick at most %(n)d projects.", "n")
            % {"n": meta.max_projects},
            code="too_many",
        )
    spent = sum(meta.costs[p] for p in parsed)
    if spent > meta.total_budget:
        raise BallotRefused(
            _(
                "The projects you picked cost %(sum)s tenge together, more than the total "
                "budget of %(total)s tenge. Take some off."
            )
            % {"sum": _money(spent), "total": _money(meta.total_budget)},
            code="over_budget",
            extra={"spent": spent, "total_budget": meta.total_budget},
        )
    return parsed


def _gate(round_id, *, exclusive: bool) -> None:
    """Ballots take the round's gate shared, closing takes it exclusively (PostgreSQL): a close
    starts only after every ballot in flight has committed, and new ballots queue behind it
    (see polls.services._gate)."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [BUDGET_GATE_LOCK, _gate_key(round_id)])


def _gate_key(round_id) -> int:
    return parse_id(round_id, message=_("No such budget round.")) % 2**31


def _not_open_error(round_id: int, status: str | None = None) -> RoundNotOpen:
    if status is None:
        status = BudgetRound.objects.filter(pk=round_id).values_list("status", flat=True).first()
    if status in (S.OPEN, S.CLOSED):
        return RoundNotOpen(_("This round is closed."), code="round_closed")
    return RoundNotOpen(_("This round has not opened yet."), code="round_not_open")


@dataclass
class BallotResult:
    round_id: int
    projects: list[int] | None  # None for a secret ballot: the answer does not repeat it
    spent: int
    changed: bool = False

    def as_json(self) -> dict:
        return {
            "round": self.round_id,
            "status": "changed" if self.changed else "recorded",
            "projects": self.projects,
            "spent": self.spent,
            "secret": self.projects is None,
        }


def _insert_picks(meta: RoundMeta, ballot_id, wanted: list[int]) -> None:
    # Sequential pick ids would put secret ballots in the order people voted, which the
    # participation rows (who, when) also show: a secret ballot's picks get random ids.
    BudgetBallotProject.objects.bulk_create(
        [
            BudgetBallotProject(
                id=secrets.randbelow(2**63 - 2**40) + 2**40 if meta.secret_ballot else None,
                ballot_id=ballot_id,
                project_id=p,
                round_id=meta.pk,
            )
            for p in wanted
        ]
    )


def ballot_cast(*, actor, round_id: int, project_ids) -> BallotResult:
    """Cast one ballot (or, where the round allows, change it): the projects the voter
    approves, within the round's count and budget.

    One voter, one ballot: the participation row (always written) and, for an open ballot,
    the ballot's (round, voter) are unique in the database, so of two concurrent requests
    one wins and the other is a 409.
    """
    meta = _round_meta(round_id)
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Sign in to vote."))
    require_can_vote(actor, meta)
    if meta.status != S.OPEN:
        # A round's status only moves forward: one read past "open" is final. (An open round
        # is checked again below, in the transaction, by the database's clock.)
        status = BudgetRound.objects.filter(pk=meta.pk).values_list("status", flat=True).first()
        if status != S.OPEN:
            raise _not_open_error(meta.pk, status)
    wanted = _parse_project_ids(project_ids, meta)
    spent = sum(meta.costs[p] for p in wanted)
    try:
        if connection.vendor == "postgresql" and not meta.allow_ballot_change:
            # The common path in one round trip, committed on its own: the gate, the open
            # check by the database's clock, participation, ballot and picks (a second ballot
            # of the same voter fails a unique constraint here: IntegrityError).
            if not _cast_in_one_statement(meta, actor, wanted):
                raise _not_open_error(meta.pk)
            mark_dirty_on_commit(TOPIC_BUDGET_ROUND, meta.pk)
            return BallotResult(
                round_id=meta.pk, projects=None if meta.secret_ballot else wanted, spent=spent
            )
        with transaction.atomic():
            _gate(meta.pk, exclusive=False)
            if not BudgetRound.objects.filter(
                pk=meta.pk, status=S.OPEN, closes_at__gt=Now()
            ).exists():
                raise _not_open_error(meta.pk)
            if meta.allow_ballot_change:
                existing = (
                    BudgetBallot.objects.select_for_update()
                    .filter(round_id=meta.pk, voter=actor)
                    .first()
                )
                if existing is not None:
                    result = _change(meta, existing, wanted, spent)
                    mark_dirty_on_commit(TOPIC_BUDGET_ROUND, meta.pk)
                    return result
            BudgetParticipation.objects.create(round_id=meta.pk, voter=actor)
            now = timezone.now()
            if meta.secret_ballot:
                # What was chosen and who took part share nothing: no voter, no time.
                ballot = BudgetBallot.objects.create(round_id=meta.pk)
            else:
                ballot = BudgetBallot.objects.create(round_id=meta.pk, voter=actor, created_at=now)
            _insert_picks(meta, ballot.pk, wanted)
            mark_dirty_on_commit(TOPIC_BUDGET_ROUND, meta.pk)
    except IntegrityError:
        raise AlreadyVoted(code="already_voted") from None
    return BallotResult(
        round_id=meta.pk, projects=None if meta.secret_ballot else wanted, spent=spent
    )


def _cast_in_one_statement(meta: RoundMeta, actor, wanted: list[int]) -> bool:
    """PostgreSQL: birge_cast_budget_ballot() (migration budgets/0003). False: the round is
    not open, and nothing was written. Inside a caller's transaction (a test's) a savepoint
    keeps a refusal from breaking it; on its own, the statement is its own transaction."""
    secret = meta.secret_ballot
    pick_ids = (
        [secrets.randbelow(2**63 - 2**40) + 2**40 for _ in wanted]
        if secret
        else [None] * len(wanted)
    )
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, prepared_cursor() as cursor:
        cursor.execute(
            "SELECT birge_cast_budget_ballot(%s::integer, %s::integer, %s::bigint, %s::bigint,"
            " %s::uuid, %s::bigint, %s::uuid, %s::bigint[], %s::bigint[])",
            [
                BUDGET_GATE_LOCK,
                _gate_key(meta.pk),
                meta.pk,
                actor.pk,
                uuid.uuid4(),
                None if secret else actor.pk,
                uuid.uuid4(),
                bigint_array(wanted),
                bigint_array(pick_ids),
            ],
        )
        return cursor.fetchone()[0] == "ok"


def _change(meta: RoundMeta, ballot: BudgetBallot, wanted: list[int], spent: int) -> BallotResult:
    before = set(ballot.picks.values_list("project_id", flat=True))
    if before == set(wanted):
        return BallotResult(round_id=meta.pk, projects=wanted, spent=spent, changed=False)
    ballot.picks.all().delete()
    _insert_picks(meta, ballot.pk, wanted)
    ballot.changed_at = timezone.now()
    ballot.save(update_fields=["changed_at"])
    return BallotResult(round_id=meta.pk, projects=wanted, spent=spent, changed=True)


def ballot_change(*, actor, round_id: int, project_ids) -> BallotResult:
    """Change the ballot already cast, where the round allows it (never a secret ballot)."""
    meta = _round_meta(round_id)
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Sign in to vote."))
    if not meta.allow_ballot_change:
        raise Conflict(
            _("Ballots in this round cannot be changed once cast."), code="change_not_allowed"
        )
    if not BudgetBallot.objects.filter(round_id=meta.pk, voter=actor).exists():
        raise NotFound(_("You have not voted in this round yet."), code="no_ballot")
    return ballot_cast(actor=actor, round_id=round_id, project_ids=project_ids)


# --- Outcomes ---------------------------------------------------------------------------------


def _ballot_rows(round_id: int) -> list[tuple[int, ...]]:
    """Every ballot's approved project ids, sorted: one row per ballot, from the ballot rows
    (the truth). A ballot without picks (an imported empty vote) is an empty tuple."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT coalesce(array_agg(p.project_id ORDER BY p.project_id)
                                FILTER (WHERE p.project_id IS NOT NULL), '{{}}')
                FROM {BudgetBallot._meta.db_table} b
                LEFT JOIN {BudgetBallotProject._meta.db_table} p ON p.ballot_id = b.id
                WHERE b.round_id = %s
                GROUP BY b.id
                """,  # noqa: S608 - table names are ours
                [round_id],
            )
            return [tuple(row[0]) for row in cursor.fetchall()]
    picks: dict = {
        b: [] for b in BudgetBallot.objects.filter(round_id=round_id).values_list("pk", flat=True)
    }
    for ballot_id, project_id in BudgetBallotProject.objects.filter(round_id=round_id).values_list(
        "ballot_id", "project_id"
    ):
        picks[ballot_id].append(project_id)
    return [tuple(sorted(v)) for v in picks.values()]


def inputs_hash(total_budget: int, costs: dict[int, int], ballots: list[tuple[int, ...]]) -> str:
    """sha256 of what an outcome is computed from: the budget, the projects' costs and the
    ballots (each sorted, in sorted order), so that anyone can check a stored outcome."""
    digest = hashlib.sha256()
    digest.update(f"budget:{total_budget}\n".encode())
    for pid in sorted(costs):
        digest.update(f"project:{pid}:{costs[pid]}\n".encode())
    for ballot in sorted(ballots):
        digest.update(("ballot:" + ",".join(map(str, ballot)) + "\n").encode())
    return digest.hexdigest()


def _outcome_rows(outcome, costs: dict[int, int], votes: dict[int, int]) -> list[dict]:
    """The stored per-project rows of one rule's outcome (budgets.rules.Outcome)."""
    funded = set(outcome.funded)
    reasons = getattr(outcome, "reasons", {}) or {}
    reason_data = getattr(outcome, "reason_data", {}) or {}
    rows = []
    for pid in costs:
        reason = reasons.get(pid)
        data = reason_data.get(pid) or {}
        if isinstance(reason, tuple | list):  # (code, data)
            reason, data = reason[0], (reason[1] if len(reason) > 1 else {}) or {}
        rows.append(
            {
                "id": pid,
                "votes": int(votes.get(pid, 0)),
                "funded": pid in funded,
                "reason": reason,
                "reason_data": data,
            }
        )
    return rows


def _set_progress(round_id: int, *, state: str, progress: int, error: str = "") -> None:
    BudgetRound.objects.filter(pk=round_id).update(
        computation=state, computation_progress=progress, computation_error=error[:500]
    )


def outcome_compute(*, round_id: int, progress=None) -> list[BudgetOutcome]:
    """Compute both rules' outcomes of a closed round from its ballot rows and store them with
    the inputs' hash and the time; move the funded initiatives to "in progress".

    Safe to run twice: the outcomes are replaced (unique per round and rule), and an
    initiative already in progress stays so. `progress(percent)` is called as it goes.
    """
    from . import rules

    def report(percent: int) -> None:
        _set_progress(pk, state=BudgetRound.Computation.RUNNING, progress=percent)
        if progress is not None:
            progress(percent)

    pk = parse_id(round_id, message=_("No such budget round."))
    budget_round = BudgetRound.objects.filter(pk=pk).first()
    if budget_round is None:
        raise NotFound(_("No such budget round."))
    if budget_round.status != S.CLOSED:
        raise Conflict(
            _("Outcomes are computed once the round has closed."), code="round_not_closed"
        )
    try:
        report(5)
        costs = dict(budget_round.projects.values_list("pk", "cost"))
        ballots = _ballot_rows(pk)
        report(30)
        digest = inputs_hash(budget_round.total_budget, costs, ballots)
        votes: dict[int, int] = dict.fromkeys(costs, 0)
        for ballot in ballots:
            for p in ballot:
                votes[p] += 1
        computed = {}
        for rule, function in (
            (BudgetRound.Rule.GREEDY, rules.greedy),
            (BudgetRound.Rule.EQUAL_SHARES, rules.equal_shares),
        ):
            started = time.perf_counter()
            outcome = function(budget_round.total_budget, costs, ballots)
            computed[rule] = (outcome, time.perf_counter() - started)
            report(30 + 30 * len(computed))
        now = timezone.now()
        with transaction.atomic():
            budget_round = BudgetRound.objects.select_for_update().get(pk=pk)
            stored = []
            for rule, (outcome, seconds) in computed.items():
                row, _created = BudgetOutcome.objects.update_or_create(
                    round=budget_round,
                    rule=rule,
                    defaults={
                        "is_primary": rule == budget_round.rule,
                        "funded": [int(p) for p in outcome.funded],
                        "spent": int(sum(costs[p] for p in outcome.funded)),
                        "projects": _outcome_rows(outcome, costs, votes),
                        "ballots": len(ballots),
                        "inputs_hash": digest,
                        "computed_at": now,
                        "seconds": seconds,
                    },
                )
                stored.append(row)
            budget_round.computation = BudgetRound.Computation.DONE
            budget_round.computation_progress = 100
            budget_round.computation_error = ""
            budget_round.save(
                update_fields=["computation", "computation_progress", "computation_error"]
            )
            audit_record(
                actor=None,
                action="budget_round.outcomes",
                target=budget_round,
                data={"inputs_hash": digest, "ballots": len(ballots)},
            )
            mark_dirty_on_commit(TOPIC_BUDGET_ROUND, pk)
    except Exception as exc:
        _set_progress(pk, state=BudgetRound.Computation.FAILED, progress=0, error=str(exc))
        raise
    primary = computed[budget_round.rule][0]
    _start_funded_initiatives(budget_round, [int(p) for p in primary.funded])
    logger.info("budget round %s: outcomes computed from %d ballots", pk, len(ballots))
    return stored


def outcome_request(*, actor, round_id: int) -> BudgetRound:
    """Ask for a closed round's outcomes to be computed (again), by the Celery task."""
    require_can_manage(actor)
    with transaction.atomic():
        budget_round = _get_for_update(round_id)
        if budget_round.status != S.CLOSED:
            raise Conflict(
                _("Outcomes are computed once the round has closed."), code="round_not_closed"
            )
        budget_round.computation = BudgetRound.Computation.QUEUED
        budget_round.computation_progress = 0
        budget_round.save(update_fields=["computation", "computation_progress"])
        audit_record(actor=actor, action="budget_round.recompute", target=budget_round)
        enqueue_on_commit(COMPUTE_TASK, budget_round.pk)
        mark_dirty_on_commit(TOPIC_BUDGET_ROUND, budget_round.pk)
    return budget_round


def _start_funded_initiatives(budget_round: BudgetRound, funded: list[int]) -> None:
    """Funded projects that came from an initiative: the initiative moves to "in progress"
    through communities' one workflow function, in the name of the official who created the
    round (the decision is the round's). Its progress (updates, photos) stays its own."""
    from communities.models import Initiative
    from communities.services import initiative_transition

    actor = budget_round.created_by
    initiative_ids = list(
        BudgetProject.objects.filter(
            round=budget_round, pk__in=funded, initiative__status=Initiative.Status.ACCEPTED
        ).values_list("initiative_id", flat=True)
    )
    if not initiative_ids:
        return
    if actor is None:
        logger.warning(
            "budget round %s has no creator to move its funded initiatives", budget_round.pk
        )
        return
    for initiative_id in initiative_ids:
        try:
            initiative_transition(
                actor=actor, initiative_id=initiative_id, to=Initiative.Status.IN_PROGRESS
            )
        except DomainError as exc:
            logger.warning(
                "initiative %s of budget round %s not moved to in progress: %s",
                initiative_id,
                budget_round.pk,
                exc,
            )


# --- Import -----------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text[: limit - 1] + "…" if len(text) > limit else text


def round_create_from_pabulib(*, actor, parsed, title: str | None = None) -> BudgetRound:
    """A closed round from a parsed Pabulib election (budgets.pabulib.Parsed): its projects
    with their names and costs, and anonymous ballots (no voter, no time). The outcomes are
    not computed here: call outcome_compute(round_id=...) next (the import command does).

    `actor` None is a command run by the operator (audited as the system)."""
    if actor is not None:
        require_can_manage(actor)
    total = clean_amount(parsed.budget, name=_("The total budget"), code="bad_total_budget")
    if not parsed.projects:
        raise InvalidInput(_("The file has no projects."), code="no_projects")
    rule = parsed.rule
    if rule not in BudgetRound.Rule.values:
        raise InvalidInput(_("Unknown rule: choose greedy or equal_shares."), code="bad_rule")
    by_pabulib_id = {}
    for project in parsed.projects:
        if project.project_id in by_pabulib_id:
            raise InvalidInput(
                _("Project %(id)s is listed twice.") % {"id": project.project_id[:30]},
                code="duplicate_project",
            )
        clean_amount(project.cost, name=_("The cost"), code="bad_cost")
        by_pabulib_id[project.project_id] = project
    longest = 1
    for ballot in parsed.ballots:
        if len(set(ballot)) != len(ballot):
            raise InvalidInput(_("The same project was picked twice."), code="duplicate_project")
        unknown = [p for p in ballot if p not in by_pabulib_id]
        if unknown:
            raise InvalidInput(
                _("Project %(id)s is not on this round's ballot.") % {"id": unknown[0][:30]},
                code="unknown_project",
            )
        longest = max(longest, len(ballot))
    meta = parsed.meta
    name = _clip(
        title
        or " ".join(
            x for x in (meta.get("description"), meta.get("unit"), meta.get("instance")) if x
        )
        or "Pabulib",
        TITLE_MAX,
    )
    now = timezone.now()
    with transaction.atomic():
        budget_round = BudgetRound.objects.create(
            original_language=detect_language(name),
            **{f"title_{detect_language(name)}": name},
            total_budget=total,
            eligibility=Eligibility.EMAIL,
            min_projects=1,
            max_projects=min(max(longest, 1), 32000),
            rule=rule,
            status=S.CLOSED,
            opens_at=now,
            closes_at=now + timedelta(seconds=1),
            opened_at=now,
            closed_at=now,
            results_visibility=BudgetRound.Visibility.LIVE,
            secret_ballot=True,
            imported=True,
            final_ballots=len(parsed.ballots),
            computation=BudgetRound.Computation.QUEUED,
            created_by=actor,
        )
        projects = BudgetProject.objects.bulk_create(
            [
                BudgetProject(
                    round=budget_round,
                    # Pabulib's names are in the data set's language: one version, marked.
                    original_language=detect_language(p.name or p.project_id),
                    **{
                        f"title_{detect_language(p.name or p.project_id)}": _clip(
                            p.name or p.project_id, TITLE_MAX
                        )
                    },
                    cost=p.cost,
                    position=i,
                    pabulib_id=p.project_id,
                    created_by=actor,
                )
                for i, p in enumerate(parsed.projects)
            ]
        )
        ids = {p.pabulib_id: p.pk for p in projects}
        _insert_anonymous_ballots(budget_round.pk, [[ids[p] for p in b] for b in parsed.ballots])
        audit_record(
            actor=actor,
            action="budget_round.import",
            target=budget_round,
            data={"projects": len(projects), "ballots": len(parsed.ballots)},
        )
    logger.info(
        "budget round %s imported: %d projects, %d ballots",
        budget_round.pk,
        len(projects),
        len(parsed.ballots),
    )
    return budget_round


def _insert_anonymous_ballots(round_id: int, ballots: list[list[int]]) -> None:
    """Ballots with no voter and no time, and their picks: COPY on PostgreSQL (200,000
    ballots in seconds), bulk inserts elsewhere. Random ids (UUIDs, random pick ids), like a secret round's:
    nothing keeps the file's voter order."""

    rows = [(uuid.uuid4(), uuid.uuid4(), b) for b in ballots]
    if connection.vendor == "postgresql":
        raw = connection.cursor().cursor
        ballot_table = BudgetBallot._meta.db_table
        pick_table = BudgetBallotProject._meta.db_table
        with raw.copy(f"COPY {ballot_table} (id, round_id, ballot_key) FROM STDIN") as copy:
            for ballot_id, key, _picks in rows:
                copy.write_row((ballot_id, round_id, key))
        taken: set[int] = set()
        with raw.copy(
            f"COPY {pick_table} (id, ballot_id, project_id, round_id) FROM STDIN"
        ) as copy:
            for ballot_id, _key, picks in rows:
                for project_id in picks:
                    pick_id = secrets.randbelow(2**63 - 2**40) + 2**40
                    while pick_id in taken:
                        pick_id = secrets.randbelow(2**63 - 2**40) + 2**40
                    taken.add(pick_id)
                    copy.write_row((pick_id, ballot_id, project_id, round_id))
        return
    BudgetBallot.objects.bulk_create(
        [BudgetBallot(id=b, round_id=round_id, ballot_key=k) for b, k, _p in rows],
        batch_size=2000,
    )
    BudgetBallotProject.objects.bulk_create(
        [
            BudgetBallotProject(ballot_id=b, project_id=p, round_id=round_id)
            for b, _k, picks in rows
            for p in picks
        ],
        batch_size=5000,
    )
