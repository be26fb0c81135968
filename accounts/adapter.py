"""allauth adapter: after login, land on the home page in the user's own language."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse
from django.utils import translation


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        language = getattr(request.user, "preferred_language", "")
        if language:
            with translation.override(language):
                return reverse("home")
        return super().get_login_redirect_url(request)
