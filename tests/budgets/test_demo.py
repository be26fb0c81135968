"""seed_demo's People's Budget: the open 2027 round with the tram depot, the closed 2025 round
with both outcomes and their reasons; seeding twice adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from budgets import pabulib
from budgets.models import BudgetBallot, BudgetOutcome, BudgetProject, BudgetRound
from budgets.services import forget_round_meta

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_round_meta():
    # Test databases hand out the same ids again after a rollback; production never does.
    forget_round_meta()
    yield
    forget_round_meta()


def test_seed_demo_has_an_open_2027_round_and_a_closed_2025_round(settings, tmp_path, client):
    settings.DEMO_MODE = True
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo")

    open_round = BudgetRound.objects.get(title_en="Almaty People's Budget 2027")
    assert open_round.status == BudgetRound.Status.OPEN
    assert open_round.title_kk == "Алматы халық бюджеті 2027"
    assert open_round.title_ru == "Народный бюджет Алматы 2027"
    assert open_round.rule == BudgetRound.Rule.EQUAL_SHARES
    depot = open_round.projects.get(initiative__community__slug="tram-depot")
    assert depot.initiative.status == "accepted"
    assert depot.estimated_cost == 1_850_000_000 and depot.cost == 1_700_000_000
    assert "1,85" in depot.cost_note  # the akimat's public note on its correction
    assert depot.estimate_document is not None  # the dossier's estimate stays linked
    assert open_round.projects.filter(initiative__isnull=True).count() == 5
    assert BudgetBallot.objects.filter(round=open_round).count() == 30
    page = client.get(f"/en/budgets/{open_round.pk}/")
    assert page.status_code == 200
    assert "tram depot" in page.content.decode()

    past = BudgetRound.objects.get(title_en="Almaty People's Budget 2025")
    assert past.status == BudgetRound.Status.CLOSED and past.imported
    assert past.closed_at.year == 2025 and past.opens_at.year == 2025
    assert past.title_kk == "Алматы халық бюджеті 2025"
    assert BudgetProject.objects.get(round=past, pabulib_id="1").title_en == (
        "New alleys in Gorky Park"
    )
    outcomes = {o.rule: o for o in BudgetOutcome.objects.filter(round=past)}
    assert set(outcomes) == {"greedy", "equal_shares"}
    assert outcomes["greedy"].is_primary and outcomes["greedy"].ballots == 300
    assert set(outcomes["greedy"].funded) != set(outcomes["equal_shares"].funded)
    reasons = {row["reason"] for row in outcomes["equal_shares"].projects}
    assert "not_funded_supporters_spent" in reasons
    results = client.get(f"/api/v1/budgets/{past.pk}/results").json()
    assert results["status"] == "closed" and results["funded"] == outcomes["greedy"].funded
    exported = pabulib.parse(client.get(f"/api/v1/budgets/{past.pk}/pabulib").content)
    assert exported.budget == 2_000_000_000 and len(exported.ballots) == 300

    counts = (
        BudgetRound.objects.count(),
        BudgetProject.objects.count(),
        BudgetBallot.objects.count(),
        BudgetOutcome.objects.count(),
    )
    call_command("seed_demo")
    assert (
        BudgetRound.objects.count(),
        BudgetProject.objects.count(),
        BudgetBallot.objects.count(),
        BudgetOutcome.objects.count(),
    ) == counts
    assert counts[0] == 2


def test_the_past_rounds_file_is_the_same_every_time_and_valid():
    from budgets.demo import past_round_pabulib

    text = past_round_pabulib()
    assert text == past_round_pabulib()
    parsed = pabulib.parse(text)
    assert parsed.rule == "greedy" and len(parsed.ballots) == 300
    assert parsed.meta["date_begin"] == "01.03.2025"


def test_no_budget_rounds_outside_demo_mode(settings):
    settings.DEMO_MODE = False
    call_command("seed_demo")
    assert not BudgetRound.objects.exists()
