"""The pages, read from the URL resolver, and the forms on them, read from their HTML.

Every page address (its parameters filled with seeded ids) is fetched as every role; each
<form> found is remembered with its fields, and who saw it. A new page or a new form field is
fuzzed without touching this file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

from django.urls import URLPattern, URLResolver, get_resolver

from .world import World, param_kind

LANG = "en"
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass
class Route:
    route: str  # e.g. "en/polls/<int:poll_id>/"
    params: list[tuple[str, str]]  # (converter, name)

    def fill(self, values: dict[str, str]) -> str:
        return "/" + _CONVERTER.sub(lambda m: values[m.group(2)], self.route)


def page_routes(*, admin: bool = False) -> list[Route]:
    """Every page route under /en/ (the other languages share the views); the admin's if
    asked. Regex routes (allauth's keyed links) are filled from their named groups."""
    routes = []

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                route = re.sub(r"\^|\$", "", route)
                route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route)
                if route.startswith(("api/", "healthz")):
                    continue
                if route.startswith("admin/") != admin:
                    continue
                if not admin and not route.startswith(("ru/", "en/", "kk/", "i18n/")):
                    continue
                route = re.sub(r"^(ru|kk)/", f"{LANG}/", route)
                params = [(m.group(1) or "str", m.group(2)) for m in _CONVERTER.finditer(route)]
                routes.append(Route(route, params))

    walk(get_resolver().url_patterns, "")
    unique = {r.route: r for r in routes}
    return [unique[k] for k in sorted(unique)]


def real_fills(route: Route, world: World, actions: dict[str, set[str]]) -> list[dict[str, str]]:
    """Parameter values naming seeded objects (each object of the first parameter, the first
    of the others); `str` parameters take the values seen in the forms' actions."""
    base = {}
    choices: list[tuple[str, list[str]]] = []
    for converter, name in route.params:
        kind = param_kind(route.route, name)
        values = [str(v) for v in world.ids.get(kind or "", [])]
        if not values and name in actions:
            values = sorted(actions[name])
        if not values:
            values = [
                {"int": "1", "uuid": "00000000-0000-0000-0000-000000000000"}.get(converter, "x")
            ]
        base[name] = values[0]
        choices.append((name, values))
    fills = [base]
    for name, values in choices:
        fills += [{**base, name: v} for v in values[1:]]
    return fills


# --- Forms in HTML -------------------------------------------------------------------------------


@dataclass
class Form:
    url: str  # where it posts (or, for GET forms, the page it filters)
    method: str
    multipart: bool
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, valid value)
    files: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)  # field name: input type
    seen_by: set[str] = field(default_factory=set)


class _FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._radios: set[str] = set()
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            self._form = Form(
                url=urlsplit(action).path
                + (f"?{urlsplit(action).query}" if urlsplit(action).query else ""),
                method=(a.get("method") or "get").lower(),
                multipart="multipart" in a.get("enctype", ""),
            )
            self._radios = set()
            return
        form = self._form
        if form is None or not a.get("name"):
            return
        name = a["name"]
        form.types.setdefault(name, a.get("type", tag).lower() if tag == "input" else tag)
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "file":
                form.files.append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a or (kind == "radio" and name not in self._radios):
                    form.fields = [f for f in form.fields if not (kind == "radio" and f[0] == name)]
                    form.fields.append((name, a.get("value", "on")))
                    self._radios.add(name)
            elif kind not in ("submit", "button", "image", "reset"):
                form.fields.append((name, a.get("value", "")))
            elif a.get("value"):
                form.fields.append((name, a["value"]))  # a named button says what to do
        elif tag == "button" and a.get("value"):
            form.fields.append((name, a["value"]))
        elif tag == "select":
            self._select, self._select_value = name, None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            self._form.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form.fields.append((self._textarea, self._text or "A clear, ordinary text"))
            self._textarea = None
        elif tag == "form":
            self.forms.append(self._form)
            self._form = None


def forms_in(html: str, page_url: str) -> list[Form]:
    parser = _FormParser(page_url)
    parser.feed(html)
    return parser.forms


# --- Bodies ----------------------------------------------------------------------------------------


def encode(value: str) -> str:
    return quote(value.encode("utf-8", "surrogateescape"), safe="")


def urlencoded(fields: list[tuple[str, str | list[str]]]) -> bytes:
    parts = []
    for name, value in fields:
        for one in value if isinstance(value, list) else [value]:
            parts.append(f"{encode(name)}={encode(one)}")
    return "&".join(parts).encode()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BOUNDARY = "fuzzBOUNDARY"


def multipart(
    fields: list[tuple[str, str | list[str]]],
    files: list[str],
    file_name: str = "plan.pdf",
    content: bytes = PDF,
) -> bytes:
    chunks = []
    for name, value in fields:
        for one in value if isinstance(value, list) else [value]:
            chunks.append(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + one.encode("utf-8", "surrogateescape")
                + b"\r\n"
            )
    for name in files:
        chunks.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode(
                "utf-8", "surrogateescape"
            )
            + content
            + b"\r\n"
        )
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()
