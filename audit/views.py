"""The audit log for officials and moderators: read-only, newest first, filtered, paged; and
its export (CSV or JSON), which is recorded in the log itself."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from civic.errors import DomainError, NotFound
from civic.validation import parse_id
from civic.views import domain_error_response

from .describe import describe_all, kind_label
from .permissions import require_audit_reader
from .selectors import SYSTEM, audit_actions, audit_actors, audit_entries
from .services import audit_log_export

PAGE_SIZE = 50
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def readers_only(view):
    """Anonymous visitors go to the login page; citizens get the 403 page."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            require_audit_reader(request.user)
        except DomainError as exc:
            return domain_error_response(request, exc)
        return view(request, *args, **kwargs)

    return wrapper


def _filters(params) -> tuple[str, int | str | None]:
    """The action and actor filters of a request; unknown values filter nothing out."""
    action = params.get("action", "")[:60]
    actor = params.get("actor", "")
    if actor == SYSTEM:
        return action, SYSTEM
    try:
        return action, parse_id(actor) if actor else None
    except NotFound:
        return action, None


@readers_only
@require_GET
def index(request):
    action, actor = _filters(request.GET)
    paginator = Paginator(audit_entries(action=action, actor_id=actor).select_related("actor"),
                          PAGE_SIZE)  # fmt: skip
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/index.html",
        {
            "page": page,
            "entries": describe_all(list(page.object_list)),
            "actions": [(name, kind_label(name)) for name in audit_actions()],
            "actors": audit_actors(),
            "action": action,
            "actor": str(actor or ""),
            "system": SYSTEM,
            "query": query.urlencode(),
        },
    )


@readers_only
@require_POST
def export(request):
    """A POST (with the page's CSRF token): an export changes the log, it is not a link."""
    action, actor = _filters(request.POST)
    fmt = request.POST.get("format", "")
    try:
        content, _rows = audit_log_export(
            actor=request.user, format=fmt, action=action, actor_id=actor
        )
    except DomainError as exc:
        return domain_error_response(request, exc)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="birge-audit-{stamp}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
