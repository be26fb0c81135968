"""The JSON API at /api/v1/: one NinjaAPI, error handlers mapping everything to JSON.

Browsers authenticate with the Django session; unsafe methods then need the CSRF token
(django-ninja's session auth checks it). Errors are always JSON: {"detail": message, "code"}.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accounts.permissions import can_read_api_docs

from .errors import UNREADABLE_BODY_ERRORS, DomainError, unreadable_body_error

logger = logging.getLogger(__name__)


def _docs_if_allowed(view):
    """The docs and the OpenAPI schema answer 404, as if absent, to whoever may not read them
    (API_DOCS_PUBLIC off: production's default)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_read_api_docs(request.user):
            return api_not_found(request)
        return view(request, *args, **kwargs)

    return wrapper


api = NinjaAPI(
    title="Birge API",
    version="1",
    description="Civic participation and live voting for Almaty.",
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs_decorator=_docs_if_allowed,
)


class ErrorOut(Schema):
    detail: str
    code: str


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    response = api.create_response(
        request,
        {**exc.extra, "detail": str(exc.message), "code": exc.code},
        status=exc.status,
    )
    if getattr(exc, "retry_after", None):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return api.create_response(
        request,
        {"detail": _("The data sent is not valid."), "code": "invalid", "errors": exc.errors},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return api.create_response(
        request, {"detail": _("Please sign in first."), "code": "not_authenticated"}, status=401
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 403 and "csrf" in str(exc).lower():
        # Session auth refused the write: the page's CSRF token is missing or stale.
        detail, code = _("The page has expired. Reload it and try again."), "csrf_failed"
    else:
        detail, code = str(exc), "http_error"
    return api.create_response(request, {"detail": detail, "code": code}, status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(
        request, {"detail": _("Not found."), "code": "not_found"}, status=404
    )


def _unreadable_body(request, exc):
    # Raised when django-ninja reads the body (oversize, or consumed by the multipart parser):
    # the sender's mistake, answered 413/415/400 and logged without a traceback.
    error = unreadable_body_error(exc)
    logger.warning("unreadable request body on %s: %s", request.path, exc)
    return _domain_error(request, error)


for _exc_class in UNREADABLE_BODY_ERRORS:
    api.add_exception_handler(_exc_class, _unreadable_body)


@api.exception_handler(Exception)
def _unexpected(request, exc):
    logger.exception("unhandled API error")
    return api.create_response(
        request,
        {"detail": _("Internal error. It has been logged."), "code": "internal"},
        status=500,
    )


def api_not_found(request, rest: str = ""):
    return JsonResponse({"detail": _("No such API endpoint."), "code": "not_found"}, status=404)


from accounts.api import router as accounts_router  # noqa: E402
from budgets.api import router as budgets_router  # noqa: E402
from budgets.api_pabulib import router as budgets_pabulib_router  # noqa: E402
from communities.api import router as communities_router  # noqa: E402
from dialogue.api import router as dialogue_router  # noqa: E402
from polls.api import router as polls_router  # noqa: E402
from residents.api import router as residents_router  # noqa: E402

api.add_router("/", accounts_router)
api.add_router("/", polls_router)
api.add_router("/", communities_router)
api.add_router("/", dialogue_router)
api.add_router("/", residents_router)
api.add_router("/", budgets_router)
api.add_router("/", budgets_pabulib_router)
