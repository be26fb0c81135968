"""Open data: GET /api/v1/budgets/{id}/pabulib, a round in the Pabulib .pb format."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Router

from civic.errors import Forbidden
from civic.ratelimit import client_address, rate_limit

from .models import BudgetBallotProject
from .pabulib import write
from .permissions import can_see_results
from .selectors import round_get, round_outcomes

router = Router(tags=["budgets"])

# A city-wide round's file takes a couple of seconds to build: a few downloads a minute per
# address are plenty for researchers and keep it from being a cheap way to load the server.
DOWNLOADS_PER_MINUTE = 12


def round_ballots(budget_round) -> list[list[int]]:
    """Each ballot's project ids, read from the ballot rows (the truth)."""
    table = BudgetBallotProject._meta.db_table
    if connection.vendor == "postgresql":
        # 200,000 ballots: grouped in the database, not 900,000 rows through the ORM.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT array_agg(project_id) FROM {table} WHERE round_id = %s GROUP BY ballot_id",  # noqa: S608 - our table
                [budget_round.pk],
            )
            return [row[0] for row in cursor.fetchall()]
    picks: dict = defaultdict(list)
    rows = (
        BudgetBallotProject.objects.filter(round_id=budget_round.pk)
        .order_by()
        .values_list("ballot_id", "project_id")
        .iterator(chunk_size=20000)
    )
    for ballot_id, project_id in rows:
        picks[ballot_id].append(project_id)
    return list(picks.values())


def round_pabulib(budget_round, *, language: str) -> str:
    """The .pb text of a round: the `selected` column from its own rule's stored outcome."""
    primary, _alternative = round_outcomes(budget_round)
    return write(
        budget_round,
        budget_round.projects.all(),
        round_ballots(budget_round),
        primary,
        language=language,
    )


@router.get(
    "/budgets/{round_id}/pabulib",
    response={200: None, 403: dict, 404: dict, 429: dict},
    summary="The round as a Pabulib .pb file",
    description="For rounds whose results are visible to the caller (closed, or live "
    "results): META, PROJECTS (project_id;cost;votes;name;selected, `selected` from the "
    "round's own rule once computed) and VOTES (voter_id;vote). Voter ids are 1..n in a "
    "random order and link to no account. 403 `results_hidden` while results are hidden; "
    f"429 past {DOWNLOADS_PER_MINUTE} downloads a minute from one address.",
    openapi_extra={
        "responses": {
            200: {
                "description": "the .pb file (an attachment)",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    },
)
def round_pabulib_file(request, round_id: str):
    rate_limit(scope="budget_pabulib", user_id=client_address(request), limit=DOWNLOADS_PER_MINUTE)
    budget_round = round_get(round_id=round_id, user=request.user)
    if budget_round is None:
        raise Http404
    if not can_see_results(request.user, budget_round):
        raise Forbidden(
            _(
                "This round's results are not public yet, so neither are its ballots. The "
                "Pabulib file is published when the results are."
            ),
            code="results_hidden",
        )
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    response = HttpResponse(
        round_pabulib(budget_round, language=language), content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="birge-budget-{budget_round.pk}.pb"'
    return response
