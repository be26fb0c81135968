"""Who may vote in and manage polls. Plain functions shared by views, API and consumers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_official, require_citizen, require_official
from civic.errors import Forbidden

from .models import Poll


def require_can_vote(user, poll) -> None:
    """`poll` is a Poll or the vote path's PollMeta: both carry district_id."""
    require_citizen(user)
    if poll.district_id and user.district_id != poll.district_id:
        from accounts.models import District

        raise Forbidden(
            _("This poll is only for residents of %(district)s.")
            % {"district": District.objects.get(pk=poll.district_id).name},
            code="wrong_district",
        )


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
