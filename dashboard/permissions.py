"""Who may watch the dashboard (officials and moderators) and export (officials)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.permissions import require_staff_role


def require_dashboard(user) -> None:
    require_staff_role(
        user, message=_("The dashboard is for akimat officials and moderators."), code="not_staff"
    )
