"""People's Budget services: rounds, projects, ballots, close and outcomes (real PostgreSQL
when DATABASE_URL names it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from budgets.models import (
    BudgetBallot,
    BudgetBallotProject,
    BudgetOutcome,
    BudgetParticipation,
    BudgetProject,
    BudgetRound,
)
from budgets.services import (
    ProjectInput,
    RoundInput,
    ballot_cast,
    ballot_change,
    outcome_compute,
    project_add,
    project_remove,
    project_update,
    round_close,
    round_create,
    round_input_of,
    round_open,
    round_schedule,
    round_update,
    rounds_advance_schedule,
)
from civic.errors import Conflict, DomainError, Forbidden, InvalidInput, NotAuthenticated, NotFound
from tests.factories import UserFactory, district, make_initiative, make_resident

from .conftest import TOTAL, make_project, make_round, project_ids

pytestmark = pytest.mark.django_db


def _data(**kw) -> RoundInput:
    kw.setdefault("title_kk", "Бюджет")
    kw.setdefault("title_ru", "Бюджет")
    kw.setdefault("title_en", "Budget")
    kw.setdefault("total_budget", TOTAL)
    return RoundInput(**kw)


def _code(exc_info) -> str:
    return exc_info.value.code


def _rows() -> tuple[int, ...]:
    return (
        BudgetRound.objects.count(),
        BudgetProject.objects.count(),
        BudgetBallot.objects.count(),
        BudgetBallotProject.objects.count(),
        BudgetParticipation.objects.count(),
    )


# --- Rounds -----------------------------------------------------------------------------------


def test_an_official_creates_a_draft_round(budget_official):
    budget_round = round_create(
        actor=budget_official, data=_data(rule="equal_shares", min_projects=2, max_projects=4)
    )
    assert budget_round.status == "draft"
    assert budget_round.eligibility == "city"  # verified residents by default
    assert (budget_round.min_projects, budget_round.max_projects) == (2, 4)
    assert budget_round.rule == "equal_shares"
    assert AuditEntry.objects.filter(action="budget_round.create").count() == 1


def test_a_district_round_is_for_its_residents(budget_official):
    medeu = district("medeu")
    budget_round = round_create(actor=budget_official, data=_data(district_id=medeu.pk))
    assert (budget_round.district_id, budget_round.eligibility) == (medeu.pk, "district")


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"total_budget": 0}, "bad_total_budget"),
        ({"total_budget": -5}, "bad_total_budget"),
        ({"total_budget": 10**15}, "bad_total_budget"),
        ({"total_budget": 2**63}, "bad_total_budget"),
        ({"total_budget": "12.5"}, "bad_total_budget"),
        ({"total_budget": True}, "bad_total_budget"),
        ({"total_budget": None}, "bad_total_budget"),
        ({"min_projects": 0}, "bad_count"),
        ({"min_projects": 3, "max_projects": 2}, "max_below_min"),
        ({"max_projects": 10**6}, "bad_count"),
        ({"rule": "majority"}, "bad_rule"),
        ({"results_visibility": "sometimes"}, "bad_visibility"),
        ({"eligibility": "district"}, "district_required"),
        ({"eligibility": "everyone"}, "bad_eligibility"),
        ({"secret_ballot": True, "allow_ballot_change": True}, "secret_is_final"),
    ],
)
def test_round_input_is_checked(budget_official, changes, code):
    before = _rows()
    with pytest.raises(InvalidInput) as exc:
        round_create(actor=budget_official, data=_data(**changes))
    assert _code(exc) == code
    assert _rows() == before


def test_dates_in_order_and_district_needs_district_eligibility(budget_official):
    now = timezone.now()
    with pytest.raises(InvalidInput) as exc:
        round_create(actor=budget_official, data=_data(opens_at=now, closes_at=now))
    assert _code(exc) == "bad_dates"
    with pytest.raises(InvalidInput) as exc:
        round_create(
            actor=budget_official, data=_data(district_id=district().pk, eligibility="city")
        )
    assert _code(exc) == "district_needs_district_eligibility"


def test_only_officials_manage_rounds(db):
    with pytest.raises(NotAuthenticated):
        round_create(actor=None, data=_data())
    with pytest.raises(Forbidden):
        round_create(actor=UserFactory(), data=_data())
    assert BudgetRound.objects.count() == 0


def test_a_draft_is_edited_field_by_field_and_an_open_round_not_at_all(
    budget_round, budget_official
):
    round_update(
        actor=budget_official,
        round_id=budget_round.pk,
        changes={"title_en": "Almaty People's Budget 2027", "max_projects": 2},
    )
    budget_round.refresh_from_db()
    assert budget_round.title_en == "Almaty People's Budget 2027"
    assert budget_round.max_projects == 2
    assert budget_round.title_ru == "Народный бюджет Алматы"  # the rest stays
    # A total below a project's cost is refused: that project could never be funded.
    with pytest.raises(InvalidInput) as exc:
        round_update(
            actor=budget_official, round_id=budget_round.pk, changes={"total_budget": 3_500_000}
        )
    assert _code(exc) == "cost_above_total"
    round_open(actor=budget_official, round_id=budget_round.pk)
    with pytest.raises(Conflict) as exc:
        round_update(
            actor=budget_official,
            round_id=budget_round.pk,
            data=round_input_of(budget_round, title_en="Changed"),
        )
    assert _code(exc) == "round_not_draft"
    budget_round.refresh_from_db()
    assert budget_round.title_en == "Almaty People's Budget 2027"


def test_unknown_round_ids_are_not_found(budget_official):
    for bad in (0, -1, 2**63, "x", None, 10**30):
        with pytest.raises(NotFound):
            round_open(actor=budget_official, round_id=bad)


# --- Projects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cost, code",
    [(0, "bad_cost"), (-100, "bad_cost"), ("abc", "bad_cost"), (2**63, "bad_cost")],
)
def test_project_costs_are_positive_whole_tenge(budget_round, cost, code):
    before = _rows()
    with pytest.raises(InvalidInput) as exc:
        make_project(budget_round, cost)
    assert _code(exc) == code
    assert _rows() == before


def test_a_cost_above_the_total_is_refused(budget_round):
    with pytest.raises(InvalidInput) as exc:
        make_project(budget_round, TOTAL + 1)
    assert _code(exc) == "cost_above_total"
    assert "10\u00a0000\u00a0000" in str(exc.value.message)
    make_project(budget_round, TOTAL)  # exactly the total fits


def _accepted_initiative(**kw):
    kw.setdefault("budget_kzt", "2500000.00")
    return make_initiative(status="accepted", **kw)


def test_an_accepted_initiative_goes_on_the_ballot_with_its_estimate(
    budget_round, budget_official, settings, tmp_path
):
    from communities.services import attachment_add
    from tests.communities.files import PDF, upload

    settings.MEDIA_ROOT = tmp_path
    initiative = _accepted_initiative()
    estimate = attachment_add(
        actor=initiative.created_by,
        initiative_id=initiative.pk,
        title="Estimate",
        kind="estimate",
        upload=upload("smeta.pdf", PDF),
    )
    project = project_add(
        actor=budget_official,
        round_id=budget_round.pk,
        data=ProjectInput(initiative_id=initiative.pk),
    )
    assert project.cost == 2_500_000 == project.estimated_cost
    assert project.initiative_id == initiative.pk
    assert project.estimate_document_id == estimate.pk
    assert project.title_en == initiative.title
    # Added twice: a clear 409, nothing changed.
    before = _rows()
    with pytest.raises(Conflict) as exc:
        project_add(
            actor=budget_official,
            round_id=budget_round.pk,
            data=ProjectInput(initiative_id=initiative.pk, cost=100),
        )
    assert _code(exc) == "duplicate_project"
    assert _rows() == before


def test_the_akimat_corrects_an_estimate_with_a_public_note(budget_round, budget_official):
    initiative = _accepted_initiative()
    with pytest.raises(InvalidInput) as exc:
        project_add(
            actor=budget_official,
            round_id=budget_round.pk,
            data=ProjectInput(initiative_id=initiative.pk, cost=3_000_000),
        )
    assert _code(exc) == "cost_note_required"
    project = project_add(
        actor=budget_official,
        round_id=budget_round.pk,
        data=ProjectInput(
            initiative_id=initiative.pk, cost=3_000_000, cost_note="Lighting was missing."
        ),
    )
    assert (project.cost, project.estimated_cost) == (3_000_000, 2_500_000)
    assert project.cost_note == "Lighting was missing."


def test_only_accepted_initiatives_with_a_cost(budget_round, budget_official):
    submitted = make_initiative(status="submitted", budget_kzt="1000")
    with pytest.raises(InvalidInput) as exc:
        project_add(
            actor=budget_official,
            round_id=budget_round.pk,
            data=ProjectInput(initiative_id=submitted.pk),
        )
    assert _code(exc) == "initiative_not_accepted"
    no_estimate = make_initiative(status="accepted")
    with pytest.raises(InvalidInput) as exc:
        project_add(
            actor=budget_official,
            round_id=budget_round.pk,
            data=ProjectInput(initiative_id=no_estimate.pk),
        )
    assert _code(exc) == "cost_required"
    with pytest.raises(NotFound):
        project_add(
            actor=budget_official, round_id=budget_round.pk, data=ProjectInput(initiative_id=2**63)
        )


def test_costs_are_edited_and_projects_removed_only_in_draft(budget_round, budget_official):
    first, second = project_ids(budget_round)[:2]
    project_update(
        actor=budget_official, round_id=budget_round.pk, project_id=first, cost=4_500_000
    )
    assert BudgetProject.objects.get(pk=first).cost == 4_500_000
    project_remove(actor=budget_official, round_id=budget_round.pk, project_id=second)
    assert not BudgetProject.objects.filter(pk=second).exists()
    other = make_round(official=budget_official, projects=[100])
    with pytest.raises(NotFound):  # a project of another round
        project_remove(
            actor=budget_official, round_id=budget_round.pk, project_id=project_ids(other)[0]
        )
    round_open(actor=budget_official, round_id=budget_round.pk)
    for attempt in (
        lambda: project_update(
            actor=budget_official, round_id=budget_round.pk, project_id=first, cost=1
        ),
        lambda: project_remove(actor=budget_official, round_id=budget_round.pk, project_id=first),
        lambda: make_project(budget_round, 1000, official=budget_official),
    ):
        with pytest.raises(Conflict) as exc:
            attempt()
        assert _code(exc) == "round_not_draft"
    assert BudgetProject.objects.get(pk=first).cost == 4_500_000
    assert budget_round.projects.count() == 2


# --- Lifecycle --------------------------------------------------------------------------------


def test_a_round_opens_with_enough_projects_and_a_closing_time(budget_official):
    empty = make_round(official=budget_official, min_projects=2, max_projects=3, projects=[100])
    with pytest.raises(InvalidInput) as exc:
        round_open(actor=budget_official, round_id=empty.pk)
    assert _code(exc) == "too_few_projects_on_ballot"
    past = make_round(
        official=budget_official,
        projects=[100],
        opens_at=timezone.now() - timedelta(hours=2),
        closes_at=timezone.now() - timedelta(hours=1),
    )
    with pytest.raises(InvalidInput) as exc:
        round_open(actor=budget_official, round_id=past.pk)
    assert _code(exc) == "closing_time_required"


def test_the_beat_opens_and_closes_rounds_by_the_database_clock(
    budget_official, django_capture_on_commit_callbacks
):
    now = timezone.now()
    due = make_round(
        official=budget_official,
        projects=[100],
        opens_at=now - timedelta(seconds=1),
        closes_at=now + timedelta(hours=1),
    )
    later = make_round(
        official=budget_official,
        projects=[100],
        opens_at=now + timedelta(hours=1),
        closes_at=now + timedelta(hours=2),
    )
    round_schedule(actor=budget_official, round_id=due.pk)
    round_schedule(actor=budget_official, round_id=later.pk)
    assert rounds_advance_schedule() == {"opened": 1, "closed": 0}
    assert rounds_advance_schedule() == {"opened": 0, "closed": 0}  # twice: nothing more
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, later.status) == ("open", "scheduled")
    BudgetRound.objects.filter(pk=due.pk).update(
        opens_at=now - timedelta(minutes=5), closes_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert rounds_advance_schedule() == {"opened": 0, "closed": 1}
    due.refresh_from_db()
    assert due.status == "closed" and due.computation == "done"


# --- Ballots ----------------------------------------------------------------------------------


def test_a_ballot_is_cast_once(open_round, citizen):
    a, b, c = project_ids(open_round)
    result = ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=[a, c])
    assert result.as_json() == {
        "round": open_round.pk,
        "status": "recorded",
        "projects": [a, c],
        "spent": 9_000_000,
        "secret": False,
    }
    ballot = BudgetBallot.objects.get(round=open_round)
    assert ballot.voter == citizen and ballot.created_at is not None
    assert set(ballot.picks.values_list("project_id", flat=True)) == {a, c}
    assert BudgetParticipation.objects.filter(round=open_round, voter=citizen).count() == 1
    before = _rows()
    with pytest.raises(Conflict) as exc:
        ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=[b])
    assert exc.value.status == 409 and _code(exc) == "already_voted"
    assert _rows() == before


def test_over_budget_is_the_sum_above_the_total(budget_official, citizen):
    budget_round = make_round(
        official=budget_official, projects=[6_000_000, 5_000_000], open_now=True
    )
    with pytest.raises(DomainError) as exc:
        ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=project_ids(budget_round))
    assert exc.value.status == 422 and _code(exc) == "over_budget"
    assert exc.value.extra == {"spent": 11_000_000, "total_budget": 10_000_000}
    message = str(exc.value.message)
    assert "11\u00a0000\u00a0000" in message and "10\u00a0000\u00a0000" in message


@pytest.mark.parametrize(
    "picks, code",
    [
        ([], "too_few"),
        ("not a list", "bad_projects"),
        ([True], "bad_project"),
        ([1.5], "bad_project"),
        (["x"], "bad_project"),
        ([2**63], "unknown_project"),
        ([2**200], "unknown_project"),
        ([-1], "unknown_project"),
        ([0], "unknown_project"),
    ],
)
def test_bad_ballots_are_422_and_change_nothing(open_round, citizen, picks, code):
    before = _rows()
    with pytest.raises(DomainError) as exc:
        ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=picks)
    assert exc.value.status == 422 and _code(exc) == code
    assert _rows() == before


def test_duplicates_too_many_and_another_rounds_project(open_round, budget_official, citizen):
    a = project_ids(open_round)[0]
    other = make_round(official=budget_official, projects=[100], open_now=True)
    tight = make_round(
        official=budget_official, projects=[1, 2, 3], max_projects=2, min_projects=2, open_now=True
    )
    cases = [
        (open_round, [a, a], "duplicate_project"),
        (open_round, [a, str(a)], "duplicate_project"),
        (open_round, [a, project_ids(other)[0]], "unknown_project"),
        (tight, project_ids(tight), "too_many"),
        (tight, project_ids(tight)[:1], "too_few"),
    ]
    before = _rows()
    for budget_round, picks, code in cases:
        with pytest.raises(DomainError) as exc:
            ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=picks)
        assert (exc.value.status, _code(exc)) == (422, code), picks
    assert _rows() == before


def test_closed_draft_and_unknown_rounds(open_round, budget_official, budget_round, citizen):
    a = project_ids(open_round)[0]
    round_close(actor=budget_official, round_id=open_round.pk)
    with pytest.raises(Forbidden) as exc:
        ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=[a])
    assert exc.value.status == 403 and _code(exc) == "round_closed"
    draft = make_round(official=budget_official, projects=[100])
    with pytest.raises(NotFound):  # a draft is not public
        ballot_cast(actor=citizen, round_id=draft.pk, project_ids=project_ids(draft))
    with pytest.raises(NotFound):
        ballot_cast(actor=citizen, round_id=2**63, project_ids=[a])
    with pytest.raises(NotAuthenticated):
        ballot_cast(actor=None, round_id=open_round.pk, project_ids=[a])


def test_a_round_past_its_closing_time_takes_no_ballot(open_round, citizen):
    now = timezone.now()
    BudgetRound.objects.filter(pk=open_round.pk).update(
        opens_at=now - timedelta(seconds=2), closes_at=now - timedelta(seconds=1)
    )
    with pytest.raises(Forbidden) as exc:
        ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=project_ids(open_round)[:1])
    assert _code(exc) == "round_closed"
    assert BudgetBallot.objects.count() == 0


def test_eligibility_by_the_resident_register(budget_official):
    medeu = district("medeu")
    budget_round = make_round(
        official=budget_official, district_id=medeu.pk, projects=[100], open_now=True
    )
    pick = project_ids(budget_round)
    with pytest.raises(Forbidden) as exc:
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=pick)
    assert _code(exc) == "verification_required"
    with pytest.raises(Forbidden) as exc:
        ballot_cast(actor=make_resident(slug="almaly"), round_id=budget_round.pk, project_ids=pick)
    assert _code(exc) == "wrong_district"
    ballot_cast(actor=make_resident(slug="medeu"), round_id=budget_round.pk, project_ids=pick)
    assert BudgetBallot.objects.filter(round=budget_round).count() == 1
    with pytest.raises(Forbidden) as exc:
        ballot_cast(actor=UserFactory(verified=False), round_id=budget_round.pk, project_ids=pick)


def test_a_secret_ballot_keeps_who_apart_from_what(budget_official, citizen):
    budget_round = make_round(
        official=budget_official, projects=[100, 200], secret_ballot=True, open_now=True
    )
    result = ballot_cast(
        actor=citizen, round_id=budget_round.pk, project_ids=project_ids(budget_round)
    )
    assert result.projects is None and result.as_json()["secret"] is True
    ballot = BudgetBallot.objects.get(round=budget_round)
    assert ballot.voter_id is None and ballot.created_at is None
    assert BudgetParticipation.objects.filter(round=budget_round, voter=citizen).exists()
    # Pick ids are random, not in voting order.
    assert all(pk >= 2**40 for pk in ballot.picks.values_list("pk", flat=True))
    with pytest.raises(Conflict):
        ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=project_ids(budget_round))
    assert BudgetBallot.objects.filter(round=budget_round).count() == 1


def test_a_ballot_changes_where_the_round_allows(budget_official, citizen):
    budget_round = make_round(
        official=budget_official, projects=[100, 200, 300], allow_ballot_change=True, open_now=True
    )
    a, b, c = project_ids(budget_round)
    ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=[a])
    result = ballot_change(actor=citizen, round_id=budget_round.pk, project_ids=[b, c])
    assert result.changed and result.spent == 500
    ballot = BudgetBallot.objects.get(round=budget_round)
    assert set(ballot.picks.values_list("project_id", flat=True)) == {b, c}
    assert ballot.changed_at is not None
    assert BudgetParticipation.objects.filter(round=budget_round).count() == 1


def test_no_change_where_the_round_does_not_allow(open_round, citizen):
    a, b, _c = project_ids(open_round)
    ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=[a])
    with pytest.raises(Conflict) as exc:
        ballot_change(actor=citizen, round_id=open_round.pk, project_ids=[b])
    assert _code(exc) == "change_not_allowed"
    ballot = BudgetBallot.objects.get(round=open_round)
    assert list(ballot.picks.values_list("project_id", flat=True)) == [a]


# --- Close and outcomes -----------------------------------------------------------------------


def _vote(budget_round, picks_by_voter):
    for picks in picks_by_voter:
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=picks)


def test_closing_computes_both_outcomes_from_the_ballots(
    budget_official, django_capture_on_commit_callbacks
):
    # The 51 % case: 51 voters approve only A1..A5, 49 only B1..B5, each a fifth of the total.
    budget_round = make_round(
        official=budget_official,
        total_budget=1_000_000,
        projects=[200_000] * 10,
        max_projects=5,
        rule="equal_shares",
        open_now=True,
    )
    ids = project_ids(budget_round)
    a_side, b_side = ids[:5], ids[5:]
    _vote(budget_round, [a_side] * 51 + [b_side] * 49)
    with django_capture_on_commit_callbacks(execute=True):
        round_close(actor=budget_official, round_id=budget_round.pk)
    budget_round.refresh_from_db()
    assert budget_round.final_ballots == 100
    assert budget_round.computation == "done" and budget_round.computation_progress == 100
    primary = BudgetOutcome.objects.get(round=budget_round, rule="equal_shares")
    greedy = BudgetOutcome.objects.get(round=budget_round, rule="greedy")
    assert primary.is_primary and not greedy.is_primary
    assert greedy.funded == a_side and greedy.spent == 1_000_000
    funded = set(primary.funded)
    assert len(funded & set(a_side)) == 3 and len(funded & set(b_side)) == 2
    assert primary.ballots == greedy.ballots == 100
    assert len(primary.inputs_hash) == 64 and primary.inputs_hash == greedy.inputs_hash
    rows = {row["id"]: row for row in primary.projects}
    assert all(rows[p]["votes"] == 51 for p in a_side)
    assert {rows[p]["reason"] for p in ids if p not in funded} == {"not_funded_supporters_spent"}
    # Safe to run twice: the same outcome, replaced, not added.
    outcome_compute(round_id=budget_round.pk)
    assert BudgetOutcome.objects.filter(round=budget_round).count() == 2
    assert (
        BudgetOutcome.objects.get(round=budget_round, rule="equal_shares").funded == primary.funded
    )


def test_outcomes_only_for_a_closed_round(open_round):
    with pytest.raises(Conflict):
        outcome_compute(round_id=open_round.pk)
    assert not BudgetOutcome.objects.exists()


def test_funded_initiatives_move_to_in_progress(
    budget_official, citizen, django_capture_on_commit_callbacks
):
    initiative = _accepted_initiative(budget_kzt="4000000")
    lost = _accepted_initiative(budget_kzt="9000000")
    budget_round = make_round(official=budget_official)
    for i in (initiative, lost):
        project_add(
            actor=budget_official, round_id=budget_round.pk, data=ProjectInput(initiative_id=i.pk)
        )
    round_open(actor=budget_official, round_id=budget_round.pk)
    funded_project = BudgetProject.objects.get(round=budget_round, initiative=initiative)
    ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=[funded_project.pk])
    with django_capture_on_commit_callbacks(execute=True):
        round_close(actor=budget_official, round_id=budget_round.pk)
    initiative.refresh_from_db()
    lost.refresh_from_db()
    # Greedy: the initiative with a vote is funded (4 M), the other (no votes, 9 M) does not fit.
    assert initiative.status == "in_progress"
    assert lost.status == "accepted"


def test_a_ballot_after_the_close_is_refused_though_the_round_was_seen_open(
    open_round, budget_official
):
    a = project_ids(open_round)[0]
    ballot_cast(actor=UserFactory(), round_id=open_round.pk, project_ids=[a])  # seen open
    round_close(actor=budget_official, round_id=open_round.pk)
    with pytest.raises(Forbidden) as exc:
        ballot_cast(actor=UserFactory(), round_id=open_round.pk, project_ids=[a])
    assert _code(exc) == "round_closed"
    assert BudgetBallot.objects.filter(round=open_round).count() == 1
    assert BudgetParticipation.objects.filter(round=open_round).count() == 1


# --- Live snapshot ----------------------------------------------------------------------------


def test_the_snapshot_counts_ballots_and_shows_votes_where_visible(budget_official):
    from budgets.selectors import compute_round_push, round_snapshot

    budget_round = make_round(
        official=budget_official,
        projects=[100, 200],
        results_visibility="officials",
        open_now=True,
    )
    a, b = project_ids(budget_round)
    for picks in ([a], [a, b], [b]):
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=picks)
    public = round_snapshot(budget_round, official=False)
    official = round_snapshot(budget_round, official=True)
    assert public["ballots"] == official["ballots"] == 3
    assert public["results_visible"] is False
    assert public["projects"] == [{"id": a, "votes": None}, {"id": b, "votes": None}]
    assert official["projects"] == [{"id": a, "votes": 2}, {"id": b, "votes": 2}]
    assert official["eligible"] >= 3 and 0 < official["turnout_pct"] <= 100
    pushed = dict(compute_round_push(budget_round.pk, 7))
    assert pushed[f"budgets.{budget_round.pk}.public"]["payload"]["projects"][0]["votes"] is None
    message = pushed[f"budgets.{budget_round.pk}.officials"]
    assert (message["type"], message["seq"]) == ("budget.update", 7)
    assert message["payload"]["projects"][0]["votes"] == 2


# --- Import -----------------------------------------------------------------------------------


def _parsed(ballots, *, budget=1000, rule="greedy"):
    from budgets.pabulib import Parsed, Project

    return Parsed(
        meta={"rule": rule, "description": "Imported"},
        budget=budget,
        projects=(Project("p1", 600, "Park"), Project("p2", 500, "Path"), Project("p3", 300, "")),
        ballots=tuple(tuple(b) for b in ballots),
    )


def test_a_pabulib_election_becomes_a_closed_round_with_anonymous_ballots(budget_official):
    from budgets.services import inputs_hash, round_create_from_pabulib

    budget_round = round_create_from_pabulib(
        actor=budget_official, parsed=_parsed([["p1"], ["p1", "p3"], ["p2", "p3"], []])
    )
    assert budget_round.status == "closed" and budget_round.imported
    assert budget_round.final_ballots == 4
    assert [p.pabulib_id for p in budget_round.projects.all()] == ["p1", "p2", "p3"]
    assert budget_round.projects.get(pabulib_id="p3").title_en == "p3"  # no name: its id
    assert not BudgetBallot.objects.filter(round=budget_round, voter__isnull=False).exists()
    assert BudgetBallotProject.objects.filter(round=budget_round).count() == 5
    greedy, _equal_shares = sorted(outcome_compute(round_id=budget_round.pk), key=lambda o: o.rule)
    ids = {p.pabulib_id: p.pk for p in budget_round.projects.all()}
    assert greedy.funded == [ids["p3"], ids["p1"]] and greedy.spent == 900
    assert greedy.ballots == 4
    costs = dict(budget_round.projects.values_list("pk", "cost"))
    ballots = [
        (ids["p1"],),
        tuple(sorted([ids["p1"], ids["p3"]])),
        (),
        tuple(sorted([ids["p2"], ids["p3"]])),
    ]
    assert greedy.inputs_hash == inputs_hash(1000, costs, ballots)


@pytest.mark.parametrize(
    "ballots, code",
    [([["p1", "p1"]], "duplicate_project"), ([["p9"]], "unknown_project")],
)
def test_a_broken_election_is_refused_whole(budget_official, ballots, code):
    from budgets.services import round_create_from_pabulib

    before = _rows()
    with pytest.raises(InvalidInput) as exc:
        round_create_from_pabulib(actor=budget_official, parsed=_parsed(ballots))
    assert _code(exc) == code
    assert _rows() == before
