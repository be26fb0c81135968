"""Who may watch the dashboard (officials and moderators), export (officials), and which
exports they may see (their own; administrators all)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.permissions import can_grant_roles, is_official, require_official, require_staff_role

from .models import Export


def require_dashboard(user) -> None:
    require_staff_role(
        user, message=_("The dashboard is for akimat officials and moderators."), code="not_staff"
    )


def require_exports(user) -> None:
    """The exports pages: officials, and administrators (who may open anyone's)."""
    if can_grant_roles(user) and user.is_active:
        return
    require_official(user)


def exports_visible_to(user) -> QuerySet[Export]:
    """The one rule of which exports a user may see, list or download: the ones they asked for
    while they are an official, and every one for an administrator. The exports page, the
    status poll and the download all read through it; any other export is not found (404)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Export.objects.none()
    if can_grant_roles(user):
        return Export.objects.all()
    if is_official(user):
        return Export.objects.filter(requested_by=user)
    return Export.objects.none()
