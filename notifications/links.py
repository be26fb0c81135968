"""A notification's link in the reader's language.

Links are stored without a language (`/initiatives/7/`): the task that makes a notification
runs in whatever language is active there (the default, Russian), and the same row is read
by people who read in kk, ru or en. The language prefix is put on when the link is shown or
e-mailed. Rows stored with a prefix (before this) are read the same way: the prefix is dropped.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import Resolver404, resolve
from django.utils import translation

_CODES = {code for code, _name in settings.LANGUAGES}


def _split(url: str) -> tuple[str, str]:
    """(path, the rest: ?query#fragment)."""
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    return url[:cut], url[cut:]


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def url_neutral(url: str) -> str:
    """`url` without its language prefix (`/ru/initiatives/7/` → `/initiatives/7/`); a link
    that is not a path on this site is dropped (never another host, never a scheme)."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return ""
    path, rest = _split(url)
    parts = path.split("/", 2)  # "", "ru", "initiatives/7/"
    if len(parts) == 3 and parts[1] in _CODES:
        return "/" + parts[2] + rest
    return url


def url_in_language(url: str, language: str) -> str:
    """The stored link as a path in `language` (`/en/initiatives/7/`), or "" if it is not a
    path on this site. A path outside the language-prefixed pages is kept as it is."""
    neutral = url_neutral(url)
    if not neutral:
        return ""
    language = language if language in _CODES else settings.LANGUAGE_CODE
    path, rest = _split(neutral)
    prefixed = f"/{language}{path}"
    # i18n_patterns match the prefix of the active language only: ask in that language.
    with translation.override(language):
        found = _resolves(prefixed)
    if found:
        return prefixed + rest
    return neutral
