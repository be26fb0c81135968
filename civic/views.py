"""Project-wide pages: home, language switch, error pages, the domain-error page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from .errors import DomainError, Forbidden


def home(request):
    from .home import home_context

    return render(request, "home.html", home_context(request.user))


@require_POST
def set_language(request):
    """Django's set_language, which also remembers the choice for a signed-in user."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return HttpResponseBadRequest(gettext("Unknown language."))
    response = django_set_language(request)
    if request.user.is_authenticated:
        from accounts.services import user_set_language

        user_set_language(user=request.user, language=language)
    return response


def domain_error_response(request, error: DomainError):
    """The one place a domain error becomes a page: its message, its status."""
    response = render(request, "error.html", {"error": error}, status=error.status)
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def csrf_failure(request, reason=""):
    """The CSRF refusal as Birge's own 403 page, in the user's language."""
    error = Forbidden(
        gettext(
            "Your form has expired or was sent from another site. Reload the page and try again."
        ),
        code="csrf",
    )
    return domain_error_response(request, error)


def section_placeholder(request, *, template: str):
    return render(request, template)
