"""Domain errors raised by services and permission checks.

Entry points map them in one place each: the API (civic.api) to JSON with an HTTP status,
pages (civic.views.domain_error_response) to a translated message, websocket consumers to a
close code. Messages are lazy translations, so they come out in the user's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    close_code = 4400
    default_message = _("The request could not be carried out.")

    def __init__(self, message=None, *, code: str | None = None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.__class__.__name__
        super().__init__(str(self.message))


class InvalidInput(DomainError):
    status = 400
    close_code = 4400
    default_message = _("The data sent is not valid.")


class NotAuthenticated(DomainError):
    status = 401
    close_code = 4401
    default_message = _("Please sign in first.")


class Forbidden(DomainError):
    status = 403
    close_code = 4403
    default_message = _("You do not have permission to do this.")


class NotFound(DomainError):
    status = 404
    close_code = 4404
    default_message = _("Not found.")


class MethodNotAllowed(DomainError):
    status = 405
    close_code = 4405
    default_message = _(
        "This address only takes what a page's button sends. Go back and use the button."
    )


class Conflict(DomainError):
    status = 409
    close_code = 4409
    default_message = _("This conflicts with the current state.")


class RateLimited(DomainError):
    status = 429
    close_code = 4429
    default_message = _("Too many requests. Please wait a moment and try again.")
