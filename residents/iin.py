"""Kazakhstan's individual identification number (IIN / ЖСН / ИИН): validation and keyed hashes.

An IIN is 12 digits: YYMMDD of birth, a century-and-sex digit, a 4-digit serial and a check
digit (two-pass weighted mod 11). Nothing here logs, prints or stores an IIN; callers keep
only the keyed hashes (HMAC-SHA256 with settings.CENSUS_PEPPER) and at most the last four digits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from civic.errors import InvalidInput

WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# Digit 7: century of birth and sex (odd: male, even: female). 0 and 7-9 are not individuals.
CENTURIES = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


class BadIIN(InvalidInput):
    """An IIN that cannot be one: 422-style, code "bad_iin", with a translated reason."""

    status = 422
    close_code = 4422

    def __init__(self, message=None, *, reason: str = "format"):
        # `reason` is a stable word for reports and tests: format, date, check_digit, birth_date.
        self.reason = reason
        super().__init__(message, code="bad_iin")


def _check_digit(digits11: list[int]) -> int | None:
    total = sum(d * w for d, w in zip(digits11, WEIGHTS_1, strict=True)) % 11
    if total == 10:
        total = sum(d * w for d, w in zip(digits11, WEIGHTS_2, strict=True)) % 11
    return None if total == 10 else total


def _birth_date(iin: str) -> dt.date:
    century = CENTURIES.get(int(iin[6]))
    if century is None:
        raise BadIIN(_("The 7th digit of an IIN must be 1 to 6 (century and sex)."), reason="date")
    try:
        return dt.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        raise BadIIN(
            _("The first six digits of an IIN must be a real date of birth (YYMMDD)."),
            reason="date",
        ) from None


def iin_validate(iin: str, birth_date: dt.date | None = None) -> str:
    """The IIN, stripped, if it is a valid individual's IIN (matching `birth_date` if given);
    else BadIIN with the reason. Checks format, then the date part, then the check digit."""
    iin = (iin or "").strip()
    if len(iin) != 12 or not iin.isascii() or not iin.isdigit():
        raise BadIIN(_("An IIN is exactly 12 digits."), reason="format")
    born = _birth_date(iin)
    if _check_digit([int(c) for c in iin[:11]]) != int(iin[11]):
        raise BadIIN(
            _("This IIN's check digit is wrong: please check the number."), reason="check_digit"
        )
    if birth_date is not None and born != birth_date:
        raise BadIIN(_("This IIN does not match the date of birth given."), reason="birth_date")
    return iin


def iin_birth_date(iin: str) -> dt.date:
    """The date of birth an IIN carries (validating it)."""
    return _birth_date(iin_validate(iin))


def iin_make(birth_date: dt.date, serial: int, sex: str = "m") -> str:
    """A valid IIN for `birth_date` (fictional: for tests and the demo).

    `serial` (0-9999) fills digits 8-11; a serial whose check digit comes out 10 twice is
    skipped to the next one, so every call gives a valid IIN.
    """
    base = {1800: 1, 1900: 3, 2000: 5}[birth_date.year // 100 * 100]
    century_digit = base + (1 if sex == "f" else 0)
    for offset in range(10000):
        prefix = f"{birth_date:%y%m%d}{century_digit}{(serial + offset) % 10000:04d}"
        check = _check_digit([int(c) for c in prefix])
        if check is not None:
            return f"{prefix}{check}"
    raise ValueError("no valid serial")  # unreachable: most serials give a check digit


def _pepper() -> bytes:
    return settings.CENSUS_PEPPER.encode()


def register_key(iin: str, birth_date: dt.date) -> bytes:
    """The keyed hash that matches a register row: (IIN, date of birth)."""
    message = f"register:{iin}:{birth_date.isoformat()}".encode()
    return hmac.new(_pepper(), message, hashlib.sha256).digest()


def iin_key(iin: str) -> bytes:
    """The keyed hash that binds one IIN to one account."""
    return hmac.new(_pepper(), f"iin:{iin}".encode(), hashlib.sha256).digest()
