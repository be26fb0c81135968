"""The websocket Origin check: a socket is accepted only from a page of the site it was opened on.

Browsers send the Origin of the page that opens a socket, and cannot be made to lie about it;
comparing it with the socket's own origin (scheme, host and port) is what stops another site,
or another port of the same host, from opening sockets with a visitor's session cookie.
channels' AllowedHostsOriginValidator compares the host only, so http://127.0.0.1:9999 passed.

The socket's own origin is http://<Host header> for ws and https://<Host header> for wss. Behind
a proxy that terminates TLS the server sees ws: the scheme is then taken where Django takes it
for HTTP, from SECURE_PROXY_SSL_HEADER when it is set (or from the server, which sets the scope's
scheme when it honours proxy headers). Operators whose public origin differs from what reaches
the app list it in CSRF_TRUSTED_ORIGINS, which Django's CSRF check honours too.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


def _normalise(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None when it does not parse."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS or not netloc:
        return None
    host, port = split_domain_port(netloc.lower())
    if not host:
        return None
    if port == "":
        return scheme, host, DEFAULT_PORTS[scheme]
    if not port.isdigit():
        return None
    return scheme, host, int(port)


def _allowed_hosts() -> list[str]:
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        # What Django's request.get_host() allows in the same case.
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return allowed


def _is_secure(scope) -> bool:
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        meta_name, secure_value = proxy_header
        # HTTP_X_FORWARDED_PROTO -> x-forwarded-proto
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        value = _header(scope, name)
        if value is not None:
            return value.split(",")[0].strip() == secure_value
    return scope.get("scheme", "ws") in ("wss", "https")


def own_origin(scope) -> tuple[str, str, int] | None:
    """The origin the socket was opened on, or None when the Host is missing or not allowed."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, _port = split_domain_port(host.lower())
    if not domain or not validate_host(domain, _allowed_hosts()):
        return None
    return _normalise("https" if _is_secure(scope) else "http", host)


def _trusted(origin: tuple[str, str, int]) -> bool:
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        parts = urlsplit(entry)
        if parts.netloc.startswith("*"):
            # Django's rule: https://*.example.com trusts every subdomain over that scheme.
            pattern_host, pattern_port = split_domain_port(parts.netloc[1:].lower())
            wanted_port = (
                int(pattern_port) if pattern_port.isdigit() else DEFAULT_PORTS.get(parts.scheme)
            )
            if (
                parts.scheme == scheme
                and port == wanted_port
                and is_same_domain(host, pattern_host)
            ):
                return True
        elif _normalise(parts.scheme, parts.netloc) == origin:
            return True
    return False


def origin_allowed(scope) -> bool:
    """True when the handshake's Origin is the socket's own origin or a trusted one."""
    raw = _header(scope, b"origin")
    if not raw:
        return False
    parts = urlsplit(raw)
    origin = _normalise(parts.scheme, parts.netloc)
    if origin is None:
        return False
    return origin == own_origin(scope) or _trusted(origin)


class SameOriginValidator:
    """ASGI middleware for websockets: refuses the handshake (403) unless origin_allowed()."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards websockets only")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        logger.warning(
            "websocket refused: origin %r on host %r",
            _header(scope, b"origin"),
            _header(scope, b"host"),
        )
        return await WebsocketDenier()(scope, receive, send)
