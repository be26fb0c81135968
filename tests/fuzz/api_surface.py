"""The API's operations, read from its OpenAPI schema, and the bad requests for each.

A new endpoint is fuzzed without touching this file: its path, methods, path/query/header
parameters and body schema all come from civic.api.api.get_openapi_schema()."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

from .catalogue import BAD_IDS, BAD_QUERY_VALUES, BAD_VALUES, RAW_VALUES, Body, body_attacks
from .world import World, param_kind

WRITE_METHODS = {"post", "put", "patch", "delete"}
# Send every shared-out input as every role instead of one (about seven times longer).
EVERY_ROLE = os.environ.get("FUZZ_EVERY_ROLE", "").lower() in {"1", "true", "yes"}


@dataclass
class Operation:
    method: str
    path: str  # with {name} placeholders
    path_params: list[str] = field(default_factory=list)
    query_params: list[tuple[str, str | None]] = field(default_factory=list)  # (name, type)
    header_params: list[str] = field(default_factory=list)
    json_schema: dict | None = None
    multipart_schema: dict | None = None

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def api_operations() -> list[Operation]:
    from civic.api import api

    spec = api.get_openapi_schema()
    components = spec.get("components", {}).get("schemas", {})
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            operation = Operation(method=method, path=path)
            for param in op.get("parameters", []):
                where = param["in"]
                if where == "path":
                    operation.path_params.append(param["name"])
                elif where == "query":
                    operation.query_params.append(
                        (param["name"], param.get("schema", {}).get("type"))
                    )
                elif where == "header":
                    operation.header_params.append(param["name"])
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                operation.json_schema = _resolve(content["application/json"]["schema"], components)
                operation.json_schema = {
                    name: _resolve(prop, components)
                    for name, prop in operation.json_schema.get("properties", {}).items()
                }
            if "multipart/form-data" in content:
                operation.multipart_schema = _resolve(
                    content["multipart/form-data"]["schema"], components
                )
            operations.append(operation)
    return operations


# --- Valid bodies, so that one bad field is the only thing wrong --------------------------------


def _valid_value(name: str, prop: dict, world: World):
    """A value that passes for field `name`, from its schema and the seeded world."""
    from django.utils import timezone

    if "anyOf" in prop:
        branches = [b for b in prop["anyOf"] if b.get("type") != "null"]
        prop = branches[0] if branches else {"type": "null"}
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    named = {
        "choices": world.choices[:1],
        "community": int(world.first("community")),
        "district": world.district_pk if kind == "integer" else "almaly",
        "district_ids": [world.district_pk],
        "parent": int(world.first("comment")),
        "comment": int(world.first("comment")),
        "question": None,  # a report names a comment or a question, not both
        "user": int(world.first("user")),
        "hosts": [],
        "kind": "citizen_group",
        "category": "urban_space",
        "action": "approve",
        "to": "under_review",
        "preferred_language": "kk",
        "focus_areas": [],
        "contact_email": "team@example.kz",
        "website": "https://example.kz",
        "budget_kzt": "1000000",
        "latitude": "43.25",
        "longitude": "76.95",
        "code": None,
        "projects": [int(world.first("budget_pick"))],
        "initiative": None,
    }
    if name in named:
        return named[name]
    if prop.get("format") == "date-time":
        offset = timedelta(hours=1 if name.startswith("start") else 2)
        return (timezone.now() + offset).isoformat()
    return {
        "integer": 1,
        "number": 1.5,
        "boolean": False,
        "array": [],
        "object": {},
        "null": None,
    }.get(kind, "A clear, ordinary text")


def valid_body(operation: Operation, world: World) -> dict | None:
    if operation.json_schema is None:
        return None
    return {name: _valid_value(name, prop, world) for name, prop in operation.json_schema.items()}


# --- The requests --------------------------------------------------------------------------------


@dataclass
class Probe:
    method: str
    path: str
    data: bytes = b""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)
    what: str = ""


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)


def real_values(operation: Operation, world: World) -> dict[str, str]:
    return {p: world.first(param_kind(operation.path, p)) for p in operation.path_params}


def _json(body: dict) -> bytes:
    return json.dumps(body).encode()


def _with_raw(body: dict, name: str, raw: str) -> bytes:
    marker = "__RAW_VALUE_MARKER__"
    return _json({**body, name: marker}).replace(f'"{marker}"'.encode(), raw.encode())


# Sent by every role; the rest of each list is shared out (see probes_for).
EVERYONE_IDS = {"2**64"}
EVERYONE_QUERY = {"2**64"}
# The review's two 500s: sent as every role, anonymous included.
EVERYONE_BODIES = {"oversize", "multipart_bad_boundary"}
BODIES_WITHOUT_SCHEMA = {"oversize", "multipart_bad_boundary", "malformed", "deep_lists"}
EVERYONE_VALUES: set[str] = set()


def valid_probes(operation: Operation, world: World) -> list[tuple[dict[str, str], Probe]]:
    """A valid request on each seeded object the operation can name: (path values, probe)."""
    base = real_values(operation, world)
    variants = [base]
    for name in operation.path_params:
        for real in world.ids.get(param_kind(operation.path, name) or "", [])[1:2]:
            variants.append({**base, name: str(real)})
    body = valid_body(operation, world)
    out = []
    for values in variants:
        path = fill(operation.path, values)
        what = "valid " + ", ".join(f"{k}={v}" for k, v in values.items())
        if operation.multipart_schema is not None:
            probe = _multipart_probes(operation.method, path, operation.multipart_schema)[0]
            probe.what = what
        else:
            probe = Probe(
                operation.method, path, _json(body) if body is not None else b"", what=what
            )
        out.append((values, probe))
    return out


def field_pairs(body: dict) -> list[tuple[str, str, object]]:
    pairs = [(n, label, value) for n in body for label, value in BAD_VALUES]
    return pairs + [(n, label, raw) for n in body for label, raw in RAW_VALUES]


def probes_for(
    operation: Operation,
    world: World,
    *,
    role: str,
    roles: tuple[str, ...],
    reached_by: list[str],
    base_values: dict[str, str] | None = None,
) -> list[Probe]:
    """Every bad request for `operation` that `role` sends.

    Requests wrong as a whole and the worst ids go out as every role. The long lists (every
    field times every bad value, the rarer ids, bodies and query values) are shared out: each
    item is sent once, as one of the roles in `reached_by` (those whose valid request was not
    refused with 401/403, so the bad value meets the code that reads it). Path parameters are
    `base_values` (seeded ids) except where a bad id is the point."""
    mine = _sharer(role, reached_by or list(roles))
    everyone = _sharer(role, list(roles))
    method = operation.method
    base_values = base_values or real_values(operation, world)
    base_path = fill(operation.path, base_values)
    body = valid_body(operation, world)
    valid = _json(body) if body is not None else b""

    # The operation itself on every seeded object it can name, with a valid body.
    probes: list[Probe] = [probe for _values, probe in valid_probes(operation, world)]

    # Bad path ids, one parameter at a time.
    for name in operation.path_params:
        for label, bad in BAD_IDS:
            if label in EVERYONE_IDS or mine(f"{name}{label}"):
                path = fill(operation.path, {**base_values, name: bad})
                probes.append(Probe(method, path, valid, what=f"{name}={label}"))

    # Bad query values, one parameter at a time, and the parameter given twice.
    for name, _type in operation.query_params:
        for label, bad in BAD_QUERY_VALUES:
            if label in EVERYONE_QUERY or mine(f"{name}{label}"):
                probes.append(Probe(method, f"{base_path}?{name}={bad}", what=f"?{name}={label}"))
        if mine(f"{name}twice"):
            probes.append(Probe(method, f"{base_path}?{name}=1&{name}=x", what=f"?{name} twice"))

    for name in operation.header_params:
        header = "HTTP_" + name.upper().replace("-", "_")
        for label, bad in [
            ("long", "k" * 10_000),
            ("nul", "a\x00b"),
            ("unicode", "ключ\u202e"),
            ("empty", ""),
            ("2**64", str(2**64)),
        ]:
            if mine(f"{name}{label}"):
                probes.append(
                    Probe(
                        method,
                        base_path,
                        valid,
                        headers={header: bad},
                        what=f"header {name}={label}",
                    )
                )

    # Bodies wrong as a whole; operations without a body get the worst few.
    for attack in body_attacks(body):
        if operation.json_schema is None and operation.multipart_schema is None:
            if attack.name in BODIES_WITHOUT_SCHEMA and everyone(attack.name):
                probes.append(_body_probe(method, base_path, attack))
        elif attack.name in EVERYONE_BODIES or mine(attack.name):
            probes.append(_body_probe(method, base_path, attack))

    # One field wrong at a time, the rest valid; and each field missing.
    if body is not None:
        for name, label, value in field_pairs(body):
            if label not in EVERYONE_VALUES and not mine(f"{name}{label}"):
                continue
            if label.startswith("raw_"):
                data = _with_raw(body, name, value)
            else:
                data = _json({**body, name: value})
            probes.append(Probe(method, base_path, data, what=f"field {name}={label}"))
        for name in body:
            if mine(f"{name}missing"):
                rest = {k: v for k, v in body.items() if k != name}
                probes.append(Probe(method, base_path, _json(rest), what=f"field {name} missing"))

    if operation.multipart_schema is not None:
        probes += [
            p
            for p in _multipart_probes(method, base_path, operation.multipart_schema)
            if mine(p.what)
        ]
    return probes


def _sharer(role: str, among: list[str]):
    """A predicate sending each item (named by a key) as exactly one of `among`, the same one
    on every run; with FUZZ_EVERY_ROLE=1, as every role (a long run, for occasional use)."""
    import zlib

    def mine(key: str) -> bool:
        if EVERY_ROLE:
            return True
        return among[zlib.crc32(key.encode()) % len(among)] == role if role in among else False

    return mine


def _body_probe(method: str, path: str, attack: Body) -> Probe:
    return Probe(
        method,
        path,
        attack.data,
        attack.content_type,
        dict(attack.headers),
        what=f"body {attack.name}",
    )


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "fuzzBOUNDARY") -> bytes:
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode(
                "utf-8", "surrogateescape"
            )
            + (b"Content-Type: application/octet-stream\r\n" if filename is not None else b"")
            + b"\r\n"
            + content
            + b"\r\n"
        )
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


def _multipart_probes(method: str, path: str, schema: dict) -> list[Probe]:
    ct = "multipart/form-data; boundary=fuzzBOUNDARY"
    props = schema.get("properties", {})
    files = [n for n, p in props.items() if p.get("format") == "binary"]
    texts = [n for n in props if n not in files]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

    def parts(text_value: bytes = b"Plan", file_name: str = "plan.pdf", content: bytes = pdf):
        return [(n, None, text_value) for n in texts] + [(n, file_name, content) for n in files]

    cases = [
        ("valid", parts()),
        ("no_file", [(n, None, b"x") for n in texts]),
        ("empty_file", parts(content=b"")),
        ("exe_as_pdf", parts(content=b"MZ\x90\x00" + b"\x00" * 100)),
        ("nul_filename", parts(file_name="a\x00.pdf")),
        ("traversal_filename", parts(file_name="../../etc/passwd.pdf")),
        ("long_filename", parts(file_name="a" * 5000 + ".pdf")),
        ("unicode_filename", parts(file_name="\u202egpj.pdf")),
        ("nul_text", parts(text_value=b"a\x00b")),
        ("invalid_utf8_text", parts(text_value=b"\xff\xfe")),
        ("long_text", parts(text_value=b"a" * 100_000)),
    ]
    probes = [
        Probe(method, path, _multipart(p), ct, what=f"multipart {label}") for label, p in cases
    ]
    probes.append(Probe(method, path, b"--fuzzBOUNDARY\r\ngarbage", ct, what="multipart truncated"))
    return probes
