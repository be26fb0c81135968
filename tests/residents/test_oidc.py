"""Resident verification by an OpenID Connect identity provider, against a local provider.

The provider (tests/oidc_provider.py) is a real HTTP server: allauth discovers it, sends the
browser to its authorization page, exchanges the code (PKCE) and reads the ID token and
userinfo over HTTP. The server-side tests walk the redirects by hand with Django's test
client; the browser test clicks through it in Chromium against a real Birge server.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.conf import settings
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from audit.models import AuditEntry
from residents.iin import iin_make
from residents.methods import enabled_methods, method_by_key, method_label
from residents.methods.oidc import PROVIDER_ID, verify_page_url
from residents.models import ResidentVerification
from residents.selectors import verification_of
from residents.services import resident_bind
from tests.conftest import AsgiServer, server_env_sharing, session_cookie
from tests.factories import UserFactory
from tests.oidc_provider import LocalOIDCProvider

from .conftest import person, register_csv

pytestmark = pytest.mark.django_db

START = "/en/residents/oidc/start/"


def callback_path() -> str:
    """The one redirect URI the provider must accept: always the default language's."""
    return f"/{settings.LANGUAGE_CODE}/accounts/oidc/{PROVIDER_ID}/login/callback/"


@pytest.fixture
def op():
    provider = LocalOIDCProvider().start()
    yield provider
    provider.stop()


def app_config(op, **settings_overrides) -> dict:
    return {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": PROVIDER_ID,
                    "name": "eGov",
                    "client_id": op.client_id,
                    "secret": op.client_secret,
                    "settings": {
                        "server_url": op.url,
                        "scope": ["openid"],
                        "oauth_pkce_enabled": True,
                        **settings_overrides,
                    },
                }
            ]
        }
    }


@pytest.fixture
def configured(settings, op):
    settings.SOCIALACCOUNT_PROVIDERS = app_config(op)
    settings.OIDC_IIN_CLAIM = "iin"
    return op


@pytest.fixture
def register(load):
    people = [person(n, slug) for n, slug in enumerate(["medeu", "almaly"] * 3, start=1)]
    census = load(register_csv(people))
    assert census.status == "done", census.message
    return people


def _messages(client, response) -> list[str]:
    """The messages the response left for the next page; taken, as a page would take them."""
    found = [str(m) for m in get_messages(response.wsgi_request)]
    client.cookies.pop("messages", None)
    session = client.session
    if session.pop("_messages", None) is not None:
        session.save()
    return found


def run_flow(client, op, user_key, *, cancel=False, next_url=None):
    """The citizen presses "Verify with eGov", approves at the provider (or cancels) and
    comes back: the final response of Birge's callback, and the authorization URL used."""
    next_url = next_url or verify_page_url()
    started = client.post(START, {"next": next_url})
    assert started.status_code == 302, started.content
    authorize_url = started["Location"]
    back = op.approve(authorize_url, user_key, cancel=cancel)
    parts = urlsplit(back)
    assert parts.netloc == "testserver" and parts.path == callback_path(), back
    response = client.get(f"{parts.path}?{parts.query}")
    return response, authorize_url


def table_rows_holding(value: str) -> list[str]:
    """Every table whose rows hold `value` (as text, or as the hex of its bytes)."""
    needles = (value, value.encode().hex())
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT row_to_json(t)::text FROM {quoted} t")  # noqa: S608
            if any(any(n in row[0] for n in needles) for row in cursor.fetchall()):
                found.append(table)
    # Sessions are stored signed and compressed: read them decoded (allauth keeps its state
    # for the provider there).
    for session in Session.objects.all():
        if value in json.dumps(session.get_decoded(), default=str):
            found.append(f"django_session {session.pk}")
    return found


# --- configuration ---------------------------------------------------------------------------


def test_not_offered_without_configuration(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}
    assert "oidc" not in [m.key for m in enabled_methods()]
    client.force_login(UserFactory())
    assert client.post(START, {"next": "/en/"}).status_code == 404
    assert client.post(f"/en/accounts/oidc/{PROVIDER_ID}/login/").status_code == 404


def test_offered_when_configured_but_never_on_the_sign_in_pages(client, configured):
    method = method_by_key("oidc")
    assert method in enabled_methods()
    assert method_label("oidc") == "eGov sign-in"
    page = client.get("/en/accounts/login/")
    assert page.status_code == 200
    assert b"eGov" not in page.content and b"/accounts/oidc/" not in page.content

    # The method's snippet: a POST form to the start view, with the button naming the provider.
    request = RequestFactory().get("/en/residents/")
    request.user = UserFactory()
    html = render_to_string(method.page_template, method.page_context(request), request=request)
    assert 'action="/en/residents/oidc/start/"' in html
    assert "Verify with eGov" in html
    assert 'name="next" value="/en/residents/"' in html


