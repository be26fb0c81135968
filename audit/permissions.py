"""Who may read the audit log: officials and moderators, the people who act in it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import is_staff_role
from civic.errors import Forbidden, NotAuthenticated


def require_audit_reader(user) -> None:
    if not getattr(user, "is_authenticated", False):
        raise NotAuthenticated()
    if not is_staff_role(user):
        raise Forbidden(
            _("The audit log is for akimat officials and moderators."), code="not_staff"
        )
