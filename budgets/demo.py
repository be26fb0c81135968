"""The People's Budget demo for seed_demo: the open 2027 round and the closed 2025 round.

2027 is built as officials and residents would build it, through the services: the former
tram depot (the communities demo's accepted initiative, its estimate corrected by the akimat
with a public note) and five projects the akimat entered, open for voting, with some ballots.
2025 is a past round imported from a Pabulib file generated here (through the service the
import command uses), with both outcomes computed, so its results and reasons show.
Running it again adds nothing that is already there.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from communities.models import Initiative

from . import pabulib
from .models import BudgetProject, BudgetRound
from .services import (
    ProjectInput,
    RoundInput,
    ballot_cast,
    outcome_compute,
    project_add,
    round_create,
    round_create_from_pabulib,
    round_open,
)

ALMATY = ZoneInfo("Asia/Almaty")
OPEN_TITLE_EN = "Almaty People's Budget 2027"
PAST_TITLE_EN = "Almaty People's Budget 2025"

OPEN_ROUND = {
    "original_language": "ru",
    "title_kk": "Алматы халық бюджеті 2027",
    "title_ru": "Народный бюджет Алматы 2027",
    "title_en": OPEN_TITLE_EN,
    "description_kk": "2027 жылы қала 3 млрд теңгеге қандай жобаларды қаржыландырсын? Төрт "
    "жобаға дейін таңдаңыз: олардың жалпы құны бюджеттен аспауы керек. Қорытынды тең үлестер "
    "әдісімен шығарылады, қасында — ең көп дауыс жинағандар әдісінің нәтижесі.",
    "description_ru": "Какие проекты город профинансирует в 2027 году из 3 млрд тенге? "
    "Выберите до четырёх: вместе они не могут стоить больше общей суммы. Итоги — по методу "
    "равных долей, рядом — подсчёт по большинству голосов.",
    "description_en": "Which projects should the city fund with 3 billion tenge in 2027? Pick "
    "up to four: together they may not cost more than the total. The Method of Equal Shares "
    "decides; the most-votes count is shown beside it.",
    "total_budget": 3_000_000_000,
}

DEPOT = {
    "title_kk": "Бұрынғы трамвай деполарын қоғамдық кеңістікке айналдыру",
    "title_ru": "Реконструкция бывшего трамвайного депо в общественное пространство",
    "title_en": "The former tram depot turned into a public space",
    "cost": 1_700_000_000,
    "cost_note": "Смета сообщества — 1,85 млрд тенге. Управление строительства проверило её: "
    "ремонт кровли (150 млн тенге) уже входит в программу сохранения исторических зданий "
    "2026 года, поэтому на бюллетене — 1,7 млрд тенге.",
}

# cost, kk, ru, en: projects the akimat entered itself.
OFFICIAL_PROJECTS = [
    (
        240_000_000,
        "Метро бекеттері жанындағы велотұрақтар мен жөндеу орындары",
        "Велопарковки и станции самостоятельного ремонта у станций метро",
        "Bike parking and repair stands at metro stations",
    ),
    (
        650_000_000,
        "Алатау ауданының шағын аудандарындағы көше жарығы",
        "Уличное освещение в микрорайонах Алатауского района",
        "Street lighting in Alatau district's micro-districts",
    ),
    (
        420_000_000,
        "Түрксіб аулаларындағы 12 балалар алаңын жаңарту",
        "Обновление 12 детских площадок во дворах Турксиба",
        "Renewing 12 playgrounds in Turksib's yards",
    ),
    (
        300_000_000,
        "10 саябақта мүмкіндігі шектеулі адамдарға қолжетімді дәретханалар",
        "Доступные туалеты для людей с инвалидностью в 10 парках",
        "Wheelchair-accessible toilets in 10 parks",
    ),
    (
        180_000_000,
        "",
        "Деревья и питьевые фонтанчики на пешеходной улице Жибек жолы",
        # In Russian only, on purpose: the kk and en ballots show it with its note.
        "",
    ),
]

PAST_ROUND = {
    "original_language": "ru",
    "title_kk": "Алматы халық бюджеті 2025",
    "title_ru": "Народный бюджет Алматы 2025",
    "title_en": PAST_TITLE_EN,
    "description_kk": "2025 жылғы раунд, Pabulib файлынан жүктелген: 2 млрд теңге, 8 жоба, "
    "300 бюллетень. Әкімдік ең көп дауыс жинағандар әдісімен шешті; Birge қасында тең "
    "үлестер әдісін көрсетеді.",
    "description_ru": "Раунд 2025 года, загруженный из файла Pabulib: 2 млрд тенге, 8 "
    "проектов, 300 бюллетеней. Акимат решал по большинству голосов; Birge показывает рядом "
    "метод равных долей.",
    "description_en": "The 2025 round, imported from its Pabulib file: 2 billion tenge, 8 "
    "projects, 300 ballots. The akimat decided by the most-votes count; Birge shows the "
    "Method of Equal Shares beside it.",
}
PAST_BUDGET = 2_000_000_000
PAST_OPENED = datetime(2025, 3, 1, 9, 0, tzinfo=ALMATY)
PAST_CLOSED = datetime(2025, 3, 31, 18, 0, tzinfo=ALMATY)

# project_id, cost, kk, ru (the file's name), en
PAST_PROJECTS = [
    (
        "1",
        900_000_000,
        "Горький саябағының аллеяларын қайта жаңарту",
        "Реконструкция аллей парка Горького",
        "New alleys in Gorky Park",
    ),
    (
        "2",
        600_000_000,
        "Төле би көшесіндегі велосипед жолдары",
        "Велодорожки по улице Толе би",
        "Bike lanes on Tole bi street",
    ),
    (
        "3",
        250_000_000,
        "Әуезов ауданының аулаларындағы жаңа ойын алаңдары",
        "Новые игровые площадки во дворах Ауэзовского района",
        "New playgrounds in Auezov district's yards",
    ),
    (
        "4",
        400_000_000,
        "Алатау ауданындағы көше жарығы",
        "Уличное освещение в Алатауском районе",
        "Street lighting in Alatau district",
    ),
    (
        "5",
        150_000_000,
        "Сайын даңғылының бойындағы ағаштар",
        "Деревья вдоль проспекта Саина",
        "Trees along Sain avenue",
    ),
    (
        "6",
        200_000_000,
        "Жетісу ауданындағы кітапхана оқу залдарын жөндеу",
        "Ремонт читальных залов библиотек Жетысуского района",
        "Library reading rooms renewed in Zhetysu district",
    ),
    (
        "7",
        300_000_000,
        "30 қоғамдық ғимараттағы пандустар",
        "Пандусы у 30 общественных зданий",
        "Ramps at 30 public buildings",
    ),
    (
        "8",
        350_000_000,
        "Наурызбай ауданындағы скейт-парк",
        "Скейт-парк в Наурызбайском районе",
        "Skate park in Nauryzbay district",
    ),
]

# (share of the 300 voters, the projects they approve, each kept with this probability):
# a central majority and two smaller groups, so the two rules fund different projects.
PAST_GROUPS = [
    (165, ["1", "2", "8"], [1.0, 0.9, 0.6]),
    (75, ["4", "6", "3"], [1.0, 0.8, 0.5]),
    (60, ["7", "5", "3"], [1.0, 0.8, 0.6]),
]


def past_round_pabulib() -> str:
    """The 2025 round's Pabulib file: the same text every time (a fixed random seed)."""
    rng = random.Random(2025)
    ballots = []
    for size, projects, keep in PAST_GROUPS:
        for _ in range(size):
            picks = [p for p, chance in zip(projects, keep, strict=True) if rng.random() < chance]
            if rng.random() < 0.15:  # now and then, one more project from elsewhere
                other = rng.choice([row[0] for row in PAST_PROJECTS if row[0] not in projects])
                picks.append(other)
            ballots.append(tuple(sorted(picks or projects[:1], key=int)))
    rng.shuffle(ballots)
    parsed = pabulib.Parsed(
        meta={
            "description": PAST_ROUND["title_ru"],
            "country": "Kazakhstan",
            "unit": "Almaty",
            "instance": "2025",
            "num_projects": str(len(PAST_PROJECTS)),
            "num_votes": str(len(ballots)),
            "budget": str(PAST_BUDGET),
            "vote_type": "approval",
            "rule": "greedy",
            "date_begin": PAST_OPENED.strftime("%d.%m.%Y"),
            "date_end": PAST_CLOSED.strftime("%d.%m.%Y"),
            "language": "ru",
            "currency": "KZT",
        },
        budget=PAST_BUDGET,
        projects=tuple(
            pabulib.Project(
                project_id=pid, cost=cost, name=ru, votes=sum(pid in b for b in ballots)
            )
            for pid, cost, _kk, ru, _en in PAST_PROJECTS
        ),
        ballots=tuple(ballots),
        voter_ids=tuple(str(i) for i in range(1, len(ballots) + 1)),
    )
    return pabulib.dumps(parsed)


