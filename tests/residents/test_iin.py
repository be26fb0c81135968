"""The IIN: format, date part, century digit, two-pass mod-11 check digit; keyed hashes."""

import datetime as dt
import random

import pytest

from residents.iin import BadIIN, iin_birth_date, iin_key, iin_make, iin_validate, register_key

# Checked by hand (weights 1..11, sum mod 11; if 10, weights 3..11,1,2):
HAND_CHECKED = {
    # 9+4+6+21 = 40 ≡ 7
    "900101300007": dt.date(1990, 1, 1),
    # 4+6+35 = 45 ≡ 1
    "000101500001": dt.date(2000, 1, 1),
    # first pass 40+36 = 76 ≡ 10; second 27+6+8+27+44 = 112 ≡ 2
    "900101304002": dt.date(1990, 1, 1),
    # century digit 2 (1800s, female): 9+4+6+14 = 33 ≡ 0
    "900101200000": dt.date(1890, 1, 1),
}


@pytest.mark.parametrize("iin,born", HAND_CHECKED.items())
def test_hand_checked_iins_are_valid(iin, born):
    assert iin_validate(iin) == iin
    assert iin_validate(iin, born) == iin
    assert iin_birth_date(iin) == born


def test_made_iins_validate_and_carry_their_birth_date():
    rng = random.Random(11)
    start = dt.date(1900, 1, 1)
    for n in range(2000):
        born = start + dt.timedelta(days=rng.randrange(0, 45000))
        sex = "f" if n % 2 else "m"
        iin = iin_make(born, rng.randrange(10000), sex)
        assert len(iin) == 12
        assert iin_validate(iin, born) == iin
        assert iin_birth_date(iin) == born
        assert int(iin[6]) % 2 == (0 if sex == "f" else 1)


@pytest.mark.parametrize(
    "iin,reason",
    [
        ("", "format"),
        ("90010130000", "format"),  # 11 digits
        ("9001013000070", "format"),  # 13 digits
        ("90010130000a", "format"),
        ("９００１０１３０００７", "format"),  # full-width digits are not ASCII
        ("901301300007", "date"),  # month 13
        ("900230300007", "date"),  # 30 February
        ("010229500000", "date"),  # 2001 was no leap year
        ("900101000007", "date"),  # century digit 0
        ("900101700007", "date"),  # century digit 7: not an individual
        ("900101900007", "date"),
        ("900101300008", "check_digit"),
        ("900101304003", "check_digit"),
        # both passes give 10: no check digit can make it valid
        ("900101300800", "check_digit"),
        ("900101300809", "check_digit"),
    ],
)
def test_invalid_iins_are_refused_with_their_reason(iin, reason):
    with pytest.raises(BadIIN) as caught:
        iin_validate(iin)
    assert caught.value.reason == reason
    assert caught.value.code == "bad_iin"
    assert caught.value.status == 422
    assert str(caught.value.message)
    # The reason never repeats the number.
    assert not iin or iin not in str(caught.value.message)


def test_a_birth_date_that_does_not_match_is_refused():
    with pytest.raises(BadIIN) as caught:
        iin_validate("900101300007", dt.date(1990, 1, 2))
    assert caught.value.reason == "birth_date"


def test_surrounding_spaces_are_ignored():
    assert iin_validate(" 900101300007 ") == "900101300007"


def test_keys_are_keyed_hashes_not_the_number(settings):
    iin, born = "900101300007", dt.date(1990, 1, 1)
    rkey, ikey = register_key(iin, born), iin_key(iin)
    assert len(rkey) == len(ikey) == 32
    assert rkey != ikey
    assert iin.encode() not in rkey + ikey and iin not in (rkey + ikey).hex()
    settings.CENSUS_PEPPER = "another-pepper-another-pepper-another"
    assert register_key(iin, born) != rkey
    assert iin_key(iin) != ikey
