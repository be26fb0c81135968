"""Verification methods: how an account becomes a verified resident. Pluggable.

A method is a small class (a subclass of VerificationMethod) in a module of its own, listed by
dotted path in settings.RESIDENT_VERIFICATION_METHODS. The registry below gives the rest of
Birge everything it needs from a method: its key (stored on the verification), its label, the
snippet the "Verify your residence" page shows for it, and its own URLs. Adding a method is one
module and one settings line; nothing else changes. Every method ends in the same binding step,
residents.services.resident_bind (one IIN, one account; the register's district).
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string


class VerificationMethod:
    """One way of verifying. Subclasses set `key` and `label` and may override the rest."""

    key: str = ""
    label = ""
    # Rendered on the verification page for a signed-in citizen, with verification_context().
    page_template: str | None = None

    def is_enabled(self) -> bool:
        """Whether the method is offered (an identity provider needs its settings)."""
        return True

    def page_context(self, request) -> dict:
        """Extra template context for page_template."""
        return {}

    def urlpatterns(self) -> list:
        """The method's own pages, mounted under /<lang>/residents/<key>/."""
        return []


@cache
def _all_methods() -> tuple[VerificationMethod, ...]:
    methods = tuple(import_string(path)() for path in settings.RESIDENT_VERIFICATION_METHODS)
    keys = [m.key for m in methods]
    if len(set(keys)) != len(keys) or not all(keys):
        raise ValueError(f"RESIDENT_VERIFICATION_METHODS: keys must be unique and set: {keys}")
    return methods


def all_methods() -> tuple[VerificationMethod, ...]:
    """Every configured method, enabled or not (a verification keeps its method's label)."""
    return _all_methods()


def enabled_methods() -> list[VerificationMethod]:
    return [m for m in _all_methods() if m.is_enabled()]


def method_by_key(key: str) -> VerificationMethod | None:
    return next((m for m in _all_methods() if m.key == key), None)


def method_label(key: str | None) -> str:
    method = method_by_key(key) if key else None
    return str(method.label) if method else (key or "")


# A method that meets 409 iin_taken away from the verify page (an identity provider's callback)
# asks the page to offer the report form on the citizen's next visit.
REPORT_OFFER_SESSION_KEY = "residents_offer_report"


def offer_identity_report(request) -> None:
    request.session[REPORT_OFFER_SESSION_KEY] = True


def take_identity_report_offer(request) -> bool:
    return bool(request.session.pop(REPORT_OFFER_SESSION_KEY, False))
