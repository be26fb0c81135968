"""The websocket Origin check (civic/origin.py): scheme, host and port must be the socket's own,
or listed in CSRF_TRUSTED_ORIGINS (issue 10, "Headers")."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from civic.asgi import application
from civic.origin import origin_allowed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _strict(settings):
    # Nothing trusted beyond the socket's own origin, unless a test says so.
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "birge.example"]


def scope(origin: str | None, host: str | None = "127.0.0.1:8000", scheme="ws", extra=()):
    headers = []
    if host is not None:
        headers.append((b"host", host.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    headers.extend(extra)
    return {"type": "websocket", "scheme": scheme, "headers": headers}


async def handshake(origin: str, host: str = "127.0.0.1:8000") -> bool:
    communicator = WebsocketCommunicator(
        application, "/ws/health/", headers=[(b"host", host.encode()), (b"origin", origin.encode())]
    )
    connected, _ = await communicator.connect()
    if connected:
        await communicator.disconnect()
    return connected


async def test_finding_ws_origin_port_mismatch_refused():
    assert await handshake("http://127.0.0.1:8000")
    assert not await handshake("http://127.0.0.1:9999")


async def test_finding_ws_origin_scheme_mismatch_refused():
    assert not await handshake("https://127.0.0.1:8000")


async def test_finding_ws_origin_host_mismatch_refused():
    assert not await handshake("http://localhost:8000")
    assert not await handshake("http://evil.example:8000")


def test_same_origin_is_accepted_with_default_ports_spelled_or_not():
    assert origin_allowed(scope("http://127.0.0.1:8000"))
    assert origin_allowed(scope("http://birge.example", host="birge.example:80"))
    assert origin_allowed(scope("https://birge.example:443", host="birge.example", scheme="wss"))
    assert origin_allowed(scope("HTTP://Birge.Example", host="birge.example"))


def test_wss_wants_an_https_origin():
    assert not origin_allowed(scope("http://birge.example", host="birge.example", scheme="wss"))
    assert not origin_allowed(scope("https://birge.example", host="birge.example", scheme="ws"))


def test_a_host_outside_allowed_hosts_is_refused_even_when_origin_matches_it():
    # DNS rebinding: evil.example resolving to the server sends Host and Origin alike.
    assert not origin_allowed(scope("http://evil.example", host="evil.example"))


def test_no_origin_or_a_malformed_one_is_refused():
    assert not origin_allowed(scope(None))
    assert not origin_allowed(scope("null"))
    assert not origin_allowed(scope("ftp://127.0.0.1:8000"))
    assert not origin_allowed(scope("http://127.0.0.1:abc", host="127.0.0.1:abc"))


def test_without_a_host_only_trusted_origins_pass(settings):
    assert not origin_allowed(scope("http://127.0.0.1:8000", host=None))
    settings.CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1:8000"]
    assert origin_allowed(scope("http://127.0.0.1:8000", host=None))


def test_behind_a_tls_proxy_the_proxy_header_gives_the_scheme(settings):
    forwarded = [(b"x-forwarded-proto", b"https")]
    public = scope("https://birge.example", host="birge.example", extra=forwarded)
    assert not origin_allowed(public)  # no SECURE_PROXY_SSL_HEADER: the header is not believed
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(public)
    assert not origin_allowed(scope("http://birge.example", host="birge.example", extra=forwarded))


def test_operators_list_public_origins_in_csrf_trusted_origins(settings):
    public = scope("https://birge.example", host="10.0.0.5:8000")
    settings.ALLOWED_HOSTS = ["10.0.0.5"]
    assert not origin_allowed(public)
    settings.CSRF_TRUSTED_ORIGINS = ["https://birge.example"]
    assert origin_allowed(public)
    assert not origin_allowed(scope("https://birge.example:8443", host="10.0.0.5:8000"))
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.birge.example"]
    assert origin_allowed(scope("https://live.birge.example", host="10.0.0.5:8000"))
    assert not origin_allowed(scope("http://live.birge.example", host="10.0.0.5:8000"))
    assert not origin_allowed(scope("https://birge.example.evil", host="10.0.0.5:8000"))
