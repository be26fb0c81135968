"""Who may read the audit log: officials and moderators, the people who act in it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import require_staff_role


def require_audit_reader(user) -> None:
    require_staff_role(
        user, message=_("The audit log is for akimat officials and moderators."), code="not_staff"
    )
