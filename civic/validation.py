"""Input cleaning shared by every app's services: text, numbers, Markdown."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

import markdown as md
import nh3
from django.utils.translation import gettext_lazy as _

from .errors import InvalidInput

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
