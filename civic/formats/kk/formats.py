"""Kazakh formats: «2026 жылғы 6 желтоқсан», «2026 жылғы 6 желтоқсан, 14:30»; numbers
1 850 000 000,50 (no-break spaces). The month names are lowercase: "E" reads Django's
"alt. month" strings, which locale_thirdparty/kk gives in lowercase."""

# Cyrillic letters are not format specifiers, so «жылғы» needs no escaping.
DATE_FORMAT = "Y жылғы j E"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y жылғы j E, H:i"
YEAR_MONTH_FORMAT = "Y жылғы E"
MONTH_DAY_FORMAT = "j E"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3
