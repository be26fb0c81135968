"""The database keeps the People's Budget's invariants, whatever writes the rows."""

import pytest
from django.db import IntegrityError, transaction

from budgets.models import (
    BudgetBallot,
    BudgetBallotProject,
    BudgetOutcome,
    BudgetParticipation,
    BudgetProject,
    BudgetRound,
)
from tests.factories import UserFactory, district

pytestmark = pytest.mark.django_db


def _refused(**changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetRound.objects.create(
            **{
                "title_kk": "a",
                "title_ru": "a",
                "title_en": "a",
                "total_budget": 1000,
                "eligibility": "email",
                **changes,
            }
        )


@pytest.mark.parametrize(
    "changes",
    [
        {"total_budget": 0},
        {"total_budget": 10**15},
        {"min_projects": 0},
        {"min_projects": 3, "max_projects": 2},
        {"secret_ballot": True, "allow_ballot_change": True},
        {"eligibility": "district"},
        {"rule": "majority"},
        {"status": "open"},
    ],
)
def test_round_constraints(changes):
    _refused(**changes)


def test_round_with_a_district_needs_district_eligibility():
    _refused(district=district("medeu"))


def test_round_closes_after_it_opens():
    from django.utils import timezone

    now = timezone.now()
    _refused(opens_at=now, closes_at=now)


def test_a_valid_round_and_its_titles(budget_round):
    assert budget_round.title == "Almaty People's Budget"
    assert budget_round.alternative_rule == "equal_shares"
    assert budget_round.projects.count() == 3


def test_project_cost_is_positive(budget_round):
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetProject.objects.create(
            round=budget_round, title_kk="x", title_ru="x", title_en="x", cost=0
        )


def test_one_ballot_and_one_participation_per_voter(open_round):
    voter = UserFactory()
    BudgetParticipation.objects.create(round=open_round, voter=voter)
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetParticipation.objects.create(round=open_round, voter=voter)
    BudgetBallot.objects.create(round=open_round, voter=voter)
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetBallot.objects.create(round=open_round, voter=voter)
    # Ballots without a voter (secret, imported) are many.
    BudgetBallot.objects.create(round=open_round)
    BudgetBallot.objects.create(round=open_round)
    assert BudgetBallot.objects.filter(round=open_round).count() == 3


def test_a_project_is_picked_once_per_ballot(open_round):
    ballot = BudgetBallot.objects.create(round=open_round)
    project = open_round.projects.first()
    BudgetBallotProject.objects.create(ballot=ballot, project=project, round=open_round)
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetBallotProject.objects.create(ballot=ballot, project=project, round=open_round)


def test_one_outcome_per_rule(open_round):
    from django.utils import timezone

    BudgetOutcome.objects.create(
        round=open_round, rule="greedy", inputs_hash="x", computed_at=timezone.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetOutcome.objects.create(
            round=open_round, rule="greedy", inputs_hash="y", computed_at=timezone.now()
        )
