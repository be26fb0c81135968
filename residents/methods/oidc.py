"""Identity provider: a citizen verifies by signing in at the city's OpenID Connect provider.

eGov's provider (or any that speaks OpenID Connect) asserts who the person is; a claim carries
their IIN (settings.OIDC_IIN_CLAIM). allauth's openid_connect provider runs the protocol
(discovery, state, PKCE, the token exchange and the ID token's issuer, audience and expiry);
Birge uses it only to verify an account that is already signed in, never to sign anyone up or
in: the flow is allauth's `process=connect`, and SocialAccountAdapter.pre_social_login takes
over before allauth would connect anything. It reads the IIN, binds it through the shared step
(residents.services.resident_bind: the register's district, one IIN one account) and answers
with a redirect, so allauth never saves a SocialAccount or a token: the claims (raw IIN
included) live only in this request's memory.

Configured from the environment (civic/settings/base.py: OIDC_*); without OIDC_PROVIDER_URL
and OIDC_CLIENT_ID the method is not offered and its pages answer 404.
"""

from __future__ import annotations

import logging

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter, get_adapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthError, AuthProcess
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.urls import NoReverseMatch, path, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language_from_path
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from requests import RequestException

from audit.services import audit_record
from civic.errors import Conflict, DomainError, InvalidInput, NotFound
from civic.views import domain_error_response

from ..iin import iin_birth_date, iin_validate
from ..models import ResidentVerification
from ..permissions import require_can_verify
from ..services import resident_bind
from . import VerificationMethod, offer_identity_report

logger = logging.getLogger(__name__)

METHOD_OIDC = "oidc"
# The allauth app's provider_id (settings.SOCIALACCOUNT_PROVIDERS): it names the callback URL
# the identity provider must accept, /<LANGUAGE_CODE>/accounts/oidc/residents/login/callback/.
PROVIDER_ID = "residents"


def provider_app(request=None) -> SocialApp | None:
    """The configured identity provider (settings or a SocialApp row), or None."""
    apps = get_adapter().list_apps(request, provider=PROVIDER_ID)
    return apps[0] if apps else None


def provider_name(request=None) -> str:
    app = provider_app(request)
    return app.name if app and app.name else settings.OIDC_PROVIDER_NAME


class OIDCMethod(VerificationMethod):
    key = METHOD_OIDC
    page_template = "residents/methods/oidc.html"

    @property
    def label(self) -> str:
        return _g("%(provider)s sign-in") % {"provider": provider_name()}

    def is_enabled(self) -> bool:
        return provider_app() is not None

    def page_context(self, request) -> dict:
        return {
            "oidc_provider_name": provider_name(request),
            "oidc_next": request.get_full_path(),
        }

    def urlpatterns(self) -> list:
        return [path("start/", start, name="start")]


# --- where the citizen lands ------------------------------------------------------------------


def verify_page_url() -> str:
    """The "Verify your residence" page (the profile while that page has no URL)."""
    for name in ("residents:verify", "accounts:profile"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/"


def _safe_next(request, url: str | None) -> str:
    """`url` if it is a page of this site (a path), else the verification page."""
    if (
        url
        and url.startswith("/")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return verify_page_url()


def _login_url(next_url: str) -> str:
    return f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}"


@require_POST
def start(request):
    """The "Verify with <provider>" button: off to the identity provider, as a connect.

    Only a signed-in citizen starts it (an anonymous visitor signs in first and comes back to
    the verification page). The callback URL is always the default language's, so the
    provider needs exactly one redirect URI registered; the citizen lands back on the page
    (and in the language) they started from.
    """
    app = provider_app(request)
    if app is None:
        raise Http404
    next_url = _safe_next(request, request.POST.get("next"))
    if not request.user.is_authenticated:
        return HttpResponseRedirect(_login_url(next_url))
    try:
        require_can_verify(request.user)
    except DomainError as exc:
        return domain_error_response(request, exc)
    provider = get_adapter(request).get_provider(request, PROVIDER_ID)
    try:
        with translation.override(settings.LANGUAGE_CODE):
            return provider.redirect(request, process=AuthProcess.CONNECT, next_url=next_url)
    except RequestException:
        # Discovery failed: the provider is down or OIDC_PROVIDER_URL is wrong.
        logger.warning("identity provider: discovery failed", exc_info=True)
        messages.error(request, _provider_error_message(app.name))
        return HttpResponseRedirect(next_url)


def _provider_error_message(name: str) -> str:
    return _g(
        "%(provider)s could not confirm your identity just now. Nothing was changed; please "
        "try again later or choose another way to verify."
    ) % {"provider": name}


# --- the callback: bind, then leave nothing behind --------------------------------------------


def iin_from_claims(extra_data: dict, claim: str) -> str:
    """The IIN claim, from the userinfo response or else the ID token, as text ("" if none).

    A provider that sends it as a JSON number loses leading zeros (people born 2000-2009):
    twelve digits are restored."""
    for source in ("userinfo", "id_token"):
        value = (extra_data.get(source) or {}).get(claim)
        if value is None or value == "":
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value).zfill(12)
        return str(value).strip()
    return ""


