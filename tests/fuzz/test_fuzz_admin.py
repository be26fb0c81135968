"""The Django admin is one more entry point: every admin address gets bad ids and bodies that
are wrong as a whole, and every field of every admin form a bad value, as an administrator
(and, refused at the door, as the other roles): no 5xx, a refused request changes no row.

The admin's forms are many and its field validation is Django's own, so each field gets one
bad value of the catalogue (taken in turn) rather than all of them."""

from __future__ import annotations

import zlib
from urllib.parse import urlsplit

import pytest

from .catalogue import FORM_VALUES, oversize_form
from .conftest import client_as
from .harness import Fuzzer
from .page_surface import BOUNDARY, Form, forms_in, multipart, page_routes, urlencoded
from .world import ROLES

pytestmark = pytest.mark.django_db

FORM_CT = "application/x-www-form-urlencoded"
ADMIN_IDS = [("2**64", str(2**64)), ("-1", "-1"), ("abc", "abc"), ("nul", "%00")]


def _fill(route, value: str) -> str:
    return route.fill(
        {
            name: value if name == "object_id" else {"app_label": "polls"}.get(name, "x")
            for _converter, name in route.params
        }
    )


@pytest.fixture(scope="module")
def admin_site(world, django_db_blocker):
    """Every admin address (object ids 1, which every seeded table has) and the forms an
    administrator is shown there."""
    from django.db import transaction

    routes = [r for r in page_routes(admin=True) if r.route != "admin/<url>"]
    pages = sorted({_fill(route, "1") for route in routes})
    bad = sorted(
        {
            (_fill(route, value), label)
            for route in routes
            if route.params
            for label, value in ADMIN_IDS
        }
    )
    forms: dict[str, Form] = {}
    with django_db_blocker.unblock():
        client = client_as(world, "administrator")
        for url in pages:
            with transaction.atomic():
                response = client.get(url)
                transaction.set_rollback(True)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                for form in forms_in(response.content.decode(), url):
                    if form.method == "post" and urlsplit(form.url).path.startswith("/admin/"):
                        forms.setdefault(form.url, form)
    return pages, bad, forms


def test_admin_forms_are_discovered(admin_site):
    pages, _bad, forms = admin_site
    assert len(pages) >= 100
    assert any(url.endswith("/polls/poll/add/") for url in forms)
    assert any(url.endswith("/change/") for url in forms)


def _bodies(form: Form | None):
    fields = form.fields if form else [("x", "1")]
    return [
        ("oversize", oversize_form(), FORM_CT),
        ("multipart_bad_boundary", urlencoded(fields), "multipart/form-data; boundary=zzz"),
        ("invalid_utf8", b"a=%FF%FE&" + urlencoded(fields), FORM_CT),
        ("nul", urlencoded([*fields, ("_note", "\x00")]), FORM_CT),
        ("too_many_fields", "&".join(f"f{i}=1" for i in range(1200)).encode(), FORM_CT),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_admin_fuzz(world, admin_site, role):
    pages, bad, forms = admin_site
    client = client_as(world, role)
    staff = role == "administrator"

    def share(key: str) -> bool:
        # Others are refused at the door: a sample of what the administrator gets is enough.
        return staff or ROLES[zlib.crc32(key.encode()) % len(ROLES)] == role

    with Fuzzer(client, role=role, surface="admin") as fuzzer:
        for url in sorted(set(pages) | set(forms)):
            form = forms.get(url)
            for i, (name, data, ct) in enumerate(_bodies(form)):
                if form is None and name != "oversize":
                    continue
                # The worst two everywhere; the rest one per form, in turn.
                if i >= 2 and zlib.crc32(url.encode()) % 3 != i - 2:
                    continue
                if share(url + name):
                    fuzzer.send("post", url, data=data, content_type=ct, what=f"body {name}")
        for url, label in bad:
            # The administrator sends the worst id everywhere and the others in turn.
            if (staff and label == "2**64") or ROLES[
                zlib.crc32((url + label).encode()) % 7
            ] == role:
                fuzzer.send("get", url, what=f"object_id={label}")
                if label == "2**64":
                    fuzzer.send(
                        "post",
                        url,
                        data=b"post=yes",
                        content_type=FORM_CT,
                        what=f"object_id={label}",
                    )
        if not staff:
            fuzzer.check()
            return
        turn = 0
        for url, form in sorted(forms.items()):
            names = [n for n, _v in form.fields if n != "csrfmiddlewaretoken"]
            fuzzer.send(
                "post",
                url,
                data=_encode(form, form.fields),
                content_type=_ct(form),
                what="valid form",
            )
            for name in dict.fromkeys(names):
                label, value = FORM_VALUES[turn % len(FORM_VALUES)]
                turn += 1
                fields = [(n, v) for n, v in form.fields if n != name] + [(name, value)]
                fuzzer.send(
                    "post",
                    url,
                    data=_encode(form, fields),
                    content_type=_ct(form),
                    what=f"field {name}={label}",
                )
    fuzzer.check()


def _encode(form: Form, fields) -> bytes:
    return multipart(fields, form.files) if form.multipart or form.files else urlencoded(fields)


def _ct(form: Form) -> str:
    return f"multipart/form-data; boundary={BOUNDARY}" if form.multipart or form.files else FORM_CT
