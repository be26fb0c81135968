"""Pabulib .pb files: parse and write (pure), the import command, the open-data endpoint."""

from __future__ import annotations

import random
from datetime import datetime
from types import SimpleNamespace

import pytest

from budgets import pabulib
from budgets.pabulib import PabulibError, parse, write

GOOD = """\
META
key;value
description;Almaty People's Budget 2025
country;Kazakhstan
unit;Almaty
instance;2025
num_projects;4
num_votes;5
budget;1000
vote_type;approval
rule;equalshares
PROJECTS
project_id;cost;votes;name;selected
1;400;3;Park;1
2;300;3;"Bike lane; Abay avenue";1
3;600;1;Tram depot;0
4;100;1;Benches;0
VOTES
voter_id;vote
1;1,2
2;2,1
3;1,3
4;2
v5;4
"""


def test_parse_a_good_file():
    parsed = parse(GOOD)
    assert parsed.budget == 1000
    assert parsed.rule == "equal_shares"
    assert parsed.meta["country"] == "Kazakhstan"
    assert [(p.project_id, p.cost, p.name, p.votes, p.selected) for p in parsed.projects] == [
        ("1", 400, "Park", 3, 1),
        ("2", 300, "Bike lane; Abay avenue", 3, 1),
        ("3", 600, "Tram depot", 1, 0),
        ("4", 100, "Benches", 1, 0),
    ]
    assert parsed.ballots == (("1", "2"), ("2", "1"), ("1", "3"), ("2",), ("4",))
    assert parsed.voter_ids == ("1", "2", "3", "4", "v5")
    assert parse(pabulib.dumps(parsed)) == parsed


def test_parse_reads_bytes_with_a_bom_crlf_blank_lines_and_case():
    text = "\ufeff" + GOOD.replace("META", "meta").replace("\n", "\r\n").replace(
        "PROJECTS", "\r\nprojects"
    )
    parsed = parse(text.encode("utf-8"))
    assert parsed == parse(GOOD)


def test_rule_greedy_and_absent():
    assert parse(GOOD.replace("rule;equalshares", "rule;greedy")).rule == "greedy"
    without = GOOD.replace("rule;equalshares\n", "")
    assert "rule" not in parse(without).meta
    assert parse(without).rule == "greedy"


def test_integral_decimal_spellings_of_amounts_are_whole_numbers():
    parsed = parse(GOOD.replace("budget;1000", "budget;1000.00").replace("1;400;", "1;400,0;"))
    assert parsed.budget == 1000 and parsed.projects[0].cost == 400


def test_same_reading_as_pabutools():
    pabutools = pytest.importorskip("pabutools.election.pabulib")
    instance, profile = pabutools.parse_pabulib_from_string(GOOD)
    parsed = parse(GOOD)
    assert int(instance.budget_limit) == parsed.budget
    assert sorted((p.name, int(p.cost)) for p in instance) == sorted(
        (p.project_id, p.cost) for p in parsed.projects
    )
    assert sorted(sorted(p.name for p in b) for b in profile) == sorted(
        sorted(b) for b in parsed.ballots
    )