def _seed_open_round(official, voters) -> BudgetRound:
    existing = BudgetRound.objects.filter(title_en=OPEN_TITLE_EN).first()
    if existing is not None:
        return existing
    budget_round = round_create(
        actor=official,
        data=RoundInput(
            **OPEN_ROUND,
            min_projects=1,
            max_projects=4,
            rule=BudgetRound.Rule.EQUAL_SHARES,
            closes_at=timezone.now() + timedelta(days=30),
            results_visibility=BudgetRound.Visibility.LIVE,
            allow_ballot_change=True,
        ),
    )
    depot = Initiative.objects.filter(community__slug="tram-depot", status="accepted").first()
    if depot is not None:
        project_add(
            actor=official,
            round_id=budget_round.pk,
            data=ProjectInput(initiative_id=depot.pk, **DEPOT),
        )
    for cost, kk, ru, en in OFFICIAL_PROJECTS:
        project_add(
            actor=official,
            round_id=budget_round.pk,
            data=ProjectInput(title_kk=kk, title_ru=ru, title_en=en, cost=cost),
        )
    round_open(actor=official, round_id=budget_round.pk)

    # Some residents have voted already; the demo citizen has not, to try it.
    rng = random.Random(2027)
    costs = dict(budget_round.projects.values_list("pk", "cost"))
    ids = list(costs)
    weights = [9, 4, 6, 5, 3, 4][: len(ids)]  # the depot (added first) is the favourite
    for voter in voters[:30]:
        picks: list[int] = []
        for _ in range(rng.randint(1, 4)):
            pick = rng.choices(ids, weights=weights)[0]
            if pick not in picks and sum(costs[p] for p in picks) + costs[pick] <= (
                budget_round.total_budget
            ):
                picks.append(pick)
        ballot_cast(actor=voter, round_id=budget_round.pk, project_ids=picks)
    return budget_round


