"""The catalogue of bad inputs: values for one field, whole bodies, path ids, query values and
socket frames. Everything here is data; the surfaces and tests decide where it is sent."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from django.conf import settings

# --- One field's value (JSON) ----------------------------------------------------------------

LONG = "a" * 100_000
UNICODE_MIX = (
    "\u202eevil\u202c\u200f a\u200bb\u200d\ufeffc \U0001f600\U0001f44d\U0001f3fd"
    "\U0001f468\u200d\U0001f469 Z" + "\u0336\u0301\u0310" * 300
)

# (name, value) pairs put in place of one field while the rest of the body stays valid.
BAD_VALUES: list[tuple[str, object]] = [
    ("null", None),
    ("string_for_int", "abc"),
    ("int_for_string", 12345),
    ("list_for_string", ["a", "b"]),
    ("object_for_list", {"a": 1}),
    ("bool", True),
    ("float", 1.5),
    ("int_2_63", 2**63),
    ("int_2_64", 2**64),
    ("int_minus_1", -1),
    ("int_0", 0),
    ("nul_byte", "a\x00b"),
    ("lone_surrogate", "\ud800x"),
    # Right-to-left override and mark, zero-width space/joiner/BOM, 4-byte emoji, combining
    # marks (each alone is ordinary text; together they test the same code paths).
    ("unicode_mix", UNICODE_MIX),
    ("long_string", LONG),
    ("empty_string", ""),
    ("whitespace", " \t\n "),
    ("control_chars", "a\x01\x1b[31m\x7fb"),
    ("html", "<script>alert(1)</script><img src=x onerror=alert(1)>"),
    ("bad_date", "2024-13-45T99:99:99"),
    ("far_date", "9999-12-31T23:59:59-14:00"),
    ("number_string", "1e999"),
    ("list_of_huge", [2**64, -1]),
]

# Values JSON cannot write directly: the raw text is put in place of the value.
RAW_VALUES: list[tuple[str, str]] = [
    ("raw_nan", "NaN"),
    ("raw_infinity", "-Infinity"),
    ("raw_digits_5000", "9" * 5000),  # past Python's int digits limit
    ("raw_float_overflow", "1e99999"),
]


# --- Whole bodies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    name: str
    data: bytes
    content_type: str
    headers: dict = field(default_factory=dict)


@functools.cache
def oversize_json() -> bytes:
    return b'{"x": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024) + b'"}'


@functools.cache
def oversize_form() -> bytes:
    return b"x=" + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)


DEPTH = 100_000


def body_attacks(valid: dict | None) -> list[Body]:
    """Bodies that are wrong as a whole, for an operation whose valid body is `valid`."""
    valid_json = json.dumps(valid or {}).encode()
    first = next(iter(valid or {"x": 1}))
    ct_json = "application/json"
    return [
        Body("oversize", oversize_json(), ct_json),
        Body("text_plain", valid_json, "text/plain"),
        Body("multipart_bad_boundary", valid_json, "multipart/form-data; boundary=zzz"),
        Body("multipart_no_boundary", valid_json, "multipart/form-data"),
        Body("form_garbage", b"%%%&&==;\xff\xfe&a=%00&=&", "application/x-www-form-urlencoded"),
        Body("xml", b"<?xml version='1.0'?><a>1</a>", "application/xml"),
        Body("charset_bogus", valid_json, "application/json; charset=klingon"),
        Body("malformed", b'{"a": [1, 2,', ct_json),
        Body("trailing_garbage", valid_json + b"}}", ct_json),
        Body("empty", b"", ct_json),
        Body("deep_lists", b"[" * DEPTH + b"]" * DEPTH, ct_json),
        Body("deep_objects", b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, ct_json),
        Body(
            "deep_in_field",
            b'{"' + first.encode() + b'": ' + b"[" * DEPTH + b"]" * DEPTH + b"}",
            ct_json,
        ),
        Body("root_list", b"[1, 2]", ct_json),
        Body("root_null", b"null", ct_json),
        Body("root_string", b'"x"', ct_json),
        Body("root_number", b"12", ct_json),
        Body("invalid_utf8", b'{"' + first.encode() + b'": "\xff\xfe\xc3"}', ct_json),
        Body("utf16", json.dumps(valid or {}).encode("utf-16"), ct_json),
        Body("bom", b"\xef\xbb\xbf" + valid_json, ct_json),
        Body("nul_key", json.dumps({**(valid or {}), "a\x00b": 1}).encode(), ct_json),
        Body("nul_raw", valid_json[:-1] + b', "x": "\x00"}' if valid else b"\x00", ct_json),
        Body(
            "duplicate_keys",
            valid_json[:-1] + (b", " if valid else b"") + f'"{first}": "dup"}}'.encode(),
            ct_json,
        ),
        Body("unknown_field", json.dumps({**(valid or {}), "is_staff": True}).encode(), ct_json),
        Body("many_keys", json.dumps({f"k{i}": i for i in range(5000)}).encode(), ct_json),
    ]


# --- Path ids and query values ----------------------------------------------------------------

BAD_IDS: list[tuple[str, str]] = [
    ("2**63", str(2**63)),
    ("2**64", str(2**64)),
    ("2**63-1", str(2**63 - 1)),
    ("2**31", str(2**31)),
    ("-1", "-1"),
    ("0", "0"),
    ("abc", "abc"),
    ("float", "1.5"),
    ("exp", "1e3"),
    ("long_digits", "9" * 5000),
    ("unknown", "987654"),
    ("nul", "%00"),
    ("arabic_digits", "%D9%A1%D9%A2"),
]

BAD_QUERY_VALUES: list[tuple[str, str]] = [
    ("2**64", str(2**64)),
    ("-1", "-1"),
    ("abc", "abc"),
    ("float", "1.5"),
    ("long_digits", "9" * 5000),
    ("nul", "%00"),
    ("invalid_utf8", "%FF%FE"),
    ("lone_surrogate", "%ED%A0%80"),
    ("long", "a" * 10_000),
    ("empty", ""),
    ("rtl", "%E2%80%AEx"),
]


# --- Page form values (strings only: a form carries text) --------------------------------------

FORM_VALUES: list[tuple[str, str | list[str]]] = [
    ("empty", ""),
    ("abc", "abc"),
    ("int_2_64", str(2**64)),
    ("int_minus_1", "-1"),
    ("float", "1.5"),
    ("digits_5000", "9" * 5000),
    ("nul_byte", "a\x00b"),
    ("lone_surrogate_bytes", "\udc80"),  # encoded as surrogateescape: an invalid UTF-8 byte
    ("unicode_mix", UNICODE_MIX),
    ("long_string", LONG),
    ("html", "<script>alert(1)</script>"),
    ("bad_date", "2024-13-45T99:99"),
    ("far_date", "9999-12-31T23:59"),
    ("repeated", ["a", "b", "c"]),
]


# --- Socket frames ------------------------------------------------------------------------------

FRAMES: list[tuple[str, str | bytes]] = [
    ("malformed", '{"type": '),
    ("not_object", "[1, 2]"),
    ("null", "null"),
    ("type_not_string", '{"type": 1}'),
    ("type_list", '{"type": ["resync"]}'),
    ("unknown_type", '{"type": "vote", "choices": [1]}'),
    ("nul", '{"type": "re\\u0000sync"}'),
    ("lone_surrogate", '{"type": "\\ud800"}'),
    ("deep", "[" * 2000 + "]" * 2000),
    ("huge_number", '{"type": "resync", "seq": ' + "9" * 3000 + "}"),
    ("resync_extra", '{"type": "resync", "since": -1, "x": {"y": null}}'),
    ("binary", b"\x00\xff\xfe"),
    ("empty", ""),
    ("oversize", '{"type": "' + "a" * 70_000 + '"}'),
]