def _line(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


BAD = [
    # (what, the file, the reason's words, the line it names or None)
    ("empty", "", "empty", None),
    ("blank", "\n  \n\n", "empty", None),
    ("no META", GOOD.replace("META\nkey;value\n", ""), "a line before the META section", 1),
    ("no VOTES", GOOD[: GOOD.index("VOTES")], "VOTES section is missing", None),
    (
        "sections out of order",
        GOOD.replace("PROJECTS\n", "VOTES\n", 1),
        "VOTES where PROJECTS was expected",
        12,
    ),
    ("section twice", GOOD + "VOTES\nvoter_id;vote\n9;1\n", "VOTES section appears twice", 25),
    ("no META header", GOOD.replace("key;value\n", ""), "META header must be 'key;value'", 2),
    (
        "no PROJECTS header",
        GOOD.replace("project_id;cost;votes;name;selected\n", ""),
        "header must begin with 'project_id'",
        13,
    ),
    (
        "no cost column",
        GOOD.replace("project_id;cost;votes;name;selected", "project_id;price;votes;name;selected"),
        "no 'cost' column",
        13,
    ),
    ("short row", GOOD.replace("4;100;1;Benches;0", "4;100;1;Benches"), "has 4 fields", 17),
    ("META row", GOOD.replace("unit;Almaty", "unit;Almaty;extra"), "3 fields", 5),
    ("no budget", GOOD.replace("budget;1000\n", ""), "no budget", None),
    ("no vote_type", GOOD.replace("vote_type;approval\n", ""), "no vote_type", None),
    (
        "ordinal",
        GOOD.replace("vote_type;approval", "vote_type;ordinal"),
        "approval elections only",
        10,
    ),
    ("zero budget", GOOD.replace("budget;1000", "budget;0"), "must be positive", 9),
    ("negative budget", GOOD.replace("budget;1000", "budget;-1000"), "negative", 9),
    ("fractional budget", GOOD.replace("budget;1000", "budget;999.5"), "not a whole number", 9),
    ("huge budget", GOOD.replace("budget;1000", "budget;" + "9" * 30), "too large", 9),
    ("giant budget", GOOD.replace("budget;1000", "budget;" + "9" * 5000), "too large", 9),
    ("giant votes", GOOD.replace("1;400;3;", "1;400;" + "3" * 5000 + ";"), "too large", 14),
    ("giant num_votes", GOOD.replace("num_votes;5", "num_votes;" + "5" * 5000), "too large", 8),
    ("zero cost", GOOD.replace("4;100;1;Benches", "4;0;1;Benches"), "cost of project 4 is 0", 17),
    ("negative cost", GOOD.replace("4;100;1;Benches", "4;-100;1;Benches"), "negative", 17),
    ("word cost", GOOD.replace("4;100;1;Benches", "4;cheap;1;Benches"), "not a whole number", 17),
    ("cost over budget", GOOD.replace("3;600;", "3;6000;"), "more than the budget 1000", None),
    (
        "duplicate project",
        GOOD.replace("4;100;1;Benches", "3;100;1;Benches"),
        "project_id 3 appears twice",
        17,
    ),
    ("unknown project", GOOD.replace("v5;4", "v5;9"), "project 9, which is not in PROJECTS", 24),
    ("duplicate in a vote", GOOD.replace("4;2\n", "4;2,2\n"), "lists project 2 twice", 23),
    ("empty vote", GOOD.replace("4;2\n", "4;\n"), "approved no project", 23),
    ("trailing comma", GOOD.replace("4;2\n", "4;2,\n"), "empty project id", 23),
    ("duplicate voter", GOOD.replace("v5;4", "4;4"), "voter_id 4 appears twice", 24),
    ("bad quoting", GOOD.replace('"Bike lane; Abay avenue"', '"Bike lane"x"'), "badly quoted", 15),
    (
        "num_votes",
        GOOD.replace("num_votes;5", "num_votes;6"),
        "num_votes is 6 but the file has 5",
        8,
    ),
    ("unknown rule", GOOD.replace("rule;equalshares", "rule;sequential_phragmen"), "META rule", 11),
    ("NUL", GOOD.replace("Benches", "Ben\x00ches"), "NUL", 17),
]


@pytest.mark.parametrize(("what", "text", "reason", "line"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_are_refused_with_the_line_and_the_reason(what, text, reason, line):
    with pytest.raises(PabulibError) as refused:
        parse(text)
    assert isinstance(refused.value, ValueError)
    assert reason in refused.value.reason
    assert refused.value.line == line
    if line:
        assert str(refused.value).startswith(f"line {line}: ")


def test_non_utf8_bytes_name_their_line():
    data = GOOD.encode().replace(b"Tram depot", b"Tram d\xe9p\xf4t")
    with pytest.raises(PabulibError) as refused:
        parse(data)
    assert refused.value.line == _line(GOOD, "3;600")
    assert "not UTF-8" in refused.value.reason and "0xe9" in refused.value.reason


def test_too_large_is_refused_before_reading():
    with pytest.raises(PabulibError, match="at most 100 are accepted"):
        parse(GOOD.encode(), max_bytes=100)
    with pytest.raises(PabulibError, match="larger than"):
        parse(GOOD, max_bytes=100)


# --- write ------------------------------------------------------------------------------


def _round(**fields):
    values = {
        "title_kk": "Алматы халық бюджеті 2025",
        "title_ru": "Народный бюджет Алматы 2025",
        "title_en": "Almaty People's Budget 2025",
        "total_budget": 1000,
        "rule": "greedy",
        "district": None,
        "opened_at": datetime(2025, 3, 1, 9),
        "closed_at": datetime(2025, 3, 31, 18),
        "min_projects": 1,
        "max_projects": 3,
    }
    return SimpleNamespace(**{**values, **fields})


def _projects():
    names = ["Park", 'Bike lane; "Abay"', "Tram\ndepot", "Benches"]
    return [
        SimpleNamespace(pk=pk, cost=cost, title_en=name, title_ru="", title_kk="", pabulib_id="")
        for pk, cost, name in zip([7, 8, 9, 10], [400, 300, 600, 100], names, strict=True)
    ]


BALLOTS = [[7, 8], [8, 7], [7, 9], [8], [10], [10, 8, 7]]


def test_write_then_parse_gives_the_round_back():
    text = write(
        _round(), _projects(), BALLOTS, SimpleNamespace(funded=[8, 7]), rng=random.Random(1)
    )
    parsed = parse(text)
    assert parsed == pabulib.export(
        _round(), _projects(), BALLOTS, SimpleNamespace(funded=[8, 7]), rng=random.Random(1)
    )
    meta = parsed.meta
    assert meta["description"] == "Almaty People's Budget 2025"
    assert (meta["country"], meta["unit"], meta["instance"]) == ("Kazakhstan", "Almaty", "2025")
    assert (meta["num_projects"], meta["num_votes"], meta["budget"]) == ("4", "6", "1000")
    assert (meta["vote_type"], meta["rule"], meta["language"]) == ("approval", "greedy", "en")
    assert (meta["date_begin"], meta["date_end"]) == ("01.03.2025", "31.03.2025")
    assert text.splitlines()[text.splitlines().index("PROJECTS") + 1] == (
        "project_id;cost;votes;name;selected"
    )
    assert [(p.project_id, p.cost, p.votes, p.name, p.selected) for p in parsed.projects] == [
        ("7", 400, 4, "Park", 1),
        ("8", 300, 4, 'Bike lane; "Abay"', 1),
        ("9", 600, 1, "Tram depot", 0),
        ("10", 100, 2, "Benches", 0),
    ]
    assert sorted(sorted(b) for b in parsed.ballots) == sorted(
        sorted(str(pk) for pk in b) for b in BALLOTS
    )
    assert ("7", "8", "10") in parsed.ballots  # a ballot's projects in project_id order
    assert parsed.voter_ids == tuple(str(i) for i in range(1, 7))
    assert parse(pabulib.dumps(parsed)) == parsed


def test_write_equal_shares_language_district_and_no_outcome_yet():
    district = SimpleNamespace(name_en="Medeu", name_ru="Медеуский", name_kk="Медеу")
    text = write(
        _round(rule="equal_shares", district=district), _projects(), BALLOTS, None, language="ru"
    )
    parsed = parse(text)
    assert parsed.meta["rule"] == "equalshares" and parsed.rule == "equal_shares"
    assert parsed.meta["description"] == "Народный бюджет Алматы 2025"
    assert parsed.meta["district"] == "Медеуский" and parsed.meta["language"] == "ru"
    assert parsed.projects[0].name == "Park"  # no Russian title: the next language's
    assert {p.selected for p in parsed.projects} == {None}
    assert "selected" not in text


def test_write_shuffles_ballots_before_numbering_them():
    ballots = [[7], [8], [9], [10]] * 10
    orders = {
        tuple(parse(write(_round(), _projects(), ballots, None, rng=random.Random(seed))).ballots)
        for seed in range(5)
    }
    assert len(orders) > 1
    unseeded = parse(write(_round(), _projects(), ballots, None))
    assert unseeded.voter_ids == tuple(str(i) for i in range(1, 41))


def test_an_imported_round_keeps_its_project_ids():
    projects = _projects()
    for p, pabulib_id in zip(projects, ["P1", "P2", "P10", "P3"], strict=True):
        p.pabulib_id = pabulib_id
    parsed = parse(write(_round(), projects, BALLOTS, None))
    assert [p.project_id for p in parsed.projects] == ["P1", "P2", "P3", "P10"]


def test_pabutools_reads_what_birge_writes():
    pabutools = pytest.importorskip("pabutools.election.pabulib")
    text = write(_round(rule="equal_shares"), _projects(), BALLOTS, SimpleNamespace(funded=[7]))
    instance, profile = pabutools.parse_pabulib_from_string(text)
    assert int(instance.budget_limit) == 1000
    assert {p.name: int(p.cost) for p in instance} == {"7": 400, "8": 300, "9": 600, "10": 100}
    assert sorted(sorted(p.name for p in b) for b in profile) == sorted(
        sorted(str(pk) for pk in b) for b in BALLOTS
    )
    assert instance.meta["rule"] == "equalshares"


def test_amount_limit_matches_the_models():
    from budgets.models import TOTAL_BUDGET_LIMIT

    assert pabulib.AMOUNT_LIMIT == TOTAL_BUDGET_LIMIT


# --- the open-data endpoint ---------------------------------------------------------------


def _db_round(*, status="closed", visibility="hidden", rule="greedy", voters=()):
    """A round with three projects and one ballot per voter (rows written as the services do)."""
    from datetime import timedelta

    from django.utils import timezone

    from budgets.models import BudgetBallot, BudgetBallotProject, BudgetProject, BudgetRound

    now = timezone.now()
    budget_round = BudgetRound.objects.create(
        title_kk="Халық бюджеті",
        title_ru="Народный бюджет",
        title_en="People's Budget",
        total_budget=1000,
        rule=rule,
        status=status,
        results_visibility=visibility,
        opens_at=now - timedelta(days=2),
        closes_at=now - timedelta(days=1) if status == "closed" else now + timedelta(days=1),
        opened_at=None if status == "draft" else now - timedelta(days=2),
        closed_at=now - timedelta(days=1) if status == "closed" else None,
    )
    projects = [
        BudgetProject.objects.create(
            round=budget_round, title_en=f"Project {c}", title_ru=f"Проект {c}", cost=cost
        )
        for c, cost in zip("ABC", [600, 300, 200], strict=True)
    ]
    a, b, c = projects
    picks = [[a, b], [a], [b, c], [a, c], [c]]
    for voter, chosen in zip(voters, picks, strict=False):
        ballot = BudgetBallot.objects.create(round=budget_round, voter=voter, created_at=now)
        for project in chosen:
            BudgetBallotProject.objects.create(ballot=ballot, project=project, round=budget_round)
    return budget_round, projects


def _voters(n=5):
    from tests.factories import UserFactory

    # Ids far from 1..n, so that an account id in the file could not pass for a voter id.
    return [UserFactory(id=900001 + i, email=f"voter{i}@secret.example.kz") for i in range(n)]


@pytest.mark.django_db
def test_the_endpoint_gives_a_closed_round_as_pabulib(client):
    from django.utils import timezone

    from budgets.models import BudgetOutcome

    voters = _voters()
    budget_round, (a, b, c) = _db_round(voters=voters)
    BudgetOutcome.objects.create(
        round=budget_round,
        rule="greedy",
        is_primary=True,
        funded=[a.pk, b.pk],
        spent=900,
        computed_at=timezone.now(),
        inputs_hash="0" * 64,
    )
    response = client.get(f"/api/v1/budgets/{budget_round.pk}/pabulib")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="birge-budget-{budget_round.pk}.pb"'
    )
    text = response.content.decode()
    parsed = parse(text)
    assert parsed.budget == 1000 and parsed.meta["rule"] == "greedy"
    assert parsed.meta["description"] == "People's Budget"
    assert [(p.project_id, p.cost, p.votes, p.name, p.selected) for p in parsed.projects] == [
        (str(a.pk), 600, 3, "Project A", 1),
        (str(b.pk), 300, 2, "Project B", 1),
        (str(c.pk), 200, 3, "Project C", 0),
    ]
    assert sorted(sorted(x) for x in parsed.ballots) == sorted(
        sorted(str(p.pk) for p in chosen) for chosen in [[a, b], [a], [b, c], [a, c], [c]]
    )
    assert parsed.voter_ids == ("1", "2", "3", "4", "5")
    for voter in voters:
        assert str(voter.pk) not in text
        assert voter.email not in text and "secret.example" not in text
    # In the reader's language.
    ru = client.get(f"/api/v1/budgets/{budget_round.pk}/pabulib", HTTP_ACCEPT_LANGUAGE="ru")
    assert parse(ru.content).meta["description"] == "Народный бюджет"
    assert parse(ru.content).projects[0].name == "Проект A"


@pytest.mark.django_db
def test_live_results_give_the_file_while_open_without_selected(client):
    budget_round, _projects = _db_round(status="open", visibility="live", voters=_voters(3))
    response = client.get(f"/api/v1/budgets/{budget_round.pk}/pabulib")
    assert response.status_code == 200
    parsed = parse(response.content)
    assert parsed.meta["num_votes"] == "3"
    assert {p.selected for p in parsed.projects} == {None}


@pytest.mark.django_db
def test_hidden_results_are_refused_and_unknown_rounds_are_404(client):
    from tests.factories import OfficialFactory

    hidden, _ = _db_round(status="open", visibility="hidden", voters=_voters(2))
    response = client.get(f"/api/v1/budgets/{hidden.pk}/pabulib")
    assert response.status_code == 403
    assert response.json()["code"] == "results_hidden"
    assert "not public yet" in response.json()["detail"]

    officials_only, _ = _db_round(status="open", visibility="officials")
    assert client.get(f"/api/v1/budgets/{officials_only.pk}/pabulib").status_code == 403
    client.force_login(OfficialFactory())
    assert client.get(f"/api/v1/budgets/{officials_only.pk}/pabulib").status_code == 200
    client.logout()

    draft, _ = _db_round(status="draft")
    for path in [draft.pk, 999999, 2**63, "x"]:
        response = client.get(f"/api/v1/budgets/{path}/pabulib")
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


# --- manage.py budget_import_pabulib ------------------------------------------------------


def _import(path, *args):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("budget_import_pabulib", str(path), *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_import_creates_a_closed_round_with_both_outcomes_and_prints_its_id(tmp_path, client):
    from budgets.models import BudgetBallot, BudgetOutcome, BudgetRound

    path = tmp_path / "almaty-2025.pb"
    path.write_text(GOOD, encoding="utf-8")
    lines = _import(path)
    budget_round = BudgetRound.objects.get()
    assert lines[-1] == str(budget_round.pk)
    assert budget_round.status == BudgetRound.Status.CLOSED and budget_round.imported
    assert budget_round.rule == "equal_shares"  # META rule;equalshares
    assert budget_round.total_budget == 1000
    assert budget_round.title_en.startswith("Almaty People's Budget 2025")  # META description
    projects = {p.pabulib_id: p for p in budget_round.projects.all()}
    assert {k: (p.title_en, p.cost) for k, p in projects.items()} == {
        "1": ("Park", 400),
        "2": ("Bike lane; Abay avenue", 300),
        "3": ("Tram depot", 600),
        "4": ("Benches", 100),
    }
    ballots = BudgetBallot.objects.filter(round=budget_round)
    assert ballots.count() == 5
    assert not ballots.filter(voter__isnull=False).exists()
    assert not ballots.filter(created_at__isnull=False).exists()
    outcomes = {o.rule: o for o in BudgetOutcome.objects.filter(round=budget_round)}
    assert set(outcomes) == {"greedy", "equal_shares"}
    assert outcomes["equal_shares"].is_primary and not outcomes["greedy"].is_primary
    assert outcomes["greedy"].ballots == 5
    assert all(row["reason"] for row in outcomes["greedy"].projects)
    # Greedy by approvals: Park and the bike lane (3 each), then Benches fits; the depot not.
    assert sorted(outcomes["greedy"].funded) == sorted(projects[k].pk for k in ("1", "2", "4"))

    # A replay: the round's export gives the file's election back.
    exported = parse(client.get(f"/api/v1/budgets/{budget_round.pk}/pabulib").content)
    original = parse(GOOD)
    assert [(p.project_id, p.cost, p.name, p.votes) for p in exported.projects] == [
        (p.project_id, p.cost, p.name, p.votes) for p in original.projects
    ]
    assert sorted(sorted(b) for b in exported.ballots) == sorted(
        sorted(b) for b in original.ballots
    )
    assert exported.meta["rule"] == "equalshares" and exported.budget == 1000
    funded = set(outcomes["equal_shares"].funded)
    assert {p.project_id for p in exported.projects if p.selected} == {
        k for k, p in projects.items() if p.pk in funded
    }


@pytest.mark.django_db
def test_import_without_rule_is_greedy_and_takes_a_title(tmp_path):
    from budgets.models import BudgetRound

    path = tmp_path / "norule.pb"
    path.write_text(GOOD.replace("rule;equalshares\n", ""), encoding="utf-8")
    lines = _import(path, "--title", "Replay")
    budget_round = BudgetRound.objects.get(pk=int(lines[-1]))
    assert budget_round.rule == "greedy" and budget_round.title == "Replay"
    # One version, in the language it is written in (Latin letters: English).
    assert budget_round.original_language == "en" and budget_round.title_ru == ""
    assert budget_round.outcomes.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("v5;4", "v5;9"), "line 24: voter v5 approves project 9"),
        (GOOD.replace("4;2\n", "4;2,2\n"), "line 23: voter 4 lists project 2 twice"),
        (GOOD.replace("budget;1000", "budget;-5"), "line 9: META budget '-5' is negative"),
        (GOOD.replace("vote_type;approval", "vote_type;cumulative"), "approval elections only"),
        (GOOD[: GOOD.index("VOTES")], "the VOTES section is missing"),
        (GOOD.encode().replace(b"Benches", b"B\xe4nke"), "line 17: the text is not UTF-8"),
        ("", "the file is empty"),
    ],
)
def test_import_refuses_bad_files_and_creates_nothing(tmp_path, text, message):
    from django.core.management.base import CommandError

    from budgets.models import BudgetBallot, BudgetProject, BudgetRound

    path = tmp_path / "bad.pb"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        _import(path)
    assert message in str(refused.value)
    assert str(path) in str(refused.value)
    assert not BudgetRound.objects.exists()
    assert not BudgetProject.objects.exists() and not BudgetBallot.objects.exists()


