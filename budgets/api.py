"""JSON API of the People's Budget: rounds, their ballots and results, officials' actions.

Thin: every write is one service call; what may be seen is asked of the selectors and
permissions. (The Pabulib export, GET /budgets/{id}/pabulib, is in api_pabulib.py.)
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from django.http import Http404
from ninja import Field, Router, Schema, Status
from ninja.security import django_auth
from pydantic import StrictBool, StrictInt

from accounts.permissions import is_official
from civic.content import content_payload, reader_language
from civic.intake import LeanRoute

from .selectors import round_get, round_list_public, round_results
from .services import (
    ProjectInput,
    RoundInput,
    ballot_cast,
    project_add,
    project_remove,
    project_update,
    round_close,
    round_create,
    round_open,
    round_update,
)

router = Router(tags=["budgets"])

MAX_ID = 2**63 - 1
Text = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]


class ErrorOut(Schema):
    detail: str
    code: str


class RefusedOut(ErrorOut):
    verify_url: str | None = Field(
        None,
        description="with verification_required and wrong_district: the page where the user "
        "verifies their residence",
    )


ERRORS_WRITE = {400: ErrorOut, 401: ErrorOut, 403: RefusedOut, 404: ErrorOut, 409: ErrorOut}


class BudgetOut(Schema):
    id: int
    title: str = Field(description="in the language asked for (?lang= or Accept-Language)")
    title_lang: str = Field("", description="the language `title` is in")
    original_language: str = Field("", description="the language the author wrote in")
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="every version: {field: {kk, ru, en}} ('' = missing)"
    )
    district: str | None = Field(description="the district's slug, or null for the whole city")
    total_budget: int = Field(description="KZT")
    status: str
    rule: str = Field(description="greedy or equal_shares: the rule that decides")
    opens_at: datetime | None
    closes_at: datetime | None
    eligibility: str
    results_visibility: str
    secret_ballot: bool
    allow_ballot_change: bool


class ProjectOut(Schema):
    id: int
    title: str
    description: str
    description_lang: str = ""
    title_lang: str = Field("", description="the language `title` is in")
    original_language: str = Field("", description="the language the author wrote in")
    translations: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="every version: {field: {kk, ru, en}} ('' = missing)"
    )
    cost: int = Field(description="KZT, as the akimat confirmed or corrected it")
    initiative: int | None
    estimated_cost: int | None = Field(description="the community's estimate, KZT")
    cost_note: str = Field(description="the akimat's public note on the cost")


class BudgetDetailOut(BudgetOut):
    description: str
    description_lang: str = ""
    min_projects: int
    max_projects: int
    projects: list[ProjectOut]


class BallotIn(Schema):
    projects: list[StrictInt] = Field(..., max_length=300)

    model_config = {"extra": "forbid"}


class BallotOut(Schema):
    round: int
    status: str = Field(description="recorded, or changed (a ballot changed where allowed)")
    projects: list[int] | None = Field(description="null for a secret ballot")
    spent: int
    secret: bool


class ProjectResultOut(Schema):
    id: int
    cost: int
    votes: int | None = Field(description="null while results are not visible")
    funded: bool
    reason: str | None = Field(description="the rule's reason code; null until computed")


class AlternativeOut(Schema):
    rule: str
    funded: list[int]
    spent: int


class ResultsOut(Schema):
    status: str
    rule: str
    total_budget: int
    spent: int
    ballots: int
    computed: bool
    results_visible: bool
    funded: list[int]
    projects: list[ProjectResultOut]
    alternative: AlternativeOut


class RoundIn(Schema):
    original_language: Annotated[str, Field(max_length=2)] = Field(
        "", description="kk, ru or en: the language written in; its title is required"
    )
    title_kk: Text = ""
    title_ru: Text = ""
    title_en: Text = ""
    description_kk: LongText = ""
    description_ru: LongText = ""
    description_en: LongText = ""
    total_budget: StrictInt = Field(description="KZT, more than 0")
    district: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None
    eligibility: Annotated[str, Field(max_length=10)] | None = None
    min_projects: StrictInt = 1
    max_projects: StrictInt = 5
    rule: Annotated[str, Field(max_length=16)] = "greedy"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    results_visibility: Annotated[str, Field(max_length=10)] = "hidden"
    allow_ballot_change: StrictBool = False
    secret_ballot: StrictBool = False

    model_config = {"extra": "forbid"}


class RoundPatch(Schema):
    original_language: Annotated[str, Field(max_length=2)] | None = None
    title_kk: Text | None = None
    title_ru: Text | None = None
    title_en: Text | None = None
    description_kk: LongText | None = None
    description_ru: LongText | None = None
    description_en: LongText | None = None
    total_budget: StrictInt | None = None
    district: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None
    eligibility: Annotated[str, Field(max_length=10)] | None = None
    min_projects: StrictInt | None = None
    max_projects: StrictInt | None = None
    rule: Annotated[str, Field(max_length=16)] | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    results_visibility: Annotated[str, Field(max_length=10)] | None = None
    allow_ballot_change: StrictBool | None = None
    secret_ballot: StrictBool | None = None

    model_config = {"extra": "forbid"}


class ProjectIn(Schema):
    original_language: Annotated[str, Field(max_length=2)] = Field(
        "", description="kk, ru or en: the language written in; its title is required"
    )
    title_kk: Text = ""
    title_ru: Text = ""
    title_en: Text = ""
    description_kk: LongText = ""
    description_ru: LongText = ""
    description_en: LongText = ""
    cost: StrictInt | None = Field(
        None, description="KZT; for an initiative, empty takes the community's estimate"
    )
    initiative: Annotated[StrictInt, Field(ge=1, le=MAX_ID)] | None = None
    cost_note: Annotated[str, Field(max_length=2000)] = ""

    model_config = {"extra": "forbid"}


class ProjectPatch(Schema):
    cost: StrictInt | None = None
    cost_note: Annotated[str, Field(max_length=2000)] | None = None

    model_config = {"extra": "forbid"}


def _round_out(budget_round) -> dict:
    return {
        "id": budget_round.pk,
        **content_payload(budget_round, ("title",), reader_language()),
        "district": budget_round.district.slug if budget_round.district_id else None,
        "total_budget": budget_round.total_budget,
        "status": budget_round.status,
        "rule": budget_round.rule,
        "opens_at": budget_round.opens_at,
        "closes_at": budget_round.closes_at,
        "eligibility": budget_round.eligibility,
        "results_visibility": budget_round.results_visibility,
        "secret_ballot": budget_round.secret_ballot,
        "allow_ballot_change": budget_round.allow_ballot_change,
    }


def _project_out(project) -> dict:
    return {
        "id": project.pk,
        **content_payload(project, ("title", "description"), reader_language()),
        "cost": project.cost,
        "initiative": project.initiative_id,
        "estimated_cost": project.estimated_cost,
        "cost_note": project.cost_note,
    }


def _detail(budget_round) -> dict:
    return {
        **_round_out(budget_round),
        **content_payload(budget_round, ("title", "description"), reader_language()),
        "min_projects": budget_round.min_projects,
        "max_projects": budget_round.max_projects,
        "projects": [_project_out(p) for p in budget_round.projects.all()],
    }


def _get(request, budget_id):
    budget_round = round_get(round_id=budget_id, user=request.user)
    if budget_round is None:
        raise Http404
    return budget_round


def _reload(request, budget_id):
    return _detail(_get(request, budget_id))


@router.get("/budgets", response={200: list[BudgetOut], 422: dict})
def budgets(request, status: Annotated[str, Field(max_length=10)] | None = None):
    qs = round_list_public(user=request.user)
    if status:
        qs = qs.filter(status=status)
    return [_round_out(r) for r in qs[:200]]


@router.get("/budgets/{budget_id}", response={200: BudgetDetailOut, 404: ErrorOut, 422: dict})
def budget_detail(request, budget_id: int):
    return _detail(_get(request, budget_id))


@router.get("/budgets/{budget_id}/results", response={200: ResultsOut, 404: ErrorOut, 422: dict})
def budget_results(request, budget_id: int):
    budget_round = _get(request, budget_id)
    return round_results(budget_round, official=is_official(request.user))


@router.post(
    "/budgets/{budget_id}/ballots",
    response={201: BallotOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_ballot(request, budget_id: int, data: BallotIn):
    return Status(*_ballot(request, data, budget_id=budget_id))


def _ballot(request, data: BallotIn, *, budget_id) -> tuple[int, dict]:
    result = ballot_cast(actor=request.user, round_id=budget_id, project_ids=data.projects)
    return 201, result.as_json()


# The same ballot, taken in front of Django's full chain (civic.intake); a guest goes the
# full way, to django_auth's 401.
BALLOT_ROUTE = LeanRoute(
    pattern=re.compile(r"/api/v1/budgets/(?P<budget_id>[0-9]+)/ballots"),
    schema=BallotIn,
    call=lambda request, data, budget_id: _ballot(request, data, budget_id=int(budget_id)),
    accounts_only=True,
)


# --- Officials --------------------------------------------------------------------------------


@router.post(
    "/budgets", response={201: BudgetDetailOut, **ERRORS_WRITE, 422: dict}, auth=django_auth
)
def budget_create(request, data: RoundIn):
    fields = data.model_dump()
    fields["district_id"] = fields.pop("district")
    budget_round = round_create(actor=request.auth, data=RoundInput(**fields))
    return Status(201, _reload(request, budget_round.pk))


@router.patch(
    "/budgets/{budget_id}",
    response={200: BudgetDetailOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_edit(request, budget_id: int, data: RoundPatch):
    changes = data.model_dump(exclude_unset=True)
    if "district" in changes:
        changes["district_id"] = changes.pop("district")
    budget_round = round_update(actor=request.auth, round_id=budget_id, changes=changes)
    return _reload(request, budget_round.pk)


@router.post(
    "/budgets/{budget_id}/projects",
    response={201: ProjectOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_project_add(request, budget_id: int, data: ProjectIn):
    fields = data.model_dump()
    fields["initiative_id"] = fields.pop("initiative")
    project = project_add(actor=request.auth, round_id=budget_id, data=ProjectInput(**fields))
    return Status(201, _project_out(project))


@router.patch(
    "/budgets/{budget_id}/projects/{project_id}",
    response={200: ProjectOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_project_edit(request, budget_id: int, project_id: int, data: ProjectPatch):
    project = project_update(
        actor=request.auth,
        round_id=budget_id,
        project_id=project_id,
        cost=data.cost,
        cost_note=data.cost_note,
    )
    return _project_out(project)


@router.delete(
    "/budgets/{budget_id}/projects/{project_id}",
    response={204: None, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_project_remove(request, budget_id: int, project_id: int):
    project_remove(actor=request.auth, round_id=budget_id, project_id=project_id)
    return Status(204, None)


@router.post(
    "/budgets/{budget_id}/open",
    response={200: BudgetOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_open(request, budget_id: int):
    return _round_out(round_open(actor=request.auth, round_id=budget_id))


@router.post(
    "/budgets/{budget_id}/close",
    response={200: BudgetOut, **ERRORS_WRITE, 422: dict},
    auth=django_auth,
)
def budget_close(request, budget_id: int):
    return _round_out(round_close(actor=request.auth, round_id=budget_id))