# --- the flow --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims_in", "claim"),
    [("both", "iin"), ("id_token", "iin"), ("userinfo", "urn:egov:iin")],
)
def test_verifies_the_signed_in_citizen(client, settings, configured, register, claims_in, claim):
    op = configured
    settings.OIDC_IIN_CLAIM = claim
    op.claims_in = claims_in
    iin, _born, _slug = register[0]  # medeu
    op.users = {"aigerim": {"sub": "egov-1", "name": "Aigerim", claim: iin}}
    citizen = UserFactory()
    client.force_login(citizen)

    response, authorize_url = run_flow(client, op, "aigerim", next_url="/en/profile/")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["openid"]
    assert query["redirect_uri"] == [f"http://testserver{callback_path()}"]
    assert ("POST", "/token") in op.requests

    assert response.status_code == 302 and response["Location"] == "/en/profile/"
    assert _messages(client, response) == ["You are now a verified resident of Medeu District."]
    verification = ResidentVerification.objects.get(user=citizen)
    assert verification.method == "oidc"
    assert verification.district.slug == "medeu"
    assert verification.iin_last4 == iin[-4:]
    assert verification_of(citizen)["level"] == "resident"
    audit = AuditEntry.objects.get(action="resident.verified", target_id=str(citizen.pk))
    assert audit.data["method"] == "oidc"
    # Still the same session, signed in as the same citizen; nobody else was created.
    assert int(client.session["_auth_user_id"]) == citizen.pk
    assert User.objects.count() == 2  # the census official and the citizen

    # allauth connected nothing: no social account, no token, and the raw IIN is nowhere.
    assert not SocialAccount.objects.exists() and not SocialToken.objects.exists()
    assert table_rows_holding(iin) == []
    assert table_rows_holding(iin[-4:])  # the search does find what is there


def test_the_message_is_in_the_language_of_the_page_started_from(
    client, settings, configured, register
):
    op = configured
    op.users = {"a": {"sub": "egov-2", "iin": register[1][0]}}  # almaly
    citizen = UserFactory()
    client.force_login(citizen)
    response, _ = run_flow(client, op, "a", next_url="/kk/profile/")
    assert response["Location"] == "/kk/profile/"
    district = ResidentVerification.objects.get(user=citizen).district
    with translation.override("kk"):
        expected = gettext("You are now a verified resident of %(district)s.") % {
            "district": district.name
        }
    with translation.override(settings.LANGUAGE_CODE):  # the callback's own language
        assert district.name not in expected
    assert _messages(client, response) == [expected]


def _bad_check_digit(iin: str) -> str:
    return iin[:11] + str((int(iin[11]) + 1) % 10)


OUTSIDER = iin_make(dt.date(1988, 8, 8), 777)  # valid, not in the register


@pytest.mark.parametrize(
    ("claims", "code", "message"),
    [
        ({}, "no_iin", "The identity provider did not send your IIN"),
        ({"iin": "12345"}, "bad_iin", "An IIN is exactly 12 digits."),
        ({"iin": "BAD_CHECK"}, "bad_iin", "This IIN's check digit is wrong"),
        ({"iin": OUTSIDER}, "not_in_register", "not in the city's resident register"),
        ({"iin": "TAKEN"}, "iin_taken", "already bound to another account"),
    ],
)
def test_refusals_bind_nothing_and_store_no_iin(
    client, configured, register, claims, code, message
):
    op = configured
    iin = register[2][0]
    if claims.get("iin") == "BAD_CHECK":
        claims = {"iin": _bad_check_digit(iin)}
    elif claims.get("iin") == "TAKEN":
        other = UserFactory()
        resident_bind(actor=other, iin=iin, birth_date=register[2][1], method="census")
        claims = {"iin": iin}
    op.users = {"u": {"sub": "egov-3", "name": "U", **claims}}
    citizen = UserFactory()
    client.force_login(citizen)

    response, _ = run_flow(client, op, "u", next_url="/en/profile/")
    assert response.status_code == 302 and response["Location"] == "/en/profile/"
    [text] = _messages(client, response)
    assert message in text
    assert not ResidentVerification.objects.filter(user=citizen).exists()
    failed = AuditEntry.objects.get(action="resident.verify_failed", target_id=str(citizen.pk))
    assert failed.data == {"method": "oidc", "code": code}
    assert not SocialAccount.objects.exists() and not SocialToken.objects.exists()
    for value in {claims.get("iin"), iin} - {None}:
        assert table_rows_holding(value) == [], value


