"""Domain errors raised by services and permission checks.

Entry points map them in one place each: the API (civic.api) to JSON with an HTTP status,
pages (civic.views.domain_error_response) to a translated message, websocket consumers to a
close code. Messages are lazy translations, so they come out in the user's language.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    close_code = 4400
    default_message = _("The request could not be carried out.")

    def __init__(
        self,
        message=None,
        *,
        code: str | None = None,
        extra: dict | None = None,
        link: tuple | None = None,
    ):
        self.message = message if message is not None else self.default_message
        self.code = code or self.__class__.__name__
        # `extra`: more fields of the API's JSON answer (e.g. {"verify_url": ...}).
        # `link`: (url, label) a page shows under the message: the way out of the refusal.
        self.extra = dict(extra or {})
        self.link = link
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

    def __init__(self, message=None, *, code: str | None = None, retry_after: int | None = None):
        # Seconds until a new attempt may succeed: the Retry-After header of the answer.
        self.retry_after = retry_after
        super().__init__(message, code=code)


class PayloadTooLarge(DomainError):
    status = 413
    close_code = 4413
    default_message = _("Too much data was sent at once. Send less and try again.")


class UnsupportedMediaType(DomainError):
    status = 415
    close_code = 4415
    default_message = _(
        "This address takes JSON: send the data with Content-Type: application/json."
    )


UNREADABLE_BODY_ERRORS = (
    RequestDataTooBig,
    RawPostDataException,
    MultiPartParserError,
    TooManyFilesSent,
    TooManyFieldsSent,
)


def unreadable_body_error(exc: Exception) -> DomainError | None:
    """The domain error for a request body Django could not read, or None for other errors.

    Django raises these while a view, a middleware or django-ninja first touches request.body
    or request.POST: a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a multipart body that is not
    one, or a JSON endpoint's body already consumed by the multipart parser. They are the
    sender's mistake, so they answer 4xx (never 500), API and pages alike.
    """
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(code="too_large")
    if isinstance(exc, RawPostDataException):
        return UnsupportedMediaType(code="unsupported_media_type")
    if isinstance(exc, UNREADABLE_BODY_ERRORS):
        return InvalidInput(_("The form data sent could not be read."), code="malformed_body")
    return None
