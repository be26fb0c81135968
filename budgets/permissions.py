"""Who may vote in, see and manage budget rounds. Plain functions shared by every entry point."""

from __future__ import annotations

from accounts.permissions import is_official, require_official
from residents.eligibility import eligibility_notice, require_eligible

from .models import BudgetRound


def require_can_manage(user) -> None:
    require_official(user)


def require_can_vote(user, budget_round) -> None:
    """The round's eligibility, by the resident register (never the profile's district)."""
    require_eligible(
        user, eligibility=budget_round.eligibility, district_id=budget_round.district_id
    )


def vote_refusal(user, budget_round):
    """For the round's page: why this signed-in user could not vote (a domain error to show
    before the form), or None."""
    return eligibility_notice(
        user, eligibility=budget_round.eligibility, district_id=budget_round.district_id
    )


def results_visible(budget_round, *, official: bool) -> bool:
    """The one rule for per-project counts: shown now to an official (`official=True`) or to
    everyone else. Ballots cast and turnout are always shown.

    Pages, the API, the round socket and the dashboard all ask this function.
    """
    if (
        budget_round.status == BudgetRound.Status.CLOSED
        or budget_round.results_visibility == BudgetRound.Visibility.LIVE
    ):
        return True
    if budget_round.results_visibility == BudgetRound.Visibility.OFFICIALS:
        return official
    return False


def can_see_results(user, budget_round) -> bool:
    return results_visible(budget_round, official=is_official(user))


def can_view(user, budget_round) -> bool:
    """Drafts are seen only by officials; everything else is public."""
    return budget_round.status != BudgetRound.Status.DRAFT or is_official(user)
