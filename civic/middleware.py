"""Middleware: a signed-in user's chosen language applies wherever the URL does not name one;
an empty 405 (a link followed to a POST-only address) becomes a page in the user's language;
a form body that cannot be read, or holds a NUL byte, is refused before any view sees it."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import get_language_from_path
from django.utils.translation import gettext_lazy as _

from .errors import UNREADABLE_BODY_ERRORS, UnsupportedMediaType, unreadable_body_error

logger = logging.getLogger(__name__)


def _refuse(request, error):
    """A refused request: JSON under /api/, Birge's error page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(error.message), "code": error.code}, status=error.status)
    from .views import domain_error_response

    return domain_error_response(request, error)


class UserLanguageMiddleware:
    """Runs after AuthenticationMiddleware and LocaleMiddleware.

    An explicit language in the URL (/kk/...) always wins, so shared links show what the sender
    saw. Elsewhere (/, /api/, /healthz) the saved preference of a signed-in user replaces the
    cookie or Accept-Language guess, and LocaleMiddleware's redirect from / follows it.
    Works in both sync and async chains, so it adds no thread switch under ASGI.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    @staticmethod
    def _apply(request, user) -> None:
        """For a path with no language in it (the callers know)."""
        preferred = getattr(user, "preferred_language", "")
        if preferred and user.is_authenticated:
            translation.activate(preferred)
            request.LANGUAGE_CODE = preferred
        # The API's ?lang=kk|ru|en asks for content (and messages) in that language.
        asked = request.GET.get("lang", "") if request.path_info.startswith("/api/") else ""
        if asked in ("kk", "ru", "en"):
            translation.activate(asked)
            request.LANGUAGE_CODE = asked

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        if not get_language_from_path(request.path_info):
            self._apply(request, request.user)
        return self.get_response(request)

    async def __acall__(self, request):
        if not get_language_from_path(request.path_info):
            self._apply(request, await request.auser())
        return await self.get_response(request)


class MethodNotAllowedPage:
    """Django's require_POST answers 405 with an empty body: a blank page for whoever followed
    a link there. Pages get Birge's error page instead (the API keeps its JSON)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not response.content
            and not request.path.startswith("/api/")
        ):
            from .errors import MethodNotAllowed
            from .views import domain_error_response

            page = domain_error_response(request, MethodNotAllowed())
            if response.has_header("Allow"):
                page["Allow"] = response["Allow"]
            return page
        return response


class RefuseUnreadableBody:
    """Reads a POST's form data first, so that a body Django cannot read (over
    DATA_UPLOAD_MAX_MEMORY_SIZE, a broken multipart body, too many fields) is answered 413 or
    400 in the user's language and logged as a warning, instead of surfacing as an error in
    whichever middleware or view touches request.POST first. JSON bodies are read by
    django-ninja, whose handlers (civic.api) map the same errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            try:
                request.POST  # noqa: B018 - parsing is the point
            except UNREADABLE_BODY_ERRORS as exc:
                logger.warning("unreadable request body on %s: %s", request.path, exc)
                return _refuse(request, unreadable_body_error(exc))
        elif request.method == "DELETE" and request.content_type.startswith("multipart/"):
            # A DELETE carries no body: one declaring form data is a client error, answered
            # the same on every endpoint (whether or not the endpoint would find its target).
            return _refuse(request, UnsupportedMediaType(code="unsupported_media_type"))
        return self.get_response(request)


class RefuseNulBytes:
    """PostgreSQL cannot store or even compare text holding a NUL byte (SQLite can), so a
    filter like ?status=%00 (or a path part that a view looks up, such as allauth's provider id)
    would fail deep in a query. No person types one: refuse the whole request with a 400 here,
    for every page, path and API filter at once. JSON bodies are checked by
    the services' text cleaning."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _has_nul(querydict) -> bool:
        return any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in querydict.lists()
        )

    def __call__(self, request):
        if (
            "\x00" in request.path
            or self._has_nul(request.GET)
            or (request.method == "POST" and self._has_nul(request.POST))
        ):
            from .errors import InvalidInput

            error = InvalidInput(
                _("The request contains characters that are not allowed."),
                code="invalid_characters",
            )
            return _refuse(request, error)
        return self.get_response(request)
