"""Template context every page needs: languages for the switcher, the user's roles."""

from django.conf import settings

from accounts.permissions import can_read_api_docs, is_citizen, is_moderator, is_official


def birge(request):
    user = getattr(request, "user", None)
    return {
        "site_name": settings.SITE_NAME,
        "language_choices": [
            (code, settings.LANGUAGE_NATIVE_NAMES[code]) for code, _name in settings.LANGUAGES
        ],
        "is_official": is_official(user) if user else False,
        "is_moderator": is_moderator(user) if user else False,
        "is_citizen": is_citizen(user) if user else False,
        "demo_mode": settings.DEMO_MODE,
        "api_docs_visible": can_read_api_docs(user),
    }
