"""The in-app list of notifications and marking them read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .selectors import notification_row, notifications_of, unread_count
from .services import notifications_mark_read

PAGE_SIZE = 20


@login_required
def notification_list(request):
    # Every notification, a page at a time: only the page shown is read and rendered.
    page = Paginator(notifications_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [notification_row(n) for n in page.object_list]
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