@pytest.mark.django_db
def test_import_refuses_a_missing_or_too_large_file(tmp_path, monkeypatch):
    from django.core.management.base import CommandError

    from budgets.management.commands import budget_import_pabulib as command

    with pytest.raises(CommandError, match="No such file"):
        _import(tmp_path / "absent.pb")
    path = tmp_path / "big.pb"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setattr(command, "MAX_BYTES", 100)
    with pytest.raises(CommandError, match="at most 100 are accepted"):
        _import(path)


def test_the_command_exits_non_zero_with_the_reason_on_stderr(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    path = tmp_path / "bad.pb"
    path.write_text(GOOD.replace("3;600;", "3;6000;"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "manage.py", "budget_import_pabulib", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "project 3 costs 6000, more than the budget 1000" in done.stderr
    assert done.stdout == ""


@pytest.mark.django_db
def test_downloads_are_rate_limited_per_address(client):
    from budgets.api_pabulib import DOWNLOADS_PER_MINUTE

    budget_round, _ = _db_round(status="open", visibility="live", voters=_voters(1))
    path = f"/api/v1/budgets/{budget_round.pk}/pabulib"
    for _ in range(DOWNLOADS_PER_MINUTE):
        assert client.get(path).status_code == 200
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and int(refused["Retry-After"]) >= 1
    assert client.get(path, REMOTE_ADDR="192.0.2.7").status_code == 200


@pytest.mark.django_db
def test_a_real_pabulib_election_imports_replays_and_exports(client):
    """Warsaw 2017, Wesoła (tests/budgets/data): greedy funds what the city funded."""
    from budgets.models import BudgetRound
    from tests.conftest import ROOT

    path = ROOT / "tests" / "budgets" / "data" / "poland_warszawa_2017_plac-wojska-polskiego.pb"
    original = parse(path.read_bytes())
    budget_round = BudgetRound.objects.get(pk=int(_import(path)[-1]))
    assert budget_round.rule == "greedy" and budget_round.total_budget == 51195
    ids = {p.pk: p.pabulib_id for p in budget_round.projects.all()}
    greedy = budget_round.outcomes.get(rule="greedy")
    assert sorted(ids[pk] for pk in greedy.funded) == sorted(
        p.project_id for p in original.projects if p.selected == 1
    )
    exported = parse(client.get(f"/api/v1/budgets/{budget_round.pk}/pabulib").content)
    assert {p.project_id: (p.cost, p.name, p.votes) for p in exported.projects} == {
        p.project_id: (p.cost, p.name, p.votes) for p in original.projects
    }
    assert sorted(sorted(b) for b in exported.ballots) == sorted(
        sorted(b) for b in original.ballots
    )
    assert {p.project_id for p in exported.projects if p.selected} == {
        p.project_id for p in original.projects if p.selected == 1
    }
