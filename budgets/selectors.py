"""Reads of budget rounds: lists, the live snapshot (ballots, turnout, per-project counts when
visible), the results with each project's reason, and the reasons in words."""

from __future__ import annotations

from django.db.models import Count

from accounts.permissions import is_official
from civic.realtime import (
    EVENT_BUDGET_SNAPSHOT,
    EVENT_BUDGET_UPDATE,
    GROUP_BUDGET_OFFICIALS,
    GROUP_BUDGET_PUBLIC,
    envelope,
)
from residents.eligibility import RESIDENT_LEVELS, Eligibility

from .models import (
    BudgetBallot,
    BudgetBallotProject,
    BudgetOutcome,
    BudgetParticipation,
    BudgetProject,
    BudgetRound,
)
from .permissions import can_view, results_visible
from .reasons import reason_text


def round_groups(round_id: int) -> tuple[str, str]:
    return GROUP_BUDGET_PUBLIC.format(id=round_id), GROUP_BUDGET_OFFICIALS.format(id=round_id)


def _parse_pk(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        value = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value < 2**63 else None


def round_list_public(*, user=None):
    qs = BudgetRound.objects.select_related("district").order_by("-opens_at", "-id")
    if not is_official(user):
        qs = qs.exclude(status=BudgetRound.Status.DRAFT)
    return qs


def round_get(*, round_id, user=None) -> BudgetRound | None:
    """The round if this user may see it (drafts: officials only), else None."""
    pk = _parse_pk(round_id)
    if pk is None:
        return None
    budget_round = (
        BudgetRound.objects.select_related("district")
        .prefetch_related("projects")
        .filter(pk=pk)
        .first()
    )
    if budget_round is None or not can_view(user, budget_round):
        return None
    return budget_round


def ballots_count(budget_round: BudgetRound) -> int:
    if budget_round.status == BudgetRound.Status.CLOSED and budget_round.final_ballots is not None:
        return budget_round.final_ballots
    return BudgetBallot.objects.filter(round_id=budget_round.pk).count()


def project_votes(budget_round: BudgetRound) -> dict[int, int]:
    """Approvals per project id, from the ballot rows."""
    return dict(
        BudgetBallotProject.objects.filter(round_id=budget_round.pk)
        .order_by()
        .values_list("project_id")
        .annotate(n=Count("id"))
    )


def eligible_count(budget_round: BudgetRound) -> int | None:
    """The turnout's denominator: residents in the current register (of the district, or the
    city) for a residents' round, else accounts with a verified e-mail. None when unknown."""
    if budget_round.eligibility in RESIDENT_LEVELS:
        from residents.selectors import register_residents_counts

        counts = register_residents_counts()
        if counts is not None:
            if budget_round.eligibility == Eligibility.DISTRICT:
                return counts.get(budget_round.district_id, 0)
            return counts.get("all", 0)
    from allauth.account.models import EmailAddress

    users = EmailAddress.objects.filter(verified=True, user__is_active=True)
    if budget_round.district_id:
        users = users.filter(user__district_id=budget_round.district_id)
    return users.values("user_id").distinct().count()


def round_snapshot(budget_round: BudgetRound, *, official: bool) -> dict:
    """What the round's page and the dashboard show live: ballots cast, turnout and, when
    visible to this audience, per-project approvals. Counted from the ballot rows."""
    visible = results_visible(budget_round, official=official)
    ballots = ballots_count(budget_round)
    eligible = eligible_count(budget_round)
    votes = project_votes(budget_round) if visible else {}
    return {
        "round": budget_round.pk,
        "status": budget_round.status,
        "ballots": ballots,
        "eligible": eligible,
        "turnout_pct": min(100.0, round(100 * ballots / eligible, 1)) if eligible else None,
        "results_visible": visible,
        "projects": [
            {"id": p.pk, "votes": votes.get(p.pk, 0) if visible else None}
            for p in budget_round.projects.all()
        ],
    }


def round_message(budget_round: BudgetRound, *, official: bool, seq: int, kind: str) -> dict:
    """The socket's message: the shared envelope around round_snapshot."""
    return envelope(kind, seq=seq, payload=round_snapshot(budget_round, official=official))


def round_snapshot_message(budget_round: BudgetRound, user, *, seq: int) -> dict:
    return round_message(
        budget_round, official=is_official(user), seq=seq, kind=EVENT_BUDGET_SNAPSHOT
    )


def compute_round_push(round_id: int, seq: int) -> list[tuple[str, dict]]:
    """One computation per round per tick, one message per audience."""
    budget_round = BudgetRound.objects.prefetch_related("projects").filter(pk=round_id).first()
    if budget_round is None:
        return []
    public, officials = round_groups(budget_round.pk)
    return [
        (
            public,
            round_message(budget_round, official=False, seq=seq, kind=EVENT_BUDGET_UPDATE),
        ),
        (
            officials,
            round_message(budget_round, official=True, seq=seq, kind=EVENT_BUDGET_UPDATE),
        ),
    ]


def voter_state(budget_round: BudgetRound, user) -> dict:
    """Whether this user has voted here and, for an open ballot, what they chose."""
    if not getattr(user, "is_authenticated", False):
        return {"voted": False, "projects": []}
    voted = BudgetParticipation.objects.filter(round=budget_round, voter=user).exists()
    if budget_round.secret_ballot or not voted:
        return {"voted": voted, "projects": []}
    ballot = BudgetBallot.objects.filter(round=budget_round, voter=user).first()
    picks = list(ballot.picks.values_list("project_id", flat=True)) if ballot else []
    return {"voted": voted, "projects": picks}


def round_outcomes(budget_round: BudgetRound) -> tuple[BudgetOutcome | None, BudgetOutcome | None]:
    """(the round's own rule's outcome, the other rule's), each None until computed."""
    by_rule = {o.rule: o for o in BudgetOutcome.objects.filter(round=budget_round)}
    return by_rule.get(budget_round.rule), by_rule.get(budget_round.alternative_rule)


def round_results(budget_round: BudgetRound, *, official: bool) -> dict:
    """The API's /results: the round's outcome under its rule, the other rule's beside it.

    Before the outcome is computed (an open round, or a close whose task is running) the
    funded lists are empty and each project's reason is None. Per-project votes are shown
    only where results_visible() allows.
    """
    visible = results_visible(budget_round, official=official)
    primary, alternative = round_outcomes(budget_round)
    projects = list(budget_round.projects.all())
    if primary is not None:
        rows = {row["id"]: row for row in primary.projects}
        votes = {row["id"]: row["votes"] for row in primary.projects}
        ballots = primary.ballots
    else:
        rows = {}
        votes = project_votes(budget_round) if visible else {}
        ballots = ballots_count(budget_round)
    return {
        "status": budget_round.status,
        "rule": budget_round.rule,
        "total_budget": budget_round.total_budget,
        "spent": primary.spent if primary else 0,
        "ballots": ballots,
        "computed": primary is not None,
        "results_visible": visible,
        "funded": list(primary.funded) if primary else [],
        "projects": [
            {
                "id": p.pk,
                "cost": p.cost,
                "votes": votes.get(p.pk, 0) if visible else None,
                "funded": bool(rows.get(p.pk, {}).get("funded", False)),
                "reason": rows.get(p.pk, {}).get("reason"),
            }
            for p in projects
        ],
        "alternative": {
            "rule": budget_round.alternative_rule,
            "funded": list(alternative.funded) if alternative else [],
            "spent": alternative.spent if alternative else 0,
        },
    }


def outcome_rows(budget_round: BudgetRound, outcome: BudgetOutcome | None) -> list[dict]:
    """For pages: each project with its cost, votes, funded flag and reason in words, in the
    outcome's funding order first."""
    projects = {p.pk: p for p in budget_round.projects.all()}
    titles = {pk: p.title for pk, p in projects.items()}
    if outcome is None:
        return []
    rows = []
    for row in outcome.projects:
        project = projects.get(row["id"])
        if project is None:
            continue
        rows.append(
            {
                "project": project,
                "id": project.pk,
                "title": project.title,
                "cost": project.cost,
                "votes": row.get("votes", 0),
                "funded": row.get("funded", False),
                "reason": row.get("reason"),
                "reason_text": reason_text(row.get("reason"), row.get("reason_data"), titles),
            }
        )
    order = {pid: i for i, pid in enumerate(outcome.funded)}
    rows.sort(key=lambda r: (0 if r["funded"] else 1, order.get(r["id"], 0), -r["votes"]))
    return rows


def project_list(budget_round: BudgetRound):
    return BudgetProject.objects.filter(round=budget_round).select_related("initiative")
