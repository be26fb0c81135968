"""How Birge writes numbers for people: digit-grouped totals and percentages in the reader's
language (kk/ru 12 345 and 31,1 %, en 12,345 and 31.1 %). Templates use the `number` and
`percent` filters ({% load numbers %}); Python code calls format_number / format_percent, so a
number reads the same on a page, in a live fragment and in a notification."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats, translation

register = template.Library()

NNBSP = "\u202f"  # narrow no-break space: "31,1 %" stays on one line
MISSING = "—"


def _decimal(value) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def _in(lang: str | None, fn):
    if lang:
        with translation.override(lang):
            return fn()
    return fn()


def format_number(value, decimals: int | None = None, lang: str | None = None) -> str:
    """12345 → '12 345' (kk/ru, no-break space) or '12,345' (en). Without `decimals` a whole
    number has none and anything else two; None → '—'."""
    number = _decimal(value)
    if number is None:
        return MISSING
    if decimals is None:
        decimals = 0 if number == number.to_integral_value() else 2
    places = Decimal(1).scaleb(-decimals)
    number = number.quantize(places)
    return _in(
        lang,
        lambda: formats.number_format(
            number, decimal_pos=decimals, use_l10n=True, force_grouping=True
        ),
    )


def format_percent(value, decimals: int = 1, lang: str | None = None) -> str:
    """31.06 → '31,1 %' (kk/ru) or '31.1 %' (en), with a narrow no-break space; None → '—'."""
    if _decimal(value) is None:
        return MISSING
    return f"{format_number(value, decimals, lang)}{NNBSP}%"


@register.filter(name="number")
def number_filter(value, decimals=None):
    """{{ total|number }} → 1 850 000; {{ amount|number:2 }} → 1 850,50."""
    return format_number(value, None if decimals in (None, "") else int(decimals))


@register.filter(name="percent")
def percent_filter(value, decimals=1):
    """{{ share|percent }} → 31,1 % (the sign included); {{ share|percent:0 }} → 31 %."""
    return format_percent(value, int(decimals))
