"""Who may do what with a comment: the rules the services check and pages and the API show.

How long a comment stays editable (COMMENT_EDIT_SECONDS) is decided here only: the service
refuses an edit with `require_comment_editable`, the thread page and the API offer the edit
where `can_edit_comment` says so.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from civic.errors import Conflict, Forbidden
from residents.eligibility import eligibility_notice, require_eligible

from .models import Comment


def comment_edit_minutes() -> int:
    """The edit window as the pages tell it."""
    return settings.COMMENT_EDIT_SECONDS // 60


def comment_edit_window_open(comment: Comment, *, now=None) -> bool:
    """True while `comment` is young enough to be edited."""
    age = (now or timezone.now()) - comment.created_at
    return age.total_seconds() <= settings.COMMENT_EDIT_SECONDS


def _is_author(user, comment: Comment) -> bool:
    return getattr(user, "is_authenticated", False) and comment.author_id == user.pk


def can_edit_comment(user, comment: Comment, *, now=None) -> bool:
    """Whether `user` may edit `comment` now: its author, while it is shown, in the window."""
    return (
        _is_author(user, comment)
        and comment.deleted_at is None
        and comment.hidden_at is None
        and comment_edit_window_open(comment, now=now)
    )


def require_comment_author(user, comment: Comment) -> None:
    if not _is_author(user, comment):
        raise Forbidden(_("Only the author can edit a comment."))


def require_comment_editable(comment: Comment, *, now=None) -> None:
    """Refuse (409) the edit of a comment that is gone, hidden, or past its window."""
    if comment.deleted_at or comment.hidden_at:
        raise Conflict(_("This comment can no longer be edited."))
    if not comment_edit_window_open(comment, now=now):
        raise Conflict(
            ngettext_lazy(
                "Comments can be edited for %(m)d minute after posting.",
                "Comments can be edited for %(m)d minutes after posting.",
                "m",
            )
            % {"m": comment_edit_minutes()},
            code="edit_window_passed",
        )


def require_session_eligible(session, user) -> None:
    """Who may ask and upvote in a Q&A session: its eligibility (residents.eligibility),
    with the session's district for a district session."""
    require_eligible(user, eligibility=session.eligibility, district_id=session.district_id)


def session_refusal(user, session):
    """For the session page: why this signed-in user could not ask, or None."""
    return eligibility_notice(
        user, eligibility=session.eligibility, district_id=session.district_id
    )
