"""Template tags of the account pages (allauth's, in Birge's design)."""

from django import template
from django.conf import settings

register = template.Library()

CONSOLE_BACKENDS = ("django.core.mail.backends.console.EmailBackend",)


@register.simple_tag
def mail_goes_to_console() -> bool:
    """True when e-mail is printed to the server's console (the embedded mode's default), so a
    page that says "we sent you an e-mail" can say where to look for it."""
    return settings.EMAIL_BACKEND in CONSOLE_BACKENDS