def _seed_past_round(official) -> BudgetRound:
    existing = BudgetRound.objects.filter(title_en=PAST_TITLE_EN).first()
    if existing is not None:
        return existing
    budget_round = round_create_from_pabulib(
        actor=official, parsed=pabulib.parse(past_round_pabulib()), title=PAST_ROUND["title_ru"]
    )
    # Demo data only: the file carries one language and its dates; the round shows all three
    # languages and when it really ran (the import itself stamps the time of import).
    BudgetRound.objects.filter(pk=budget_round.pk).update(
        **PAST_ROUND,
        opens_at=PAST_OPENED,
        closes_at=PAST_CLOSED,
        opened_at=PAST_OPENED,
        closed_at=PAST_CLOSED,
    )
    for pid, _cost, kk, ru, en in PAST_PROJECTS:
        BudgetProject.objects.filter(round=budget_round, pabulib_id=pid).update(
            title_kk=kk, title_ru=ru, title_en=en
        )
    outcome_compute(round_id=budget_round.pk)
    budget_round.refresh_from_db()
    return budget_round


def seed_budgets(*, official, voters, stdout) -> None:
    open_round = _seed_open_round(official, voters)
    past_round = _seed_past_round(official)
    stdout.write(
        f"People's Budget: {open_round.title_en} (open, {open_round.projects.count()} projects, "
        f"{reverse('budgets:detail', args=[open_round.pk])}); {past_round.title_en} (closed, "
        f"{past_round.outcomes.count()} outcomes, "
        f"{reverse('budgets:detail', args=[past_round.pk])})"
    )
