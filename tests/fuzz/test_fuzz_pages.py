"""Every page address and every form on the pages gets the catalogue of bad inputs, as every
role: no 5xx, and a refused request changes no row.

Forms are found by fetching every page as every role; a form is fuzzed field by field by the
roles that were shown it, and its address gets the bodies that are wrong as a whole from
everyone. Addresses get bad ids in each of their parameters."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve

from .api_surface import EVERY_ROLE
from .catalogue import BAD_IDS, BAD_QUERY_VALUES, FORM_VALUES, oversize_form
from .conftest import client_as
from .harness import Fuzzer
from .page_surface import (
    BOUNDARY,
    Form,
    forms_in,
    multipart,
    page_routes,
    real_fills,
    urlencoded,
)
from .world import ROLES

pytestmark = pytest.mark.django_db

FORM_CT = "application/x-www-form-urlencoded"
MULTIPART_CT = f"multipart/form-data; boundary={BOUNDARY}"


@dataclass
class Site:
    pages: dict[str, str]  # every address, parameters filled with seeded ids: its route
    bad_id_pages: list[tuple[str, str, str, str]]  # (address, parameter, bad value, route)
    post_routes: dict[str, set[str]] = field(default_factory=dict)  # route: roles shown a form
    route_ok: dict[str, set[str]] = field(default_factory=dict)  # route: roles it answers 200
    # One form per route and set of fields is fuzzed field by field (the same form on another
    # object adds nothing), by everyone shown any of them.
    field_forms: dict[str, set[str]] = field(default_factory=dict)
    post_forms: dict[str, Form] = field(default_factory=dict)
    get_forms: dict[str, Form] = field(default_factory=dict)


def _mine(role: str, key: str, among) -> bool:
    """Whether `role` sends the input named `key`: one role of `among` does, the same on
    every run (every role with FUZZ_EVERY_ROLE=1)."""
    if EVERY_ROLE:
        return True
    among = sorted(among) or list(ROLES)
    return among[zlib.crc32(key.encode()) % len(among)] == role


@pytest.fixture(scope="module")
def site(world, django_db_blocker) -> Site:
    """Fetch every page as every role and remember the forms each was shown."""
    from django.db import transaction

    routes = page_routes()
    actions: dict[str, set[str]] = {}
    pages: dict[str, str] = {}
    bad_id_pages = []
    for route in routes:
        fills = real_fills(route, world, actions)
        pages.update({route.fill(values): route.route for values in fills})
        for _converter, name in route.params:
            for label, bad in BAD_IDS:
                bad_id_pages.append((route.fill({**fills[0], name: bad}), name, label, route.route))
    site = Site(pages=dict(sorted(pages.items())), bad_id_pages=bad_id_pages)
    with django_db_blocker.unblock():
        for role in ROLES:
            client = client_as(world, role)
            for url in site.pages:
                with transaction.atomic():
                    response = client.get(url)
                    transaction.set_rollback(True)
                if response.status_code != 200:
                    continue
                site.route_ok.setdefault(site.pages[url], set()).add(role)
                if "html" not in response.get("Content-Type", ""):
                    continue
                for form in forms_in(response.content.decode(), url):
                    found = site.post_forms if form.method == "post" else site.get_forms
                    key = form.url if form.method == "post" else url
                    known = found.setdefault(key, form)
                    if known is not form:
                        for name, value in form.fields:
                            if name not in dict(known.fields):
                                known.fields.append((name, value))
                    known.seen_by.add(role)
    shapes: dict[tuple, str] = {}
    for url, form in sorted(site.post_forms.items()):
        try:
            route = resolve(urlsplit(url).path).route
        except Resolver404:
            route = url
        site.post_routes.setdefault(route, set()).update(form.seen_by)
        first = shapes.setdefault((route, tuple(sorted(dict(form.fields)))), url)
        site.field_forms.setdefault(first, set()).update(form.seen_by)
    return site


def test_pages_and_forms_are_discovered(site):
    # If discovery breaks, the fuzz tests would pass on nothing.
    assert len(site.pages) >= 50
    assert "en/polls/manage/<int:poll_id>/do/<str:action>/" in site.post_routes
    assert any("/polls/manage/" in url and "/do/" in url for url in site.post_forms)
    assert any("/dialogue/threads/" in url for url in site.post_forms)
    assert "/en/accounts/login/" in site.post_forms
    assert len(site.post_forms) >= 25


def _whole_bodies(form: Form | None) -> list[tuple[str, bytes, str]]:
    fields = form.fields if form else [("x", "1")]
    return [
        ("oversize", oversize_form(), FORM_CT),
        ("multipart_bad_boundary", urlencoded(fields), "multipart/form-data; boundary=zzz"),
        (
            "multipart_truncated",
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=".encode(),
            MULTIPART_CT,
        ),
        ("json_as_form", b'{"a": [1, {"b": null}]}', FORM_CT),
        ("form_garbage", b"%%%&&==;\xff\xfe&=&a=%zz", FORM_CT),
        ("invalid_utf8", b"a=%FF%FE&" + urlencoded(fields), FORM_CT),
        ("nul", urlencoded([*fields, ("note", "\x00")]), FORM_CT),
        ("too_many_fields", "&".join(f"f{i}=1" for i in range(1200)).encode(), FORM_CT),
        ("empty", b"", FORM_CT),
    ]


FORMSET_ROW = re.compile(r"^(.+)-([1-9]\d*)-(.+)$")
LANGUAGE_VARIANT = re.compile(r"^(.+)_(kk|ru|en)$")


def fuzzed_fields(form: Form) -> list[list[str]]:
    """The form's fields, grouped: one text in three languages (title_kk, title_ru, title_en)
    is one group whose variants share the bad values out; a formset's later rows are its first
    row again; the CSRF token is not the form's (the suite's client does not check it)."""
    groups: dict[str, list[str]] = {}
    for name, _value in form.fields:
        if name == "csrfmiddlewaretoken" or FORMSET_ROW.match(name):
            continue
        variant = LANGUAGE_VARIANT.match(name)
        group = groups.setdefault(variant.group(1) if variant else name, [])
        if name not in group:
            group.append(name)
    return list(groups.values())


DATE_VALUES = {"bad_date", "far_date"}
# Page ids go through Django's path converters: these add nothing to 2**63, 2**64 and "abc".
PAGE_IDS_SKIPPED = {"2**63-1", "2**31", "exp", "arabic_digits"}


def _is_date(form: Form, name: str) -> bool:
    """Date values go to date fields only: elsewhere they are just text, tested already."""
    kind = form.types.get(name, "")
    return "date" in kind or "time" in kind or name.endswith(("_at", "date", "_on"))


def _post_form(fuzzer, form: Form, fields, what: str, **file_args):
    if form.multipart or form.files:
        data, ct = multipart(fields, form.files, **file_args), MULTIPART_CT
    else:
        data, ct = urlencoded(fields), FORM_CT
    fuzzer.send("post", form.url, data=data, content_type=ct, what=what)


@pytest.mark.parametrize("role", ROLES)
def test_page_fuzz(world, site, role):
    client = client_as(world, role)
    with Fuzzer(client, role=role, surface="pages") as fuzzer:
        # Bodies wrong as a whole, to every address a form posts to (the worst two also as an
        # anonymous visitor); the worst two to every other page too (a 405 is right there).
        for url in sorted(set(site.pages) | set(site.post_forms)):
            form = site.post_forms.get(url)
            takes_post = form is not None or site.pages.get(url) in site.post_routes
            seen_by = form.seen_by if form else ROLES
            for name, data, ct in _whole_bodies(form):
                worst = name in ("oversize", "multipart_bad_boundary")
                if not takes_post and not worst:
                    continue
                if _mine(role, url + name, seen_by) or (worst and role == "anonymous"):
                    fuzzer.send("post", url, data=data, content_type=ct, what=f"body {name}")

        # Bad ids in each parameter of each address, fetched by those the real page answers
        # and posted by those shown a form posting there.
        for url, name, label, route in site.bad_id_pages:
            if label in PAGE_IDS_SKIPPED:
                continue
            if _mine(role, f"{url}{name}{label}get", site.route_ok.get(route, ROLES)):
                fuzzer.send("get", url, what=f"{name}={label}")
            posters = site.post_routes.get(route)
            if posters and _mine(role, f"{url}{name}{label}post", posters):
                fuzzer.send("post", url, data=b"x=1", content_type=FORM_CT, what=f"{name}={label}")

        # Each form, one field wrong at a time and each field missing, as those shown it.
        for url, form in sorted(site.post_forms.items()):
            if _mine(role, url + "valid", form.seen_by):
                _post_form(fuzzer, form, form.fields, "valid form")
            if url not in site.field_forms:
                continue
            shown = site.field_forms[url]
            for group in fuzzed_fields(form):
                for label, bad in [*FORM_VALUES, ("missing", None)]:
                    name = group[zlib.crc32(label.encode()) % len(group)]
                    if label in DATE_VALUES and not _is_date(form, name):
                        continue
                    if not _mine(role, f"{url}{name}{label}", shown):
                        continue
                    fields = [(n, v) for n, v in form.fields if n != name]
                    if bad is not None:
                        fields.append((name, bad))
                    _post_form(fuzzer, form, fields, f"field {name}={label}")
            for file_field in form.files:
                for label, file_args in [
                    ("empty_file", {"content": b""}),
                    ("exe_file", {"content": b"MZ\x90\x00" + b"\x00" * 64}),
                    ("nul_filename", {"file_name": "a\x00.pdf"}),
                    ("long_filename", {"file_name": "a" * 5000 + ".pdf"}),
                    ("traversal_filename", {"file_name": "../../x.pdf"}),
                ]:
                    if _mine(role, f"{url}{file_field}{label}", shown):
                        _post_form(fuzzer, form, form.fields, f"file {label}", **file_args)

        # Filters and pagination: each GET form's fields, and page/next on every page.
        for url, form in sorted(site.get_forms.items()):
            for name, _valid in form.fields:
                for label, bad in BAD_QUERY_VALUES:
                    if _mine(role, f"{url}{name}{label}", form.seen_by):
                        sep = "&" if "?" in url else "?"
                        fuzzer.send("get", f"{url}{sep}{name}={bad}", what=f"?{name}={label}")
        for url in site.pages:
            for query in ("page=" + str(2**64), "page=abc", "next=//evil.example/%FF"):
                if _mine(role, url + query, ROLES):
                    sep = "&" if "?" in url else "?"
                    fuzzer.send("get", f"{url}{sep}{query}", what=f"?{query}")
    fuzzer.check()
