"""Lean routes: the busiest writes (a poll vote, a budget ballot) taken in front of Django's
full request chain, with Django's own pieces for every guarantee.

A vote through the whole chain spent about a third of its server CPU in URL resolving,
django-ninja and middleware that a JSON vote does not need (messages, allauth, common,
whitenoise). Here the request is still a Django request, and the same middleware that
matters runs, by the same classes and settings: the HTTPS redirect, the session, the CSRF
check (Origin and token, as django-ninja's session auth asks it), the user. Two steps are
done once rather than per answer, or more directly, with the same outcome:
- The security headers, CSP and X-Frame-Options are the same on every answer of a lean route:
  their middleware runs once per kind of request (HTTPS or not) on a blank answer, and the
  headers it wrote are copied onto each answer.
- The language is chosen as LocaleMiddleware and UserLanguageMiddleware choose it for a path
  with no language in it (a lean route's never has one): the cookie or Accept-Language, the
  signed-in user's saved language, ?lang=. Their four lookups of the path's language, each a
  failed match of "api" against LANGUAGES, were most of the 9 % of a vote's instructions that
  went to the language.
The route then calls the same function the ninja view calls, which calls the one service
(`vote_cast`, `ballot_cast`): rate limits, Idempotency-Key and one ballot per voter live
there.

Anything unusual before the service runs (not JSON, a body Django would refuse, a CSRF
failure, a body the schema refuses, a guest where only accounts may write) is handed to
Django untouched, with the body read so far, so those answers stay Django's and
django-ninja's, word for word. HTTP_LEAN_ROUTES=false turns the lean routes off.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.wsgi import WsgiToAsgiInstance
from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.auth import get_user
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.locale import LocaleMiddleware
from django.urls import set_script_prefix
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string
from pydantic import BaseModel
from pydantic import ValidationError as SchemaError

from civic.csp import policy_varies_by_path
from civic.errors import DomainError
from civic.middleware import UserLanguageMiddleware

logger = logging.getLogger(__name__)

# The middleware of settings.MIDDLEWARE whose work a lean route needs, in the same order.
# Left out: whitenoise (static files), the unreadable-body and NUL checks (a lean route reads
# only a JSON body and hands anything else to Django), CommonMiddleware (slash redirects and
# 404s), messages, allauth's account middleware (its 404 redirect) and the 405 page.
# LocaleMiddleware's request side, and UserLanguageMiddleware, are _activate_language; its
# answer side is LeanRoutes._language_answer, in its place.
LEAN_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "civic.csp.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
# Of those, the ones whose answer side only adds headers, the same to every answer of a lean
# route: they read the settings and whether the request came over HTTPS, nothing else (a
# JSON answer never carries a view's own CSP or X-Frame-Options). Their request side still
# runs (the HTTPS redirect).
STAMPING_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "civic.csp.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
# The headers they add, by whether the request came over HTTPS; emptied when a setting changes.
_stamps: dict[bool, dict[str, str]] = {}


@receiver(setting_changed)
def _forget_stamps(**kwargs) -> None:
    _stamps.clear()


def _no_view(request):  # the CSRF check's callback: a view that is never csrf_exempt
    return None


@dataclass(frozen=True)
class LeanRoute:
    """POST `pattern` (a full-match regex on the path, its named groups the view's ids), with
    a JSON body that `schema` reads, answered by `call(request, data, **ids)`, which returns
    (status, payload) or raises a DomainError. `accounts_only`: a guest is handed to Django
    (its own 401)."""

    pattern: re.Pattern
    schema: type[BaseModel]
    call: Callable[..., tuple[int, Any]]
    accounts_only: bool = False


class _Fallback(Exception):
    """Hand this request to Django's full chain, as it came."""


class LeanRoutes:
    """ASGI: lean routes first, every other HTTP request to `fallback` (Django)."""

    def __init__(self, fallback, *, routes: list[LeanRoute], executor):
        self.fallback = fallback
        self.routes = routes
        self.executor = executor
        self.enabled = settings.HTTP_LEAN_ROUTES
        self.max_body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2**20
        self.middleware = [import_string(path)(_no_view) for path in LEAN_MIDDLEWARE]
        self.csrf = next(m for m in self.middleware if isinstance(m, CsrfViewMiddleware))
        self.locale = next(m for m in self.middleware if isinstance(m, LocaleMiddleware))
        stamping = [import_string(path) for path in STAMPING_MIDDLEWARE]
        self.stamping = [m for m in self.middleware if type(m) in stamping]
        # What runs on each request, in order, and on each answer, in reverse order.
        self.requesting = [
            m.process_request
            for m in self.middleware
            if hasattr(m, "process_request") and m is not self.locale
        ]
        self.answering = [
            self._language_answer if m is self.locale else m.process_response
            for m in reversed(self.middleware)
            if hasattr(m, "process_response") and m not in self.stamping
        ]
        for route in routes:
            # _activate_language: a lean route's path never carries a language.
            if not route.pattern.pattern.startswith("/api/") or translation.get_language_from_path(
                "/api/"
            ):
                raise ValueError(f"a lean route must be under /api/: {route.pattern.pattern}")

    async def __call__(self, scope, receive, send):
        route = match = None
        if self.enabled and scope["type"] == "http" and scope["method"] == "POST":
            for candidate in self.routes:
                match = candidate.pattern.fullmatch(scope["path"])
                if match:
                    route = candidate
                    break
        if route is None:
            return await self.fallback(scope, receive, send)
        chunks, complete = await _read_body(receive, self.max_body)
        if complete:
            response = await self._in_thread(route, match, scope, b"".join(chunks))
            if response is not None:
                return await _send(send, response)
        await self.fallback(scope, _replay(chunks, complete, receive), send)

    def _in_thread(self, *args) -> asyncio.Future:
        """respond(*args) on a thread of the pool, its answer set straight on a future of this
        loop: run_in_executor's chained futures (a lock, callbacks both ways) cost 2 % of a
        vote's instructions (callgrind)."""
        loop = asyncio.get_running_loop()
        answer = loop.create_future()

        def job():
            try:
                outcome = (self.respond(*args), None)
            except BaseException as exc:  # respond's own failures (it answers the rest)
                outcome = (None, exc)
            loop.call_soon_threadsafe(_settle, answer, *outcome)

        self.executor.submit(job)
        return answer

    # --- In a thread of the HTTP pool --------------------------------------------------------

    def respond(self, route: LeanRoute, match, scope, body: bytes) -> HttpResponse | None:
        """The answer, or None to hand the request to Django."""
        try:
            environ = _environ(scope, body)
        except ValueError:  # too many duplicate headers: asgiref's wrapper answers 400
            return None
        set_script_prefix(environ.get("SCRIPT_NAME", ""))
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        request = WSGIRequest(environ)
        try:
            response = self._respond(route, match, request, body)
        except _Fallback:
            response = None
        except Exception:
            if getattr(request, "_lean_service_called", False):
                # The service may have written: never run it a second time through Django.
                logger.exception("lean route %s failed after the service", scope["path"])
                response = _internal_error()
            else:
                logger.exception(
                    "lean route %s failed before the service; Django answers", scope["path"]
                )
                response = None
        if response is None:
            signals.request_finished.send(sender=WSGIHandler)
            translation.deactivate()
            return None
        response._handler_class = WSGIHandler
        response.close()  # request_finished: connections back to the pool, as Django does
        translation.deactivate()
        return response

    def _respond(self, route, match, request, body: bytes) -> HttpResponse:
        if request.content_type != "application/json" or "\x00" in request.META["QUERY_STRING"]:
            raise _Fallback
        for process_request in self.requesting:
            if process_request(request):
                raise _Fallback  # a redirect to HTTPS, say
        request.user = get_user(request)  # every route needs it at once (the language)
        if route.accounts_only and not request.user.is_authenticated:
            raise _Fallback
        _activate_language(request)
        request.csrf_processing_done = False
        if self.csrf.process_view(request, _no_view, (), {}) is not None:
            raise _Fallback
        try:
            # As django-ninja reads a body: json.loads, then the schema.
            data = route.schema.model_validate(json.loads(body))
        except (ValueError, SchemaError):
            raise _Fallback from None
        # From here the service may have written: the answer is this route's, never Django's.
        request._lean_service_called = True
        try:
            status, payload = route.call(request, data, **match.groupdict())
        except DomainError as exc:  # as civic.api answers one
            response = _json(
                exc.status, {**exc.extra, "detail": str(exc.message), "code": exc.code}
            )
            if getattr(exc, "retry_after", None):
                response["Retry-After"] = str(exc.retry_after)
        except Exception:
            logger.exception("unhandled API error")
            response = _internal_error()
        else:
            response = _json(status, payload)
        for process_response in self.answering:
            response = process_response(request, response)
        for header, value in self._stamped_headers(request).items():
            if header not in response:
                response[header] = value
        return response

    def _language_answer(self, request, response) -> HttpResponse:
        """LocaleMiddleware's answer side for a path with no language in it, without its
        lookup of the path's language; a 404 goes through it whole (its redirect check)."""
        if response.status_code == 404:
            return self.locale.process_response(request, response)
        if is_language_prefix_patterns_used(_urlconf(request))[0]:
            patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    def _stamped_headers(self, request) -> dict[str, str]:
        """What STAMPING_MIDDLEWARE adds to an answer to `request`: worked out on a blank
        answer once per kind of request, or each time while the CSP policy excludes some
        paths (then its header depends on the path)."""
        secure = request.is_secure()
        headers = _stamps.get(secure)
        if headers is None:
            blank = HttpResponse(content_type="application/json; charset=utf-8")
            had = set(blank.headers)
            for middleware in reversed(self.stamping):
                blank = middleware.process_response(request, blank)
            headers = {k: v for k, v in blank.items() if k not in had}
            if not policy_varies_by_path():
                _stamps[secure] = headers
        return headers


def _urlconf(request) -> str:
    return getattr(request, "urlconf", settings.ROOT_URLCONF)


def _activate_language(request) -> None:
    """The language of the answer, as LocaleMiddleware and then UserLanguageMiddleware choose
    it for a path with no language in it (LeanRoutes takes only routes under /api/): the
    cookie or Accept-Language (LANGUAGE_CODE where i18n_patterns leave the default language
    unprefixed), then the signed-in user's saved language, then ?lang=."""
    used, prefixed_default = is_language_prefix_patterns_used(_urlconf(request))
    if used and not prefixed_default:
        language = settings.LANGUAGE_CODE
    else:
        language = translation.get_language_from_request(request)
    translation.activate(language)
    request.LANGUAGE_CODE = translation.get_language()
    UserLanguageMiddleware._apply(request, request.user)


def _settle(answer: asyncio.Future, response, error) -> None:
    if answer.cancelled():  # the client went away meanwhile
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(response)


def _internal_error() -> HttpResponse:
    message = translation.gettext("Internal error. It has been logged.")
    return _json(500, {"detail": message, "code": "internal"})


def _json(status: int, payload) -> HttpResponse:
    # As django-ninja renders: DjangoJSONEncoder, application/json; charset=utf-8.
    return HttpResponse(
        json.dumps(payload, cls=DjangoJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _environ(scope, body: bytes) -> dict:
    builder = WsgiToAsgiInstance(None)
    builder.scope = scope
    return builder.build_environ(scope, io.BytesIO(body))


async def _read_body(receive, limit: int) -> tuple[list[bytes], bool]:
    """The body's chunks; complete=False once it passes `limit` (Django answers that, 413)."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return chunks, False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return chunks, False
        if not message.get("more_body"):
            return chunks, True


def _replay(chunks: list[bytes], complete: bool, receive):
    """A receive() that gives back what was read, then goes on with the original."""
    pending = list(chunks)

    async def replayed():
        if pending:
            chunk = pending.pop(0)
            return {
                "type": "http.request",
                "body": chunk,
                "more_body": bool(pending) or not complete,
            }
        return await receive()

    return replayed if chunks else receive


async def _send(send, response: HttpResponse) -> None:
    body = response.content
    headers = [
        *response.items(),
        *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
    ]
    if not response.has_header("Content-Length"):
        headers.append(("Content-Length", str(len(body))))
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [(k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
