"""Input cleaning shared by every app's services: text, numbers, dates, ids, Markdown."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import markdown as md
import nh3
from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput, NotFound

MARKDOWN_TAGS = {
    "p", "br", "strong", "em", "ul", "ol", "li", "blockquote", "code", "pre", "h3", "h4",
    "a", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


# Control characters (C0, DEL, C1). A single line also refuses the Unicode line and paragraph
# separators: a title or name ends up in e-mail subjects, headers and one-line layouts.
SINGLE_LINE_REFUSED = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A multi-line body keeps line feeds and tabs (carriage returns become line feeds first).
MULTI_LINE_REFUSED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value, *, name, max_length: int, required: bool, multiline: bool = True) -> str:
    """Stripped text, or a clear InvalidInput: not text, control characters, empty, too long.

    `multiline=False` is for short fields (titles, names, summaries): no line breaks, tabs
    or other control characters at all. Multi-line text keeps line feeds and tabs, with
    CR LF and lone CR turned into LF; every other control character is refused.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("%(field)s must be text.") % {"field": name})
    # U+FFFD is what undecodable bytes (invalid UTF-8 in a form) turn into: refused too.
    if "\x00" in value or "\ufffd" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidInput(_("%(field)s contains invalid characters.") % {"field": name})
    value = value.strip()
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if MULTI_LINE_REFUSED.search(value):
            raise InvalidInput(_("%(field)s contains invalid characters.") % {"field": name})
    elif SINGLE_LINE_REFUSED.search(value):
        raise InvalidInput(
            _("%(field)s must be a single line without control characters.") % {"field": name}
        )
    if required and not value:
        raise InvalidInput(_("%(field)s is required.") % {"field": name})
    if len(value) > max_length:
        raise InvalidInput(
            _("%(field)s is too long (at most %(max)d characters).")
            % {"field": name, "max": max_length}
        )
    return value


def clean_decimal(value, *, name, minimum: Decimal, maximum: Decimal, places: int = 2):
    """A finite Decimal within bounds, or None for empty; never float rounding."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be a number.") % {"field": name})
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(_("%(field)s must be a number.") % {"field": name})
    try:
        number = Decimal(str(value).strip().replace(" ", "").replace("\u00a0", ""))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("%(field)s must be a number.") % {"field": name}) from None
    if not number.is_finite():
        raise InvalidInput(_("%(field)s must be a number.") % {"field": name})
    if number < minimum or number > maximum:
        raise InvalidInput(
            _("%(field)s must be between %(min)s and %(max)s.")
            % {"field": name, "min": minimum, "max": maximum}
        )
    return number.quantize(Decimal(1).scaleb(-places))


# What a civic event's time can be. Year 1 or 9999 is a typo, and shown in Almaty time it
# would not even fit in a datetime.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def clean_datetime(value, *, name, required: bool = True) -> datetime | None:
    """A timezone-aware datetime within 2000-2100, or a clear InvalidInput."""
    if value is None or value == "":
        if required:
            raise InvalidInput(_("%(field)s is required.") % {"field": name})
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(_("%(field)s must be a date and time.") % {"field": name})
    try:
        in_range = EARLIEST <= value <= LATEST
    except OverflowError:  # an offset that pushes it past year 1 or 9999
        in_range = False
    if not in_range:
        raise InvalidInput(
            _("%(field)s must be between the years 2000 and 2100.") % {"field": name}
        )
    return value


ID_MAX = 2**63 - 1  # a database id is a positive 64-bit integer


def parse_id(value, *, message=None) -> int:
    """A database id from user input; anything else (text, 0, -1, 2**64) is not found."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        number = 0
    if isinstance(value, bool) or not 1 <= number <= ID_MAX:
        raise NotFound(message)
    return number


def render_markdown(text: str) -> str:
    """Markdown to HTML that is safe to show: only formatting tags, links made harmless."""
    html = md.markdown(text or "", extensions=["sane_lists", "tables"], output_format="html")
    return nh3.clean(
        html,
        tags=MARKDOWN_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
    )