def test_a_taken_iin_offers_the_report_form_on_the_verify_page_once(client, configured, register):
    op = configured
    iin, born = register[2][0], register[2][1]
    resident_bind(actor=UserFactory(), iin=iin, birth_date=born, method="census")
    op.users = {"u": {"sub": "egov-4", "name": "U", "iin": iin}}
    client.force_login(UserFactory())

    response, _ = run_flow(client, op, "u")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Report this to the moderators" in page
    assert iin not in page  # the form asks for the IIN again, never shows it
    again = client.get(response["Location"]).content.decode()
    assert "Report this to the moderators" not in again


def test_cancel_at_the_provider(client, configured, register):
    op = configured
    op.users = {"u": {"sub": "egov-4", "iin": register[0][0]}}
    citizen = UserFactory()
    client.force_login(citizen)
    response, _ = run_flow(client, op, "u", cancel=True, next_url="/en/profile/")
    assert response["Location"] == "/en/profile/"
    assert _messages(client, response) == [
        "You cancelled at eGov. Your account was not verified; nothing was changed."
    ]
    assert not ResidentVerification.objects.exists()
    assert ("POST", "/token") not in op.requests


def test_provider_error_at_the_token_endpoint(client, configured, register):
    op = configured
    op.users = {"u": {"sub": "egov-5", "iin": register[0][0]}}
    op.fail_token = True
    citizen = UserFactory()
    client.force_login(citizen)
    response, _ = run_flow(client, op, "u", next_url="/en/profile/")
    assert response["Location"] == "/en/profile/"
    [text] = _messages(client, response)
    assert text.startswith("eGov could not confirm your identity just now.")
    assert not ResidentVerification.objects.exists()
    failed = AuditEntry.objects.get(action="resident.verify_failed")
    assert failed.data["method"] == "oidc" and failed.data["code"].startswith("provider_")


def test_a_forged_or_replayed_callback_binds_nothing(client, configured, register):
    op = configured
    op.users = {"u": {"sub": "egov-6", "iin": register[0][0]}}
    citizen = UserFactory()
    client.force_login(citizen)
    started = client.post(START, {"next": "/en/profile/"})
    back = urlsplit(op.approve(started["Location"], "u"))
    code = parse_qs(back.query)["code"][0]
    # A state this session never issued.
    forged = client.get(f"{callback_path()}?code={code}&state=not-ours")
    assert forged.status_code == 302
    assert _messages(client, forged)[0].startswith("eGov could not confirm your identity just now.")
    assert not ResidentVerification.objects.exists()
    # The real callback still works once; its replay does not bind again.
    first = client.get(f"{back.path}?{back.query}")
    assert _messages(client, first) == ["You are now a verified resident of Medeu District."]
    ResidentVerification.objects.all().delete()
    replay = client.get(f"{back.path}?{back.query}")
    assert replay.status_code == 302
    assert not ResidentVerification.objects.exists()


def test_provider_unreachable(client, settings, op):
    op.stop()
    settings.SOCIALACCOUNT_PROVIDERS = app_config(op)
    client.force_login(UserFactory())
    response = client.post(START, {"next": "/en/profile/"})
    assert response.status_code == 302 and response["Location"] == "/en/profile/"
    assert _messages(client, response)[0].startswith(
        "eGov could not confirm your identity just now."
    )


def test_anonymous_visitor_signs_in_first(client, configured):
    response = client.post(START, {"next": "/en/profile/"})
    assert response.status_code == 302
    assert response["Location"] == "/en/accounts/login/?next=%2Fen%2Fprofile%2F"
    assert configured.requests == []  # never sent to the provider


def test_an_unconfirmed_email_cannot_start(client, configured):
    client.force_login(UserFactory(verified=False))
    response = client.post(START, {"next": "/en/profile/"})
    assert response.status_code == 403
    assert configured.requests == []


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "abc"])
def test_a_next_off_this_site_is_ignored(client, configured, register, next_url):
    op = configured
    op.users = {"u": {"sub": "egov-7", "iin": register[0][0]}}
    client.force_login(UserFactory())
    response, _ = run_flow(client, op, "u", next_url=next_url)
    assert response["Location"] == verify_page_url() == "/en/residents/"


