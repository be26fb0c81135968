"""People's Budget pages: the ballot without JavaScript (an over-budget ballot is a 422 in the
reader's language and saves nothing), eligibility explained before the form, your ballot after
voting, results with reasons in words, and the officials' pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from budgets.models import (
    BudgetBallot,
    BudgetOutcome,
    BudgetParticipation,
    BudgetProject,
    BudgetRound,
)
from budgets.services import (
    ProjectInput,
    RoundInput,
    ballot_cast,
    forget_round_meta,
    project_add,
    round_close,
    round_create,
    round_open,
)
from tests.factories import OfficialFactory, UserFactory, make_initiative, make_resident

pytestmark = pytest.mark.django_db

PROJECTS = [
    ("Бейсбол алаңы", "Бейсбольная площадка", "A playground", 400_000_000),
    ("Веложол", "Велодорожка", "A bike lane", 700_000_000),
    ("Саябақ", "Парк", "A park", 900_000_000),
]


@pytest.fixture(autouse=True)
def _forget_round_meta():
    forget_round_meta()
    yield
    forget_round_meta()


def make_round(
    *, official=None, projects=PROJECTS, open_now=True, total=1_850_000_000, **fields
) -> BudgetRound:
    """A round drafted, filled and opened through the services, as an official would."""
    official = official or OfficialFactory()
    now = timezone.now()
    fields.setdefault("eligibility", "email")
    data = RoundInput(
        title_kk="Алматының халық бюджеті",
        title_ru="Народный бюджет Алматы",
        title_en="Almaty People's Budget",
        total_budget=total,
        min_projects=fields.pop("min_projects", 1),
        max_projects=fields.pop("max_projects", 3),
        opens_at=now,
        closes_at=now + timedelta(hours=2),
        **fields,
    )
    budget_round = round_create(actor=official, data=data)
    for kk, ru, en, cost in projects:
        project_add(
            actor=official,
            round_id=budget_round.pk,
            data=ProjectInput(title_kk=kk, title_ru=ru, title_en=en, cost=cost),
        )
    if open_now:
        budget_round = round_open(actor=official, round_id=budget_round.pk)
    return budget_round


def ids(budget_round) -> list[int]:
    return list(budget_round.projects.order_by("position", "id").values_list("pk", flat=True))


# --- The public pages ---------------------------------------------------------------------------


def test_list_shows_open_rounds_and_hides_drafts(client):
    open_round = make_round()
    draft = make_round(open_now=False)
    BudgetRound.objects.filter(pk=draft.pk).update(title_en="Secret draft")
    html = client.get("/en/budgets/").content.decode()
    assert f'href="/en/budgets/{open_round.pk}/"' in html
    assert "1,850,000,000 ₸" in html
    assert "Secret draft" not in html
    assert client.get(f"/en/budgets/{draft.pk}/").status_code == 404
    assert client.get("/en/budgets/99999999999999999999/").status_code == 404


@pytest.mark.parametrize(
    ("lang", "amount", "spent"),
    [
        ("kk", "1\xa0850\xa0000\xa0000 ₸", "1\xa0100\xa0000\xa0000 ₸"),
        ("ru", "1\xa0850\xa0000\xa0000 ₸", "1\xa0100\xa0000\xa0000 ₸"),
        ("en", "1,850,000,000 ₸", "1,100,000,000 ₸"),
    ],
)
def test_round_page_writes_amounts_the_way_each_language_does(client, citizen, lang, amount, spent):
    budget_round = make_round()
    a, b, _c = ids(budget_round)
    ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=[a, b])
    client.force_login(citizen)
    html = client.get(f"/{lang}/budgets/{budget_round.pk}/").content.decode()
    assert f'<html lang="{lang}">' in html
    assert amount in html
    assert spent in html  # your ballot: 400 M + 700 M
    # The live figures are written by the server (live-socket.js swaps them in): no
    # separators are handed to a script for them.
    assert "data-decimal-sep" not in html


def test_the_ballot_form_works_without_javascript(client, citizen):
    budget_round = make_round()
    a, b, c = ids(budget_round)
    client.force_login(citizen)
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert re.search(rf'type="checkbox" name="project" value="{a}" data-cost="400000000"', page)
    assert "Spent 0 ₸ of 1,850,000,000 ₸" in page
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a, c]})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Thank you! Your ballot is counted." in page
    # Your ballot, shown back (not a secret ballot): the two projects and what they cost.
    mine = page.split('class="notice budget-my-ballot"')[1].split("</section>")[0]
    assert "A playground" in mine and "A park" in mine and "A bike lane" not in mine
    assert "1,300,000,000 ₸" in mine
    ballot = BudgetBallot.objects.get(round=budget_round)
    assert sorted(ballot.picks.values_list("project_id", flat=True)) == sorted([a, c])
    # One ballot: the form is gone (no change allowed) and a second post is a 409.
    assert 'name="project"' not in page
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": [b]})
    assert response.status_code == 409
    assert BudgetBallot.objects.count() == 1


def test_over_budget_without_javascript_is_a_422_in_the_users_language(client, citizen):
    budget_round = make_round()
    a, b, c = ids(budget_round)  # 400 + 700 + 900 = 2 000 M > 1 850 M
    client.force_login(citizen)
    response = client.post(f"/ru/budgets/{budget_round.pk}/", {"project": [a, b, c]})
    assert response.status_code == 422
    html = response.content.decode()
    assert '<html lang="ru">' in html
    assert 'role="alert"' in html
    # The refusal in words, with the overrun written the Russian way.
    refusal = html.split("data-budget-refusal")[1].split("</p>")[0]
    assert "150\xa0000\xa0000 ₸" in refusal and "hidden" not in refusal.split(">")[0]
    # The picks stay ticked, so the voter untick one and sends again.
    for pid in (a, b, c):
        assert re.search(rf'value="{pid}" data-cost="\d+" checked', html)
    assert not BudgetBallot.objects.exists()
    assert not BudgetParticipation.objects.exists()
    # English too, and nothing saved either.
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a, b, c]})
    assert response.status_code == 422
    assert "Over the budget by 150,000,000 ₸" in response.content.decode()
    assert not BudgetBallot.objects.exists()


def test_too_many_and_unknown_projects_are_refused_with_nothing_saved(client, citizen):
    budget_round = make_round(max_projects=1)
    other = make_round()
    a, b, _c = ids(budget_round)
    client.force_login(citizen)
    assert client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a, b]}).status_code == 422
    foreign = ids(other)[0]
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": [foreign]})
    assert response.status_code == 422
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": ["9" * 30]})
    assert response.status_code == 422
    assert not BudgetBallot.objects.exists()


def test_anonymous_is_asked_to_sign_in(client):
    budget_round = make_round()
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "Sign in to vote." in page
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": ids(budget_round)[:1]})
    assert response.status_code == 401
    assert not BudgetBallot.objects.exists()


def test_eligibility_is_explained_before_the_form(client):
    from tests.factories import district

    budget_round = make_round(eligibility="district", district_id=district("medeu").pk)
    a = ids(budget_round)[0]
    # Not a verified resident: told why and how to verify, no form.
    stranger = UserFactory()
    client.force_login(stranger)
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "eligibility-refusal" in page
    assert "Verify your residence" in page
    assert 'name="project"' not in page
    assert "A playground" in page  # the projects are still shown
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a]})
    assert response.status_code == 403
    # A resident of another district: the same, with the reason.
    other = make_resident(slug="almaly")
    client.force_login(other)
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "only for verified residents of" in page
    assert client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a]}).status_code == 403
    assert not BudgetBallot.objects.exists()
    # A resident of Medeu votes.
    resident = make_resident(slug="medeu")
    client.force_login(resident)
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "eligibility-refusal" not in page and 'name="project"' in page
    assert client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a]}).status_code == 302
    assert BudgetBallot.objects.count() == 1


def test_a_changeable_ballot_is_shown_ticked_and_can_be_changed(client, citizen):
    budget_round = make_round(allow_ballot_change=True)
    a, b, _c = ids(budget_round)
    client.force_login(citizen)
    client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a]})
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert re.search(rf'value="{a}" data-cost="\d+" checked', page)
    assert "Change my ballot" in page
    response = client.post(f"/en/budgets/{budget_round.pk}/", {"project": [b]})
    assert response.status_code == 302
    assert "Your ballot has been changed." in client.get(response["Location"]).content.decode()
    ballot = BudgetBallot.objects.get()
    assert list(ballot.picks.values_list("project_id", flat=True)) == [b]


def test_a_secret_ballot_is_not_shown_back(client, citizen):
    budget_round = make_round(secret_ballot=True)
    a = ids(budget_round)[0]
    client.force_login(citizen)
    client.post(f"/en/budgets/{budget_round.pk}/", {"project": [a]})
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "This is a secret ballot" in page
    mine = page.split('class="notice budget-my-ballot"')[1].split("</section>")[0]
    assert "A playground" not in mine
    assert BudgetBallot.objects.get().voter is None


def test_live_counts_follow_the_visibility_rule(client, citizen):
    hidden = make_round(results_visibility="hidden")
    live = make_round(results_visibility="live")
    for r in (hidden, live):
        ballot_cast(actor=citizen, round_id=r.pk, project_ids=ids(r)[:1])
    page = client.get(f"/en/budgets/{hidden.pk}/").content.decode()
    assert re.search(r"<strong data-ballots>1</strong>", page)
    assert "Votes per project are hidden until the round closes." in page
    assert re.search(r'<ol class="bars" data-bars[^>]*hidden', page)
    page = client.get(f"/en/budgets/{live.pk}/").content.decode()
    assert not re.search(r'<ol class="bars" data-bars[^>]*hidden', page)
    first = ids(live)[0]
    assert re.search(rf'data-project="{first}".*?<strong data-votes>1</strong>', page, re.S)


def _store_outcomes(budget_round):
    """The outcomes as the compute task stores them (tests of the page, not of the rules)."""
    a, b, c = ids(budget_round)
    now = timezone.now()
    rows = [
        {"id": a, "votes": 3, "funded": True, "reason": "funded", "reason_data": {}},
        {"id": b, "votes": 2, "funded": False, "reason": "not_funded_supporters_spent",
         "reason_data": {"spent_on": [a, c]}},
        {"id": c, "votes": 2, "funded": True, "reason": "funded_by_completion", "reason_data": {}},
    ]  # fmt: skip
    BudgetOutcome.objects.filter(round=budget_round).delete()
    BudgetOutcome.objects.create(
        round=budget_round, rule="equal_shares", is_primary=True, funded=[a, c], spent=1_300_000_000,
        projects=rows, ballots=4, inputs_hash="x" * 64, computed_at=now,
    )  # fmt: skip
    alt = [
        {"id": a, "votes": 3, "funded": True, "reason": "funded", "reason_data": {}},
        {"id": b, "votes": 2, "funded": True, "reason": "funded", "reason_data": {}},
        {"id": c, "votes": 2, "funded": False, "reason": "not_funded_no_room", "reason_data": {}},
    ]
    BudgetOutcome.objects.create(
        round=budget_round, rule="greedy", is_primary=False, funded=[a, b], spent=1_100_000_000,
        projects=alt, ballots=4, inputs_hash="x" * 64, computed_at=now,
    )  # fmt: skip


def test_results_show_both_rules_with_reasons_and_the_spent_chart(client):
    official = OfficialFactory()
    budget_round = make_round(official=official, rule="equal_shares")
    _a, b, c = ids(budget_round)
    round_close(actor=official, round_id=budget_round.pk)
    _store_outcomes(budget_round)
    html = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "Method of Equal Shares" in html and "Greedy" in html
    row_b = html.split(f'<tr data-project="{b}"')[1].split("</tr>")[0]
    assert "Not funded: its supporters’ shares were spent on “A playground” and “A park”" in row_b
    assert "Funded" in row_b  # greedy funded it: shown beside
    row_c = html.split(f'<tr data-project="{c}"')[1].split("</tr>")[0]
    assert "Funded with the money left after the equal shares were spent" in row_c
    assert "Not funded: did not fit the remaining budget" in row_c
    # The chart (civic/charts.py): a segment per funded project, its width the share of the
    # budget (of the bar's 319 units), first in the palette's first colour; its data table.
    svg = re.search(r'<svg class="chart-svg chart-stack".*?</svg>', html, re.S).group(0)
    first = re.search(r'width="([\d.]+)" height="28" fill="#0072B2"', svg)
    assert first and abs(float(first.group(1)) - 319 * 400 / 1850) < 0.1
    assert "projects funded: 2; 1,300,000,000 ₸ of 1,850,000,000 ₸ spent" in html
    assert '<th scope="row">Left unspent</th><td class="num">550,000,000 ₸</td>' in html
    html = client.get(f"/ru/budgets/{budget_round.pk}/").content.decode()
    assert "1\xa0300\xa0000\xa0000 ₸" in html


def test_results_wait_for_the_computation(client):
    official = OfficialFactory()
    budget_round = make_round(official=official)
    round_close(actor=official, round_id=budget_round.pk)
    BudgetOutcome.objects.filter(round=budget_round).delete()
    html = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "The results are being computed" in html


def test_funded_initiatives_show_their_progress(client):
    official = OfficialFactory()
    initiative = make_initiative(status="accepted", budget_kzt="400000000")
    budget_round = make_round(official=official, projects=PROJECTS[1:], open_now=False)
    project_add(
        actor=official,
        round_id=budget_round.pk,
        data=ProjectInput(initiative_id=initiative.pk, cost=None, cost_note=""),
    )
    round_open(actor=official, round_id=budget_round.pk)
    round_close(actor=official, round_id=budget_round.pk)
    _b, c, a = ids(budget_round)
    assert BudgetProject.objects.get(pk=a).initiative_id == initiative.pk
    _store_outcomes_for(budget_round, funded=[a, c])
    html = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    progress = html.split('id="progress-title"')[1]
    assert initiative.title in progress
    assert f'href="/en/initiatives/{initiative.pk}/"' in progress
    assert "Official answer." in progress  # its dated public updates


def _store_outcomes_for(budget_round, *, funded):
    now = timezone.now()
    rows = [
        {"id": p, "votes": 1, "funded": p in funded, "reason": "funded" if p in funded
         else "not_funded_no_room", "reason_data": {}}
        for p in ids(budget_round)
    ]  # fmt: skip
    for rule, primary in ((budget_round.rule, True), (budget_round.alternative_rule, False)):
        BudgetOutcome.objects.update_or_create(
            round=budget_round, rule=rule,
            defaults={"is_primary": primary, "funded": funded, "spent": 1, "projects": rows,
                      "ballots": 1, "inputs_hash": "x" * 64, "computed_at": now},
        )  # fmt: skip


# --- Officials ----------------------------------------------------------------------------------


def test_manage_pages_are_for_officials_only(client, citizen):
    assert client.get("/en/budgets/manage/").status_code == 302
    client.force_login(citizen)
    assert client.get("/en/budgets/manage/").status_code == 403
    assert client.get("/en/budgets/manage/new/").status_code == 403
    budget_round = make_round(open_now=False)
    assert client.post(f"/en/budgets/manage/{budget_round.pk}/do/open/").status_code == 403
    budget_round.refresh_from_db()
    assert budget_round.status == "draft"


def _round_form(**overrides):
    now = timezone.localtime() + timedelta(hours=1)
    data = {
        # The title as written (in Russian), its Kazakh and English versions folded beside it.
        "title": "Народный бюджет",
        "original_language": "ru",
        "title_kk": "Халық бюджеті",
        "title_en": "People's Budget",
        "district": "",
        "eligibility": "city",
        "total_budget": "1000000000",
        "min_projects": "1",
        "max_projects": "3",
        "rule": "equal_shares",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "results_visibility": "hidden",
    }
    data.update(overrides)
    return data


def test_official_creates_fills_opens_and_closes_a_round(client):
    official = OfficialFactory()
    client.force_login(official)
    assert client.get("/en/budgets/manage/new/").status_code == 200
    response = client.post("/en/budgets/manage/new/", _round_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    budget_round = BudgetRound.objects.get()
    assert budget_round.status == "draft" and budget_round.rule == "equal_shares"
    assert budget_round.total_budget == 1_000_000_000
    base = f"/en/budgets/manage/{budget_round.pk}/"

    # Edit the draft.
    assert client.get(base + "edit/").status_code == 200
    response = client.post(base + "edit/", _round_form(title_en="People's Budget 2027"))
    assert response.status_code == 302
    budget_round.refresh_from_db()
    assert budget_round.title_en == "People's Budget 2027"

    # An accepted initiative with the community's estimate, its cost corrected with a note.
    initiative = make_initiative(status="accepted", budget_kzt="300000000")
    page = client.get(base).content.decode()
    assert initiative.title in page and "300,000,000 ₸" in page
    response = client.post(
        base + "projects/initiative/",
        {"initiative": initiative.pk, "cost": "350000000", "cost_note": "Prices of 2027."},
    )
    assert response.status_code == 302
    project = BudgetProject.objects.get(initiative=initiative)
    assert project.cost == 350_000_000 and project.cost_note == "Prices of 2027."
    # An own project, then a bad one (zero cost): refused, nothing added.
    own = {
        "title": "Фонари",
        "original_language": "ru",
        "title_kk": "Шам",
        "title_en": "Street lights",
        "cost": "5000000",
    }
    assert client.post(base + "projects/", own).status_code == 302
    response = client.post(base + "projects/", {**own, "title_en": "Zero", "cost": "0"})
    assert response.status_code == 400
    assert BudgetProject.objects.filter(round=budget_round).count() == 2
    # The public page of the draft shows the note and the estimate.
    page = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "Prices of 2027." in page and "The community estimated 300,000,000 ₸." in page

    # The akimat corrects the cost again: a change from the estimate needs its note.
    url = base + f"projects/{project.pk}/cost/"
    response = client.post(url, {"cost": "360000000", "cost_note": ""}, follow=True)
    assert "say why in the note" in response.content.decode()
    project.refresh_from_db()
    assert project.cost == 350_000_000
    client.post(url, {"cost": "360 000 000", "cost_note": "Lights added."})
    project.refresh_from_db()
    assert project.cost == 360_000_000 and project.cost_note == "Lights added."

    # Remove one, then open and close.
    lights = BudgetProject.objects.get(title_en="Street lights")
    assert client.post(base + f"projects/{lights.pk}/remove/").status_code == 302
    assert not BudgetProject.objects.filter(pk=lights.pk).exists()
    client.post(base + "do/open/")
    budget_round.refresh_from_db()
    assert budget_round.status == "open"
    # Open: no more edits or projects.
    assert client.post(base + "projects/", own).status_code == 409
    response = client.post(base + "edit/", _round_form(title_en="Changed"))
    assert response.status_code == 409
    budget_round.refresh_from_db()
    assert budget_round.title_en == "People's Budget 2027"
    client.post(base + "do/close/")
    budget_round.refresh_from_db()
    assert budget_round.status == "closed"
    assert client.post(base + "do/explode/").status_code == 404
    assert client.get(base).status_code == 200


def test_round_form_refuses_bad_input_and_saves_nothing(client):
    client.force_login(OfficialFactory())
    for bad in (
        {"total_budget": "0"},
        {"total_budget": "-5"},
        {"min_projects": "3", "max_projects": "1"},
        {"title": ""},  # the original's title is required; translations are not
        {"original_language": "xx"},
        {"title_en": "x" * 201},
    ):
        response = client.post("/en/budgets/manage/new/", _round_form(**bad))
        assert response.status_code == 400, bad
    assert not BudgetRound.objects.exists()


def test_the_dashboard_shows_open_rounds_turnout(client, citizen):
    official = OfficialFactory()
    budget_round = make_round(official=official)
    ballot_cast(actor=citizen, round_id=budget_round.pk, project_ids=ids(budget_round)[:1])
    ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=ids(budget_round)[1:2])
    closed = make_round(official=official)
    round_close(actor=official, round_id=closed.pk)
    client.force_login(official)
    html = client.get("/en/dashboard/").content.decode()
    card = html.split(f'data-round-id="{budget_round.pk}"')[1].split("</article>")[0]
    assert "Almaty People&#x27;s Budget" in card
    assert '<dd data-field="ballots">2</dd>' in card
    assert f'href="/en/budgets/{budget_round.pk}/"' in card
    assert f'data-round-id="{closed.pk}"' not in html  # open rounds only


def test_a_closed_round_shows_the_computed_outcomes_in_words(
    client, django_capture_on_commit_callbacks
):
    """Closing computes both rules from the ballot rows (the task runs at once here); the page
    shows each project's reason under both, in words."""
    official = OfficialFactory()
    projects = [
        ("А1", "А1", "Tram depot", 50),
        ("А2", "А2", "Depot garden", 50),
        ("Б1", "Б1", "Bike lane", 50),
        ("Б2", "Б2", "Bike parking", 50),
    ]
    budget_round = make_round(
        official=official, projects=projects, total=100, max_projects=4, rule="equal_shares"
    )
    a1, a2, b1, b2 = ids(budget_round)
    for _ in range(3):
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=[a1, a2])
    for _ in range(2):
        ballot_cast(actor=UserFactory(), round_id=budget_round.pk, project_ids=[b1, b2])
    with django_capture_on_commit_callbacks(execute=True):
        round_close(actor=official, round_id=budget_round.pk)
    assert BudgetOutcome.objects.filter(round=budget_round).count() == 2
    html = client.get(f"/en/budgets/{budget_round.pk}/").content.decode()
    assert "Ballots cast: <strong>5</strong>" in html
    reasons = {
        "Funded",
        "Funded with the money left after the equal shares were spent",
        "Not funded: did not fit the remaining budget",
        "Not funded: its supporters’ shares were spent on",
        "Not funded: no one voted for it",
    }
    for pid in (a1, a2, b1, b2):
        row = html.split(f'<tr data-project="{pid}"')[1].split("</tr>")[0]
        cells = re.findall(r'<td data-reason="(?:primary|alternative)"[^>]*>(.*?)</td>', row, re.S)
        assert len(cells) == 2
        for cell in cells:
            assert any(reason in cell for reason in reasons), cell
    first = html.split(f'<tr data-project="{a1}"')[1].split("</tr>")[0]
    assert first.count('<span class="badge badge-open">Funded</span>') == 2  # both rules
    assert 'fill="#0072B2" class="chart-segment"' in html  # the spent chart's first part


def test_ballots_to_a_draft_or_closed_round_are_refused(client):
    official = OfficialFactory()
    draft = make_round(official=official, open_now=False)
    closed = make_round(official=official)
    round_close(actor=official, round_id=closed.pk)
    client.force_login(official)
    # A draft takes no ballots (not found for voting); a closed round says it is closed.
    for budget_round, status in ((draft, 404), (closed, 403)):
        picks = {"project": ids(budget_round)[:1]}
        response = client.post(f"/en/budgets/{budget_round.pk}/", picks)
        assert response.status_code == status
    assert "This round is closed." in response.content.decode()
    assert not BudgetBallot.objects.exists()
