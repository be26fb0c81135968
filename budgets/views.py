"""People's Budget pages: the rounds, a round with its ballot, live turnout and results, and
the officials' pages. Thin: reads come from budgets.selectors, every change is a service.

Numbers are formatted here, once, in the reader's language (1 850 000 000 ₸ in kk/ru,
1,850,000,000 ₸ in en); the ballot's script groups its running total with the separator the
page gives it, so both write numbers the same way.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import is_official
from civic.errors import DomainError
from civic.realtime import now_seq
from civic.templatetags.numbers import format_number, format_percent
from civic.views import domain_error_response

from . import services
from .forms import InitiativeProjectForm, ProjectForm, RoundForm
from .models import BudgetRound
from .permissions import require_can_manage, vote_refusal
from .reasons import FUNDED, is_funded
from .selectors import (
    outcome_rows,
    round_get,
    round_list_public,
    round_outcomes,
    round_snapshot,
    voter_state,
)

PROGRESS_UPDATES = 3
PROGRESS_PHOTOS = 4


# --- Formatting -------------------------------------------------------------------------------


def group(n) -> str:
    """An integer grouped the way the current language writes it (civic's one number format)."""
    return format_number(None if n is None else int(n))


def money(n) -> str:
    if n is None:
        return "—"
    return _("%(amount)s ₸") % {"amount": group(n)}


def _separators() -> dict:
    return {
        "group_sep": formats.get_format("THOUSAND_SEPARATOR"),
        "decimal_sep": formats.get_format("DECIMAL_SEPARATOR"),
    }


def over_budget_text(spent: int, total: int) -> str:
    return _(
        "Over the budget by %(over)s: your projects cost %(spent)s and the budget is "
        "%(total)s. Untick a project to vote."
    ) % {"over": money(spent - total), "spent": money(spent), "total": money(total)}


def _ballot_text(budget_round: BudgetRound) -> dict:
    """Every text the ballot's script writes, in the page's language, with {placeholders}."""
    return {
        "money": _("%(amount)s ₸") % {"amount": "{amount}"},
        "spent": _("Spent %(spent)s of %(total)s") % {"spent": "{spent}", "total": "{total}"},
        "over": _(
            "Over the budget by %(over)s: your projects cost %(spent)s and the budget is "
            "%(total)s. Untick a project to vote."
        )
        % {"over": "{over}", "spent": "{spent}", "total": "{total}"},
        "too_many": _("Too many projects: pick at most %(n)s.") % {"n": budget_round.max_projects},
        "too_few": _("Not enough projects: pick at least %(n)s.")
        % {"n": budget_round.min_projects},
    }


# --- Rows for the templates -------------------------------------------------------------------


def _estimate_url(project) -> str | None:
    doc_id = getattr(project, "estimate_document_id", None)
    if not doc_id or not project.initiative_id:
        return None
    return reverse(
        "initiatives:attachment", kwargs={"pk": project.initiative_id, "attachment_id": doc_id}
    )


def _project_rows(budget_round: BudgetRound, *, checked=()) -> list[dict]:
    checked = {str(x) for x in checked}
    rows = []
    for p in budget_round.projects.all():
        estimated = getattr(p, "estimated_cost", None)
        rows.append(
            {
                "id": p.pk,
                "title": p.title,
                "description": p.description,
                "cost": p.cost,
                "cost_text": money(p.cost),
                "initiative_id": p.initiative_id,
                "estimate_url": _estimate_url(p),
                "estimated_text": money(estimated)
                if estimated is not None and estimated != p.cost
                else None,
                "cost_note": p.cost_note,
                "checked": str(p.pk) in checked,
            }
        )
    return rows


def _live_context(budget_round: BudgetRound, user) -> dict:
    seq = now_seq()
    snap = round_snapshot(budget_round, official=is_official(user))
    return live_context(budget_round, snap, seq=seq)


def live_context(budget_round: BudgetRound, snap: dict, *, seq: int) -> dict:
    """The round's live figures written out: the page's first render and the socket's
    fragment (budgets.live) both use this."""
    titles = {p.pk: p.title for p in budget_round.projects.all()}
    ballots = snap["ballots"] or 0
    rows = []
    for row in snap["projects"]:
        votes = row["votes"]
        share = round(100 * votes / ballots, 1) if (votes is not None and ballots) else 0
        rows.append(
            {
                "id": row["id"],
                "title": titles.get(row["id"], ""),
                "votes_text": group(votes),
                "share": share,
            }
        )
    return {
        "seq": seq,
        "ballots": ballots,
        "ballots_text": group(ballots),
        "turnout_text": None if snap["turnout_pct"] is None else format_percent(snap["turnout_pct"]),
        "results_visible": snap["results_visible"],
        "rows": rows,
    }


def _outcome_view(budget_round: BudgetRound, outcome, rows: list[dict]) -> dict:
    total = budget_round.total_budget
    by_id = {r["id"]: r for r in rows}
    segments = []
    for i, pid in enumerate(outcome.funded):
        row = by_id.get(pid)
        if row is None:
            continue
        segments.append(
            {
                "title": row["title"],
                "cost_text": money(row["cost"]),
                "share": 100 * row["cost"] / total if total else 0,
                "colour": i % 8,
            }
        )
    return {
        "rule": outcome.rule,
        "rule_label": BudgetRound.Rule(outcome.rule).label,
        "spent_text": money(outcome.spent),
        "left_text": money(max(0, total - outcome.spent)),
        "funded_count": len(segments),
        "segments": segments,
        "chart_label": _("Spent %(spent)s of %(total)s")
        % {"spent": money(outcome.spent), "total": money(total)},
    }


def _progress(rows: list[dict], user) -> list[dict]:
    """The funded projects that came from initiatives: how their work is going (the
    initiative's status, its dated public updates, its photos)."""
    from communities.models import Attachment
    from communities.selectors import can_view_initiative, initiative_progress

    items = []
    for row in rows:
        if not row["funded"]:
            continue
        initiative = row["project"].initiative
        if initiative is None or not can_view_initiative(initiative, user):
            continue
        work = initiative_progress(initiative, limit=PROGRESS_UPDATES)
        updates = [
            {"at": change.created_at, "text": change.response}
            for change in initiative.history.exclude(response="").order_by("-created_at")[
                :PROGRESS_UPDATES
            ]
        ] + [
            {"at": u.created_at, "text": format_percent(u.percent, 0) + (f" · {u.note}" if u.note else "")}
            for u in work["updates"]
        ]
        updates = sorted(updates, key=lambda u: u["at"], reverse=True)[:PROGRESS_UPDATES]
        photos = [
            {
                "title": a.title,
                "url": reverse(
                    "initiatives:attachment",
                    kwargs={"pk": initiative.pk, "attachment_id": a.pk},
                ),
            }
            for a in initiative.attachments.filter(kind=Attachment.Kind.PHOTO).order_by(
                "-created_at"
            )[:PROGRESS_PHOTOS]
        ]
        items.append(
            {
                "title": row["title"],
                "initiative": initiative,
                "percent": work["percent"],
                "updates": updates,
                "photos": photos,
            }
        )
    return items


def _beside_badge(reason: str | None, text: str) -> str:
    """A plainly funded project's cell says so with its badge alone ("Funded" once)."""
    return "" if reason == FUNDED else text


def _results_context(budget_round: BudgetRound, user) -> dict:
    primary, alternative = round_outcomes(budget_round)
    if primary is None:
        return {
            "primary": None,
            "failed": budget_round.computation == BudgetRound.Computation.FAILED,
        }
    primary_rows = outcome_rows(budget_round, primary)
    alt_rows = {r["id"]: r for r in outcome_rows(budget_round, alternative)} if alternative else {}
    rows = []
    for r in primary_rows:
        alt = alt_rows.get(r["id"], {})
        rows.append(
            {
                "id": r["id"],
                "title": r["title"],
                "cost_text": money(r["cost"]),
                "votes_text": group(r["votes"]),
                "primary_funded": is_funded(r["reason"]) or r["funded"],
                "primary_reason": _beside_badge(r.get("reason"), r["reason_text"]),
                "alt_funded": bool(alt.get("funded")),
                "alt_reason": _beside_badge(alt.get("reason"), alt.get("reason_text", "")),
            }
        )
    return {
        "primary": _outcome_view(budget_round, primary, primary_rows),
        "alternative": _outcome_view(budget_round, alternative, list(alt_rows.values()))
        if alternative
        else None,
        "ballots": primary.ballots,
        "ballots_text": group(primary.ballots),
        "rows": rows,
        "progress": _progress(primary_rows, user),
    }


# --- Public pages -----------------------------------------------------------------------------


def round_list(request):
    rounds = list(round_list_public(user=request.user)[:200])
    groups = {
        status: [
            {"round": r, "total_text": money(r.total_budget)} for r in rounds if r.status == status
        ]
        for status in BudgetRound.Status.values
    }
    return render(request, "budgets/index.html", {"groups": groups})


def _detail_context(request, budget_round: BudgetRound, **extra) -> dict:
    user = request.user
    ballot = voter_state(budget_round, user)
    can_change = budget_round.allow_ballot_change and not budget_round.secret_ballot
    refusal = vote_refusal(user, budget_round) if budget_round.status == "open" else None
    selected = extra.pop("selected", None)
    checked = selected if selected is not None else ballot["projects"]
    projects = _project_rows(budget_round, checked=checked)
    spent = sum(p["cost"] for p in projects if p["checked"])
    total = budget_round.total_budget
    mine = [p for p in projects if p["id"] in set(ballot["projects"])]
    show_form = (
        budget_round.status == BudgetRound.Status.OPEN
        and refusal is None
        and (not ballot["voted"] or can_change)
    )
    context = {
        "round": budget_round,
        "projects": projects,
        "total_text": money(total),
        "ballot": {**ballot, "can_change": can_change},
        "my_picks": mine,
        "my_spent_text": money(sum(p["cost"] for p in mine)),
        "refusal": refusal,
        "show_form": show_form,
        "spent_text": _("Spent %(spent)s of %(total)s")
        % {"spent": money(spent), "total": money(total)},
        "spent_share": min(100.0, 100 * spent / total) if total else 0.0,
        "over_budget": spent > total,
        "over_text": over_budget_text(spent, total) if spent > total else "",
        "ballot_text": _ballot_text(budget_round),
        "live": _live_context(budget_round, user),
        "results": _results_context(budget_round, user)
        if budget_round.status == BudgetRound.Status.CLOSED
        else None,
        **_separators(),
        **extra,
    }
    return context


@require_http_methods(["GET", "POST"])
def round_detail(request, round_id: int):
    budget_round = round_get(round_id=round_id, user=request.user)
    if budget_round is None:
        raise Http404
    if request.method == "POST":
        picks = request.POST.getlist("project")
        try:
            result = services.ballot_cast(
                actor=request.user, round_id=budget_round.pk, project_ids=picks
            )
        except DomainError as exc:
            context = _detail_context(
                request, budget_round, error=exc.message, error_link=exc.link, selected=picks
            )
            return render(request, "budgets/detail.html", context, status=exc.status)
        messages.success(
            request,
            _("Your ballot has been changed.")
            if getattr(result, "changed", False)
            else _("Thank you! Your ballot is counted."),
        )
        return redirect("budgets:detail", round_id=budget_round.pk)
    return render(request, "budgets/detail.html", _detail_context(request, budget_round))


# --- Officials --------------------------------------------------------------------------------


def _official_only(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        try:
            require_can_manage(request.user)
        except DomainError as exc:
            return domain_error_response(request, exc)
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    return wrapper


def _managed(request, round_id) -> BudgetRound:
    budget_round = round_get(round_id=round_id, user=request.user)
    if budget_round is None:
        raise Http404
    return budget_round


@_official_only
def manage_list(request):
    rounds = BudgetRound.objects.select_related("district").order_by("-created_at")[:200]
    items = [{"round": r, "total_text": money(r.total_budget)} for r in rounds]
    return render(request, "budgets/manage_list.html", {"rounds": items})


def _round_data(form: RoundForm) -> services.RoundInput:
    d = dict(form.cleaned_data)
    district = d.pop("district", None)
    d["district_id"] = district.pk if district else None
    return services.RoundInput(**{k: v for k, v in d.items() if k in services.ROUND_INPUT_FIELDS})


@_official_only
@require_http_methods(["GET", "POST"])
def manage_create(request):
    form = RoundForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            budget_round = services.round_create(actor=request.user, data=_round_data(form))
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("The budget round is saved as a draft."))
            return redirect("budgets:manage_detail", round_id=budget_round.pk)
    return render(request, "budgets/manage_form.html", {"form": form}, status=status)


@_official_only
@require_http_methods(["GET", "POST"])
def manage_edit(request, round_id: int):
    budget_round = _managed(request, round_id)
    form = RoundForm(request.POST or None, initial=RoundForm.initial_for(budget_round))
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            services.round_update(
                actor=request.user, round_id=budget_round.pk, data=_round_data(form)
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("Saved."))
            return redirect("budgets:manage_detail", round_id=budget_round.pk)
    context = {"form": form, "round": budget_round}
    return render(request, "budgets/manage_form.html", context, status=status)


def _candidates(budget_round: BudgetRound, *, bound: InitiativeProjectForm | None = None):
    """Accepted initiatives whose community gave a cost estimate and that are not on this
    round's ballot yet, each with its form (the estimate as the cost to confirm)."""
    from communities.models import Attachment, Initiative

    taken = set(budget_round.projects.exclude(initiative=None).values_list("initiative", flat=True))
    initiatives = (
        Initiative.objects.filter(status=Initiative.Status.ACCEPTED, budget_kzt__isnull=False)
        .exclude(pk__in=taken)
        .select_related("community")
        .order_by("-decided_at", "-pk")[:100]
    )
    items = []
    for initiative in initiatives:
        estimate = (
            initiative.attachments.filter(kind=Attachment.Kind.ESTIMATE)
            .order_by("-created_at")
            .first()
        )
        if bound is not None and str(bound.data.get("initiative")) == str(initiative.pk):
            form = bound
        else:
            form = InitiativeProjectForm(
                initial={"initiative": initiative.pk, "cost": int(initiative.budget_kzt)},
                auto_id=f"id_i{initiative.pk}_%s",
            )
        items.append(
            {
                "initiative": initiative,
                "estimate_text": money(initiative.budget_kzt),
                "estimate_url": reverse(
                    "initiatives:attachment",
                    kwargs={"pk": initiative.pk, "attachment_id": estimate.pk},
                )
                if estimate
                else None,
                "form": form,
            }
        )
    return items


def _manage_context(request, budget_round: BudgetRound, **extra) -> dict:
    projects = _project_rows(budget_round)
    editable = budget_round.status == BudgetRound.Status.DRAFT
    context = {
        "round": budget_round,
        "projects": projects,
        "projects_total_text": money(sum(p["cost"] for p in projects)),
        "total_text": money(budget_round.total_budget),
        "editable": editable,
        "candidates": _candidates(budget_round, bound=extra.pop("initiative_form", None))
        if editable
        else [],
        "project_form": extra.pop("project_form", None) or ProjectForm(),
        "live": _live_context(budget_round, request.user),
        "results": _results_context(budget_round, request.user)
        if budget_round.status == BudgetRound.Status.CLOSED
        else None,
        **_separators(),
        **extra,
    }
    return context


@_official_only
def manage_detail(request, round_id: int):
    budget_round = _managed(request, round_id)
    return render(request, "budgets/manage_detail.html", _manage_context(request, budget_round))


@_official_only
@require_POST
def project_add(request, round_id: int):
    budget_round = _managed(request, round_id)
    form = ProjectForm(request.POST)
    if form.is_valid():
        try:
            services.project_add(
                actor=request.user,
                round_id=budget_round.pk,
                data=services.ProjectInput(**form.cleaned_data),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("The project is on the ballot."))
            return redirect("budgets:manage_detail", round_id=budget_round.pk)
    else:
        status = 400
    budget_round = _managed(request, round_id)
    context = _manage_context(request, budget_round, project_form=form)
    return render(request, "budgets/manage_detail.html", context, status=status)


@_official_only
@require_POST
def project_add_initiative(request, round_id: int):
    budget_round = _managed(request, round_id)
    initiative_id = request.POST.get("initiative", "")
    form = InitiativeProjectForm(request.POST, auto_id=f"id_i{initiative_id[:20]}_%s")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.project_add(
                actor=request.user,
                round_id=budget_round.pk,
                data=services.ProjectInput(
                    initiative_id=d["initiative"], cost=d["cost"], cost_note=d["cost_note"]
                ),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("The project is on the ballot."))
            return redirect("budgets:manage_detail", round_id=budget_round.pk)
    else:
        status = 400
    budget_round = _managed(request, round_id)
    context = _manage_context(request, budget_round, initiative_form=form)
    return render(request, "budgets/manage_detail.html", context, status=status)


@_official_only
@require_POST
def project_cost(request, round_id: int, project_id: int):
    """The akimat confirms or corrects a draft project's cost, with a public note."""
    _managed(request, round_id)
    cost = request.POST.get("cost", "").strip().replace(" ", "").replace("\xa0", "")
    try:
        services.project_update(
            actor=request.user,
            round_id=round_id,
            project_id=project_id,
            cost=cost,
            cost_note=request.POST.get("cost_note", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The cost is saved."))
    return redirect("budgets:manage_detail", round_id=round_id)


@_official_only
@require_POST
def project_remove(request, round_id: int, project_id: int):
    _managed(request, round_id)
    try:
        services.project_remove(actor=request.user, round_id=round_id, project_id=project_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The project is removed from the ballot."))
    return redirect("budgets:manage_detail", round_id=round_id)


ACTIONS = {"schedule": "round_schedule", "open": "round_open", "close": "round_close"}


@_official_only
@require_POST
def manage_action(request, round_id: int, action: str):
    name = ACTIONS.get(action)
    if name is None:
        raise Http404
    _managed(request, round_id)
    try:
        getattr(services, name)(actor=request.user, round_id=round_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Done."))
    return redirect("budgets:manage_detail", round_id=round_id)