def test_nobody_signs_up_or_in_with_the_provider(client, configured, register):
    """allauth's own login URL (process=login), by a visitor who is not signed in: the
    provider confirms them, and still no account is made, nobody is signed in, nothing bound."""
    op = configured
    op.users = {"u": {"sub": "egov-8", "iin": register[0][0], "email": "new@example.kz"}}
    users_before = User.objects.count()
    started = client.post(f"/en/accounts/oidc/{PROVIDER_ID}/login/", {"next": "/en/"})
    assert started.status_code == 302
    back = urlsplit(op.approve(started["Location"], "u"))
    response = client.get(f"{back.path}?{back.query}")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists() and not ResidentVerification.objects.exists()
    assert table_rows_holding(register[0][0]) == []
    assert _messages(client, response) == [
        "Sign in to Birge first, then verify your residence with eGov."
    ]

    # A signed-in citizen using process=login (not connect) is refused as well.
    citizen = UserFactory()
    client.force_login(citizen)
    started = client.post(f"/en/accounts/oidc/{PROVIDER_ID}/login/", {"next": "/en/profile/"})
    back = urlsplit(op.approve(started["Location"], "u"))
    response = client.get(f"{back.path}?{back.query}")
    assert response["Location"] == "/en/profile/"
    assert "only verifies the residence of a signed-in account" in _messages(client, response)[0]
    assert int(client.session["_auth_user_id"]) == citizen.pk
    assert not ResidentVerification.objects.exists()


# --- in a browser ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.postgres
@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_browser_verifies_through_the_local_provider(
    settings, op, register, monkeypatch, browser, artifacts_dir
):
    """A signed-in citizen opens the verification page, presses "Verify with eGov", approves
    at the provider's own page and is back on Birge as a verified resident of the district
    the register lists for them. The Birge server is a real process configured from the
    environment, as an operator would (OIDC_*), so its CSP must let the form go to eGov."""
    # Playwright's sync API keeps an event loop on this thread; the ORM calls in between are
    # plain blocking calls, which is what Django's guard is there to flag.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect

    iin = register[0][0]  # medeu
    op.users = {
        "other": {"sub": "egov-9", "name": "Someone Else", "iin": register[1][0]},
        "aigerim": {"sub": "egov-10", "name": "Aigerim", "iin": iin},
    }
    citizen = UserFactory(display_name="Aigerim")
    env = server_env_sharing(settings)
    env.update(
        OIDC_PROVIDER_URL=op.url,
        OIDC_CLIENT_ID=op.client_id,
        OIDC_CLIENT_SECRET=op.client_secret,
        OIDC_PROVIDER_NAME="eGov",
        OIDC_IIN_CLAIM="iin",
    )
    server = AsgiServer(env).start()
    try:
        context = browser.new_context(locale="en-US")
        context.add_cookies([session_cookie(citizen, server.url)])
        page = context.new_page()
        blocked = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else 0)
        page.goto(f"{server.url}/en/residents/")
        expect(page.locator("h1")).to_have_text("Verify your residence")
        expect(page.get_by_text("You are not verified as a resident yet.")).to_be_visible()
        expect(page.locator("#method-oidc")).to_have_text("eGov sign-in")

        page.get_by_role("button", name="Verify with eGov").click()
        page.wait_for_url(f"{op.url}/authorize?**")
        expect(page.locator("h1")).to_have_text("Local identity provider")
        page.get_by_role("button", name="Approve as Aigerim").click()

        page.wait_for_url(f"{server.url}/en/residents/")
        expect(page.locator(".messages")).to_contain_text(
            "You are now a verified resident of Medeu District."
        )
        expect(page.get_by_text("You are a verified resident of Medeu District.")).to_be_visible()
        facts = page.locator("dl.facts")
        expect(facts).to_contain_text("eGov sign-in")
        expect(facts).to_contain_text("···" + iin[-4:])
        page.screenshot(path=str(artifacts_dir / "residents-oidc-verified.png"), full_page=True)
        context.close()
    finally:
        server.stop()
    assert blocked == []

    verification = ResidentVerification.objects.get(user=citizen)
    assert (verification.method, verification.district.slug) == ("oidc", "medeu")
    assert not SocialAccount.objects.exists() and not SocialToken.objects.exists()
    assert table_rows_holding(iin) == []
    # ORM calls made beside Playwright's event loop hold a connection of their own.
    connections.close_all()
