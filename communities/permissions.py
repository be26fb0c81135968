"""Which moves an initiative may make, and who may make them: the one rule of the workflow.

The service checks a move with `require_initiative_move`; pages, the API and the dashboard
offer what `initiative_allowed_transitions` (or `moves_by_status`) says, so a button is shown
exactly when the service would accept its move.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_official
from civic.errors import Conflict, Forbidden
from residents.eligibility import eligibility_notice, require_eligible

from .models import Initiative, Membership

S = Initiative.Status

# --- The workflow: (from, to) → who may make the move ------------------------------------------
COMMUNITY, OFFICIAL = "community", "official"
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, S.SUBMITTED): COMMUNITY,
    (S.CHANGES_REQUESTED, S.SUBMITTED): COMMUNITY,
    (S.SUBMITTED, S.UNDER_REVIEW): OFFICIAL,
    (S.UNDER_REVIEW, S.ACCEPTED): OFFICIAL,
    (S.UNDER_REVIEW, S.REJECTED): OFFICIAL,
    (S.UNDER_REVIEW, S.CHANGES_REQUESTED): OFFICIAL,
    (S.ACCEPTED, S.IN_PROGRESS): OFFICIAL,
    (S.IN_PROGRESS, S.IMPLEMENTED): OFFICIAL,
    (S.DRAFT, S.WITHDRAWN): COMMUNITY,
    (S.SUBMITTED, S.WITHDRAWN): COMMUNITY,
    (S.UNDER_REVIEW, S.WITHDRAWN): COMMUNITY,
    (S.CHANGES_REQUESTED, S.WITHDRAWN): COMMUNITY,
}


class NotAMember(Forbidden):
    default_message = _("Only members of this community can do this.")


class TransitionNotAllowed(Conflict):
    default_message = _("This initiative cannot move to that status now.")


def moves_by_status(side: str) -> dict[str, list[str]]:
    """For each status, the statuses `side` (COMMUNITY or OFFICIAL) may move an initiative to."""
    moves: dict[str, list[str]] = {}
    for (frm, to), mover in TRANSITIONS.items():
        if mover == side:
            moves.setdefault(str(frm), []).append(str(to))
    return moves


def _is_member(user, initiative: Initiative) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return Membership.objects.filter(
        community_id=initiative.community_id, user=user, state=Membership.State.ACTIVE
    ).exists()


def initiative_sides(user, initiative: Initiative, *, member: bool | None = None) -> set[str]:
    """For whom `user` acts on `initiative`: its community (an active member), the akimat
    (an official), both or neither. `member` spares the query when the caller knows it."""
    sides = set()
    if member if member is not None else _is_member(user, initiative):
        sides.add(COMMUNITY)
    if is_official(user):
        sides.add(OFFICIAL)
    return sides


def initiative_allowed_transitions(
    user,
    initiative: Initiative,
    *,
    side: str | None = None,
    sides: set[str] | None = None,
) -> list[str]:
    """The statuses `user` may move `initiative` to now (only `side`'s moves, if given)."""
    sides = initiative_sides(user, initiative) if sides is None else sides
    return [
        to
        for (frm, to), mover in TRANSITIONS.items()
        if frm == initiative.status and mover in sides and (side is None or mover == side)
    ]


def require_initiative_mover(user, to: str, *, sides: set[str]) -> None:
    """Refuse (403) a move to `to` that only the other side ever makes: only officials decide,
    only the community submits. Asked before any lock; the status is checked under it."""
    who = {mover for (_frm, dest), mover in TRANSITIONS.items() if dest == to}
    if who == {OFFICIAL} and OFFICIAL not in sides:
        raise Forbidden(_("Only akimat officials can make this decision."), code="not_official")
    if who == {COMMUNITY} and COMMUNITY not in sides:
        raise NotAMember()


def require_initiative_move(
    user, initiative: Initiative, to: str, *, sides: set[str] | None = None
) -> str:
    """The side that makes the move of `initiative` to `to`, or the domain error saying why
    `user` may not make it: a move only the other side makes → 403; a move the workflow does
    not have from the current status → 409; the other side's move from this status → 403."""
    sides = initiative_sides(user, initiative) if sides is None else sides
    require_initiative_mover(user, to, sides=sides)
    mover = TRANSITIONS.get((initiative.status, to))
    if mover is None:
        raise TransitionNotAllowed(
            _("An initiative that is “%(from)s” cannot become “%(to)s”.")
            % {"from": S(initiative.status).label, "to": S(to).label}
        )
    if mover not in sides:
        raise Forbidden(_("You cannot make this move."))
    return mover


def require_support_eligible(user, initiative: Initiative) -> None:
    """Whether `user` may support `initiative`: its support_eligibility, asked of the resident
    register (residents.eligibility), with the initiative's district for a district one."""
    require_eligible(
        user, eligibility=initiative.support_eligibility, district_id=initiative.district_id
    )


def support_refusal(user, initiative: Initiative):
    """For the initiative page: why this signed-in user could not support it, or None."""
    return eligibility_notice(
        user, eligibility=initiative.support_eligibility, district_id=initiative.district_id
    )


# --- Progress of the work ----------------------------------------------------------------------

# An initiative's progress is reported while the work goes on, and corrected after it is done.
PROGRESS_OPEN = frozenset({S.IN_PROGRESS, S.IMPLEMENTED})


def can_report_progress(user, initiative: Initiative) -> bool:
    """Whether `user` may report how the work on `initiative` goes: akimat officials, and
    the leads of the initiative's community (whatever the initiative's status)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if is_official(user):
        return True
    return Membership.objects.filter(
        community_id=initiative.community_id,
        user=user,
        state=Membership.State.ACTIVE,
        role=Membership.Role.LEAD,
    ).exists()


def require_progress_reporter(user, initiative: Initiative) -> None:
    if not can_report_progress(user, initiative):
        raise Forbidden(
            _("Only akimat officials and the community's leads can report progress."),
            code="not_progress_reporter",
        )


def require_progress_open(initiative: Initiative) -> None:
    if initiative.status not in PROGRESS_OPEN:
        raise Conflict(
            _("Progress is reported only for initiatives in progress or implemented."),
            code="progress_closed",
        )