def resident_verify_oidc(*, actor, iin: str) -> ResidentVerification:
    """Verify `actor` with the IIN their identity provider asserted.

    The provider vouches for the person, so the date of birth is the one the IIN carries.
    422 no_iin (the provider sent none) or bad_iin, 404 not_in_register, 409 iin_taken;
    failures are audit-logged with their code, never the IIN.
    """
    require_can_verify(actor)
    try:
        if not iin:
            raise InvalidInput(
                _(
                    "The identity provider did not send your IIN, so your account was not "
                    "verified. Please choose another way to verify."
                ),
                code="no_iin",
            )
        iin = iin_validate(iin)
        return resident_bind(
            actor=actor, iin=iin, birth_date=iin_birth_date(iin), method=METHOD_OIDC
        )
    except (InvalidInput, NotFound, Conflict) as exc:
        audit_record(
            actor=actor,
            action="resident.verify_failed",
            target=actor,
            data={"method": METHOD_OIDC, "code": exc.code},
        )
        raise


def _is_ours(provider) -> bool:
    app = getattr(provider, "app", None)
    return app is not None and (app.provider_id or app.provider) == PROVIDER_ID


def _finish(request, next_url: str | None, level: int, message) -> HttpResponseRedirect:
    """Back to the page the citizen started from, with a message in that page's language."""
    target = _safe_next(request, next_url)
    with translation.override(get_language_from_path(target) or translation.get_language()):
        text = message() if callable(message) else str(message)
    messages.add_message(request, level, text)
    return HttpResponseRedirect(target)


def complete_verification(request, sociallogin) -> HttpResponseRedirect:
    """The identity provider confirmed someone: bind their IIN to the signed-in account."""
    state = sociallogin.state or {}
    next_url = state.get("next")
    claims = sociallogin.account.extra_data or {}
    iin = iin_from_claims(claims, settings.OIDC_IIN_CLAIM)
    # Nothing of the claims outlives this request (allauth never sees them again either).
    sociallogin.account.extra_data = {}
    sociallogin.token = None
    name = provider_name(request)
    user = request.user
    if not user.is_authenticated:
        # A sign-in started from allauth's own URL, or a session that ended meanwhile.
        target = _safe_next(request, next_url)
        messages.info(
            request,
            _g("Sign in to Birge first, then verify your residence with %(provider)s.")
            % {"provider": name},
        )
        return HttpResponseRedirect(_login_url(target))
    if state.get("process") != AuthProcess.CONNECT:
        return _finish(
            request,
            next_url,
            messages.ERROR,
            lambda: (
                _g("%(provider)s only verifies the residence of a signed-in account.")
                % {"provider": name}
            ),
        )
    try:
        verification = resident_verify_oidc(actor=user, iin=iin)
    except DomainError as exc:
        refusal = exc.message  # lazy: translated in the language of the page returned to
        if exc.code == "iin_taken":
            offer_identity_report(request)
        return _finish(request, next_url, messages.ERROR, lambda: str(refusal))
    return _finish(
        request,
        next_url,
        messages.SUCCESS,
        lambda: (
            _g("You are now a verified resident of %(district)s.")
            % {"district": verification.district.name if verification.district else "—"}
        ),
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """allauth's social accounts exist in Birge only for resident verification: nobody signs
    up or in with a provider, and no provider is offered on the sign-in pages."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def list_providers(self, request):
        return [p for p in super().list_providers(request) if not _is_ours(p)]

    def pre_social_login(self, request, sociallogin) -> None:
        # Raised before allauth connects (or logs in, or signs up): nothing is saved.
        if sociallogin.account.provider == PROVIDER_ID:
            raise ImmediateHttpResponse(complete_verification(request, sociallogin))
        raise ImmediateHttpResponse(HttpResponseRedirect(verify_page_url()))

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        if not _is_ours(provider):
            return
        state = (extra_context or {}).get("state") or {}
        name = provider.app.name or settings.OIDC_PROVIDER_NAME
        if exception is not None:
            logger.warning("identity provider: %s", type(exception).__name__)
        if error == AuthError.CANCELLED:

            def message():
                return _g(
                    "You cancelled at %(provider)s. Your account was not verified; nothing "
                    "was changed."
                ) % {"provider": name}

        else:

            def message():
                return _provider_error_message(name)

        if request.user.is_authenticated:
            audit_record(
                actor=request.user,
                action="resident.verify_failed",
                target=request.user,
                data={"method": METHOD_OIDC, "code": f"provider_{error or 'unknown'}"},
            )
        raise ImmediateHttpResponse(_finish(request, state.get("next"), messages.ERROR, message))
