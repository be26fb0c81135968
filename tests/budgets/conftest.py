"""Fixtures of the People's Budget tests: rounds and projects made through the services.

Use from any budgets test:
- `make_round(**kw)`: a round created by an official through round_create (kw: RoundInput
  fields, plus `official`, `projects` (a list of costs, added through project_add), and
  `open_now` to open it); defaults: 10,000,000 tenge, 1..5 projects, greedy, results live,
  e-mail eligibility (any verified account: no resident register needed).
- `make_project(round, cost=..., **kw)`: a project the officials enter (kw: ProjectInput).
- fixtures `budget_official`, `budget_round` (a draft with projects of 4, 3 and 5 million: all three are over the 10 million), `open_round`
  (the same, opened), `voters` (five citizens), `resident` (a verified Medeu resident).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from budgets.services import (
    ProjectInput,
    RoundInput,
    project_add,
    round_create,
    round_open,
)
from tests.factories import OfficialFactory, UserFactory, make_resident

TOTAL = 10_000_000


def _official_of(round_):
    return round_.created_by or OfficialFactory()


def make_project(round_, cost: int = 1_000_000, *, official=None, **kw):
    """A project entered by the officials on a draft round's ballot."""
    n = round_.projects.count() + 1
    kw.setdefault("title_kk", f"Жоба {n}")
    kw.setdefault("title_ru", f"Проект {n}")
    kw.setdefault("title_en", f"Project {n}")
    return project_add(
        actor=official or _official_of(round_),
        round_id=round_.pk,
        data=ProjectInput(cost=cost, **kw),
    )


def make_round(*, official=None, projects=(), open_now: bool = False, minutes: int = 60, **kw):
    """A round through the services, as an official would: drafted, its projects added (one
    per cost in `projects`), opened when `open_now`."""
    official = official or OfficialFactory()
    now = timezone.now()
    kw.setdefault("title_kk", "Алматының халық бюджеті")
    kw.setdefault("title_ru", "Народный бюджет Алматы")
    kw.setdefault("title_en", "Almaty People's Budget")
    kw.setdefault("total_budget", TOTAL)
    kw.setdefault("results_visibility", "live")
    kw.setdefault("eligibility", "district" if kw.get("district_id") else "email")
    kw.setdefault("opens_at", now)
    kw.setdefault("closes_at", now + timedelta(minutes=minutes))
    round_ = round_create(actor=official, data=RoundInput(**kw))
    for cost in projects:
        make_project(round_, cost, official=official)
    if open_now:
        round_ = round_open(actor=official, round_id=round_.pk)
    return round_


def project_ids(round_) -> list[int]:
    return list(round_.projects.values_list("pk", flat=True))


@pytest.fixture
def budget_official(db):
    return OfficialFactory()


@pytest.fixture
def budget_round(budget_official):
    return make_round(official=budget_official, projects=[4_000_000, 3_000_000, 5_000_000])


@pytest.fixture
def open_round(budget_round, budget_official):
    return round_open(actor=budget_official, round_id=budget_round.pk)


@pytest.fixture
def voters(db):
    return [UserFactory() for _ in range(5)]


@pytest.fixture
def resident(db):
    return make_resident(slug="medeu")
