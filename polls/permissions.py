"""Who may vote in and manage polls. Plain functions shared by views, API and consumers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_official, require_official
from civic.errors import Forbidden
from residents.eligibility import eligibility_notice, require_eligible

from .models import Poll


def require_can_vote(user, poll) -> None:
    """Whether `user` may vote with their account (ballot codes do not ask this): the poll's
    eligibility, by the resident register, never the profile's district. `poll` is a Poll or
    the vote path's PollMeta: both carry eligibility and district_id."""
    require_eligible(user, eligibility=poll.eligibility, district_id=poll.district_id)


def vote_refusal(user, poll):
    """For the poll page: why this signed-in user could not vote with their account (a
    domain error to show before the form), or None."""
    return eligibility_notice(user, eligibility=poll.eligibility, district_id=poll.district_id)


def require_ballot_mode(poll, *, with_code: bool) -> None:
    """A poll takes ballots from accounts, from printed codes, or both (`poll.ballot_mode`;
    `poll` is a Poll or the vote path's PollMeta)."""
    if with_code and poll.ballot_mode == Poll.BallotMode.ACCOUNTS:
        raise Forbidden(
            _("This poll does not take ballot codes. Sign in to vote with your account."),
            code="codes_not_accepted",
        )
    if not with_code and poll.ballot_mode == Poll.BallotMode.CODES:
        raise Forbidden(
            _("This poll takes ballot codes only. Enter the code from your card."),
            code="accounts_not_accepted",
        )


def require_can_manage(user) -> None:
    require_official(user)


def results_visible(poll, *, official: bool) -> bool:
    """The one results-visibility rule: whether per-choice results are shown now, to an
    official (`official=True`) or to everyone else. Turnout is always shown.

    Pages, the API, the results socket and the dashboard all ask this function.
    """
    if poll.status == Poll.Status.CLOSED or poll.results_visibility == Poll.Visibility.LIVE:
        return True
    if poll.results_visibility == Poll.Visibility.OFFICIALS:
        return official
    return False


def can_see_results(user, poll: Poll) -> bool:
    """Whether per-choice results are visible to this user now (turnout always is)."""
    return results_visible(poll, official=is_official(user))


def can_view(user, poll: Poll) -> bool:
    """Drafts are seen only by officials; everything else is public."""
    return poll.status != Poll.Status.DRAFT or is_official(user)
