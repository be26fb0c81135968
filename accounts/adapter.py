"""allauth adapter: after login, land on the home page in the user's own language; sign-up
takes as long for a registered e-mail as for a new one."""

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import get_random_string


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        language = getattr(request.user, "preferred_language", "")
        if language:
            with translation.override(language):
                return reverse("home")
        return super().get_login_redirect_url(request)

    def send_account_already_exists_mail(self, email: str) -> None:
        # With ACCOUNT_PREVENT_ENUMERATION a taken address gets this mail instead of an
        # account. A new address costs one password hash (hundreds of milliseconds with the
        # production hasher) before its confirmation mail; without the same hash here the
        # reply time told registered addresses apart. The hash is thrown away.
        make_password(get_random_string(32))
        super().send_account_already_exists_mail(email)
