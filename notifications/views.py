"""The in-app list of notifications and marking them read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .selectors import notifications_for, unread_count
from .services import notifications_mark_read

LIST_LIMIT = 200
PAGE_SIZE = 20


@login_required
def notification_list(request):
    rows = notifications_for(request.user, limit=LIST_LIMIT)
    for row in rows:
        # Only a path on this site becomes a link: never another host, never a scheme.
        url = row["url"] or ""
        row["link"] = url if url.startswith("/") and not url.startswith("//") else ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/index.html",
        {"page_obj": page, "unread": unread_count(request.user)},
    )


@login_required
@require_POST
def mark_all_read(request):
    notifications_mark_read(user=request.user)
    messages.success(request, _("All notifications are marked as read."))
    return redirect("notifications:index")
