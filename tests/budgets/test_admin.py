"""The budgets admin: drafts change through the services, nothing past draft changes at all."""

import pytest

from accounts.models import Role
from audit.models import AuditEntry
from budgets.models import BudgetProject, BudgetRound
from tests.factories import UserFactory

from .conftest import make_round, project_ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True, roles=[Role.OFFICIAL])


def _form(budget_round, **overrides) -> dict:
    data = {
        "title_kk": budget_round.title_kk,
        "title_ru": budget_round.title_ru,
        "title_en": budget_round.title_en,
        "description_kk": "",
        "description_ru": "",
        "description_en": "",
        "total_budget": str(budget_round.total_budget),
        "min_projects": str(budget_round.min_projects),
        "max_projects": str(budget_round.max_projects),
        "rule": budget_round.rule,
        "district": "",
        "eligibility": budget_round.eligibility,
        "opens_at_0": budget_round.opens_at.strftime("%Y-%m-%d"),
        "opens_at_1": budget_round.opens_at.strftime("%H:%M:%S"),
        "closes_at_0": budget_round.closes_at.strftime("%Y-%m-%d"),
        "closes_at_1": budget_round.closes_at.strftime("%H:%M:%S"),
        "results_visibility": budget_round.results_visibility,
        "projects-TOTAL_FORMS": "0",
        "projects-INITIAL_FORMS": "0",
        "projects-MIN_NUM_FORMS": "0",
        "projects-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_a_draft_is_edited_through_the_service(client, superuser, budget_round):
    client.force_login(superuser)
    url = f"/admin/budgets/budgetround/{budget_round.pk}/change/"
    response = client.post(url, _form(budget_round, title_en="Edited", rule="equal_shares"))
    assert response.status_code == 302, response.content.decode()[-2000:]
    budget_round.refresh_from_db()
    assert (budget_round.title_en, budget_round.rule) == ("Edited", "equal_shares")
    assert AuditEntry.objects.filter(action="budget_round.update").count() == 1
    # Refused by the service (a zero budget): a message, nothing changed.
    response = client.post(url, _form(budget_round, total_budget="0"))
    assert response.status_code in (200, 302)
    budget_round.refresh_from_db()
    assert budget_round.total_budget == 10_000_000


def test_nothing_past_draft_changes_in_the_admin(client, superuser, open_round):
    client.force_login(superuser)
    url = f"/admin/budgets/budgetround/{open_round.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="total_budget"' not in page and 'name="title_en"' not in page
    assert client.post(url, _form(open_round, total_budget="1")).status_code == 403
    project = open_round.projects.first()
    response = client.post(
        f"/admin/budgets/budgetproject/{project.pk}/change/", {"cost": "1", "cost_note": "x"}
    )
    assert response.status_code == 403
    assert client.post(f"/admin/budgets/budgetproject/{project.pk}/delete/").status_code == 403
    open_round.refresh_from_db()
    assert open_round.total_budget == 10_000_000
    assert BudgetProject.objects.get(pk=project.pk).cost == project.cost


def test_admin_actions_call_the_services(client, superuser, budget_official):
    draft = make_round(official=budget_official, projects=[100])
    client.force_login(superuser)
    client.post(
        "/admin/budgets/budgetround/",
        {"action": "open_rounds", "_selected_action": [str(draft.pk)]},
    )
    draft.refresh_from_db()
    assert draft.status == "open" and draft.opened_at is not None
    client.post(
        "/admin/budgets/budgetround/",
        {"action": "delete_drafts", "_selected_action": [str(draft.pk)]},
    )
    assert BudgetRound.objects.filter(pk=draft.pk).exists()  # an open round is never deleted


def test_a_project_is_added_and_its_cost_edited_in_a_draft(client, superuser, budget_round):
    client.force_login(superuser)
    response = client.post(
        "/admin/budgets/budgetproject/add/",
        {
            "round": str(budget_round.pk),
            "title_kk": "Саябақ",
            "title_ru": "Парк",
            "title_en": "Park",
            "cost": "700000",
            "cost_note": "",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    project = BudgetProject.objects.get(round=budget_round, title_en="Park")
    assert project.position == 3
    response = client.post(
        f"/admin/budgets/budgetproject/{project.pk}/change/",
        {"cost": "800000", "cost_note": "Corrected.", "_save": "Save"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    project.refresh_from_db()
    assert (project.cost, project.cost_note) == (800_000, "Corrected.")
    assert len(project_ids(budget_round)) == 4
