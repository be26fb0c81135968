"""Middleware: a signed-in user's chosen language applies wherever the URL does not name one."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.utils import translation
from django.utils.translation import get_language_from_path


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
        preferred = getattr(user, "preferred_language", "")
        if preferred and user.is_authenticated and not get_language_from_path(request.path_info):
            translation.activate(preferred)
            request.LANGUAGE_CODE = preferred

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
