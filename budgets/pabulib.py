"""The Pabulib `.pb` format of participatory budgeting elections: strict parsing and writing.

Pabulib (pabulib.org) is the open library of real PB elections researchers use. A file has
three `;`-separated sections in this order, each opened by its name on a line of its own and a
header line:

    META                      PROJECTS                      VOTES
    key;value                 project_id;cost;votes;name    voter_id;vote
    budget;1000000            1;400000;12;Park              1;1,3
    vote_type;approval        ...                           ...

Cells may be quoted as in CSV (`"a;b"`). This module reads the same files as pabutools'
`parse_pabulib_from_string` (the reference), but refuses what pabutools would silently
misread: any problem is a PabulibError naming the line and the reason. Only approval
elections with whole, positive costs and budget are accepted, since Birge's rounds are that.

No Django here: parse() and write() work on plain values (write() reads attributes), so the
import command, the API and tests share them.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# A file larger than this is refused before it is decoded: 200,000 ballots over 60 projects
# (Scale in issue 12) take about 10 MB.
MAX_BYTES = 64 * 1024 * 1024
MAX_PROJECTS = 2000
# Same bound as budgets.models.TOTAL_BUDGET_LIMIT (kept here so this module needs no Django).
AMOUNT_LIMIT = 10**15
MAX_ID_LENGTH = 100

SECTIONS = ("meta", "projects", "votes")
RULES = {"greedy": "greedy", "equalshares": "equal_shares"}  # Pabulib's spelling → Birge's
PABULIB_RULE = {birge: pabulib for pabulib, birge in RULES.items()}

_INTEGRAL = re.compile(r"^[0-9]+(?:[.,]0+)?$")
_BOM = "\ufeff"
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class PabulibError(ValueError):
    """A .pb file Birge refuses: `reason` in words and the 1-based `line` it is on (or None)."""

    def __init__(self, reason: str, line: int | None = None):
        self.reason = reason
        self.line = line
        super().__init__(f"line {line}: {reason}" if line else reason)


@dataclass(frozen=True)
class Project:
    project_id: str
    cost: int
    name: str = ""
    votes: int | None = None
    selected: int | None = None  # Pabulib's 0/1 (2 and 3 exist in some files)


@dataclass(frozen=True)
class Parsed:
    """A parsed approval election. `ballots[i]` lists the project ids `voter_ids[i]` approved,
    in the order the file gave them; `meta` keeps every META value as written."""

    meta: dict[str, str]
    budget: int
    projects: tuple[Project, ...]
    ballots: tuple[tuple[str, ...], ...]
    voter_ids: tuple[str, ...] = field(default=())
    # Where each META key is (for messages about it); not part of the election.
    meta_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def rule(self) -> str:
        """Birge's rule for the META `rule` (checked by parse()): greedy when absent."""
        return RULES[self.meta.get("rule", "").strip().lower() or "greedy"]


# --- parsing ----------------------------------------------------------------------------


def _decode(data: str | bytes, max_bytes: int) -> str:
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
        if len(data) > max_bytes:
            raise PabulibError(
                f"the file is {len(data):,} bytes; at most {max_bytes:,} are accepted"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise PabulibError(
                f"the text is not UTF-8 (byte 0x{data[exc.start]:02x} cannot be read); "
                "save the file as UTF-8",
                line,
            ) from None
    elif isinstance(data, str):
        text = data
        if len(text) > max_bytes:
            raise PabulibError(f"the file is larger than {max_bytes:,} bytes")
    else:
        raise TypeError("parse() takes the file's text or bytes")
    return text.removeprefix(_BOM)


def _cells(line: str, number: int) -> list[str]:
    if '"' not in line:  # the common case, and what csv would give for it
        return line.split(";")
    try:
        return next(csv.reader([line], delimiter=";", strict=True))
    except csv.Error as exc:
        raise PabulibError(f"badly quoted cell ({exc})", number) from None


def _amount(value: str, what: str, number: int) -> int:
    value = value.strip()
    if not value or value.lower() == "none":
        raise PabulibError(f"{what} is missing", number)
    if value.startswith("-"):
        raise PabulibError(
            f"{what} '{value}' is negative; it must be a positive whole number", number
        )
    if not _INTEGRAL.match(value):
        raise PabulibError(f"{what} '{value[:40]}' is not a whole number", number)
    digits = re.split(r"[.,]", value)[0].lstrip("0") or "0"
    if len(digits) > len(str(AMOUNT_LIMIT)):  # before int(): Python refuses huge strings
        raise PabulibError(f"{what} is too large (the limit is {AMOUNT_LIMIT - 1})", number)
    amount = int(digits)
    if amount <= 0:
        raise PabulibError(f"{what} is {amount}; it must be positive", number)
    if amount >= AMOUNT_LIMIT:
        raise PabulibError(
            f"{what} {amount} is too large (the limit is {AMOUNT_LIMIT - 1})", number
        )
    return amount


def _optional_int(value: str, what: str, number: int, allowed=None) -> int | None:
    value = value.strip()
    if not value or value.lower() == "none":
        return None
    if not value.isdigit() or not value.isascii():
        raise PabulibError(f"{what} '{value[:40]}' is not a whole number", number)
    if len(value) > 18:
        raise PabulibError(f"{what} is too large", number)
    result = int(value)
    if allowed is not None and result not in allowed:
        raise PabulibError(f"{what} is {result}; Pabulib allows {sorted(allowed)}", number)
    return result


def _header(cells: list[str], section: str, first: str, required: tuple, number: int) -> list[str]:
    names = [c.strip().lower() for c in cells]
    if not names or names[0] != first:
        raise PabulibError(
            f"the {section.upper()} header must begin with '{first}', not '{cells[0].strip()}'",
            number,
        )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PabulibError(f"the {section.upper()} header repeats {', '.join(duplicated)}", number)
    for name in required:
        if name not in names:
            raise PabulibError(f"the {section.upper()} header has no '{name}' column", number)
    return names


def parse(data: str | bytes, *, max_bytes: int = MAX_BYTES) -> Parsed:
    """Parse a Pabulib approval election; PabulibError (a ValueError) on anything wrong."""
    text = _decode(data, max_bytes)
    if "\x00" in text:
        raise PabulibError(
            "the file contains a NUL character", text.count("\n", 0, text.index("\x00")) + 1
        )
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise PabulibError("the file is empty")

    meta: dict[str, str] = {}
    meta_lines: dict[str, int] = {}
    projects: dict[str, Project] = {}
    ballots: list[tuple[str, ...]] = []
    voter_ids: list[str] = []
    seen_voters: set[str] = set()
    seen: list[str] = []
    section = ""
    header: list[str] | None = None
    header_line = 0
    columns: dict[str, int] = {}

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = _cells(line, number)
        first = cells[0].strip()
        if first.lower() in SECTIONS and len([c for c in cells if c.strip()]) == 1:
            name = first.lower()
            if header is None and section:
                raise PabulibError(f"the {section.upper()} section has no header line", number)
            if name in seen:
                raise PabulibError(f"the {name.upper()} section appears twice", number)
            expected = SECTIONS[len(seen)]
            if name != expected:
                raise PabulibError(
                    f"{name.upper()} where {expected.upper()} was expected; the sections are "
                    "META, PROJECTS, VOTES in this order",
                    number,
                )
            seen.append(name)
            section, header, header_line = name, None, number
            continue
        if not section:
            raise PabulibError("a line before the META section", number)
        if header is None:
            if section == "meta":
                names = [c.strip().lower() for c in cells]
                if names[:2] != ["key", "value"]:
                    raise PabulibError("the META header must be 'key;value'", number)
                header = names
            elif section == "projects":
                header = _header(cells, section, "project_id", ("cost",), number)
            else:
                header = _header(cells, section, "voter_id", ("vote",), number)
            columns = {name: i for i, name in enumerate(header)}
            continue

        if section == "meta":
            if len(cells) != 2:
                raise PabulibError(
                    f"a META line has {len(cells)} fields; it must be key;value", number
                )
            key = first
            if not key:
                raise PabulibError("a META line has an empty key", number)
            if key in meta:
                raise PabulibError(f"META {key} is given twice", number)
            meta[key] = cells[1].strip()
            meta_lines[key] = number
            continue

        if len(cells) != len(header):
            raise PabulibError(
                f"this {section.upper()} line has {len(cells)} fields; its header "
                f"(line {header_line + 1}) has {len(header)}",
                number,
            )
        if section == "projects":
            project_id = first
            if not project_id:
                raise PabulibError("a project has an empty project_id", number)
            if len(project_id) > MAX_ID_LENGTH or "," in project_id:
                raise PabulibError(
                    f"project_id '{project_id[:40]}' is not usable (longer than "
                    f"{MAX_ID_LENGTH} characters, or it contains a comma)",
                    number,
                )
            if project_id in projects:
                raise PabulibError(f"project_id {project_id} appears twice", number)
            if len(projects) >= MAX_PROJECTS:
                raise PabulibError(f"more than {MAX_PROJECTS} projects", number)
            projects[project_id] = Project(
                project_id=project_id,
                cost=_amount(cells[columns["cost"]], f"the cost of project {project_id}", number),
                name=cells[columns["name"]].strip() if "name" in columns else "",
                votes=_optional_int(
                    cells[columns["votes"]], f"the votes of project {project_id}", number
                )
                if "votes" in columns
                else None,
                selected=_optional_int(
                    cells[columns["selected"]],
                    f"'selected' of project {project_id}",
                    number,
                    allowed={0, 1, 2, 3},
                )
                if "selected" in columns
                else None,
            )
            continue

        # votes
        voter_id = first
        if not voter_id:
            raise PabulibError("a vote has an empty voter_id", number)
        if voter_id in seen_voters:
            raise PabulibError(f"voter_id {voter_id[:40]} appears twice", number)
        seen_voters.add(voter_id)
        vote = cells[columns["vote"]].strip()
        if not vote or vote.lower() == "none":
            raise PabulibError(f"voter {voter_id[:40]} approved no project", number)
        picks = tuple(p.strip() for p in vote.split(","))
        chosen: set[str] = set()
        for pick in picks:
            if not pick:
                raise PabulibError(
                    f"the vote of voter {voter_id[:40]} has an empty project id", number
                )
            if pick not in projects:
                raise PabulibError(
                    f"voter {voter_id[:40]} approves project {pick[:40]}, which is not in PROJECTS",
                    number,
                )
            if pick in chosen:
                raise PabulibError(f"voter {voter_id[:40]} lists project {pick[:40]} twice", number)
            chosen.add(pick)
        ballots.append(picks)
        voter_ids.append(voter_id)

    for name in SECTIONS:
        if name not in seen:
            raise PabulibError(f"the {name.upper()} section is missing")
    if header is None:
        raise PabulibError(f"the {section.upper()} section has no header line")
    if not projects:
        raise PabulibError("the PROJECTS section lists no project")

    vote_type = meta.get("vote_type", "")
    if not vote_type:
        raise PabulibError("META has no vote_type (Birge reads approval elections)")
    if vote_type.lower() != "approval":
        raise PabulibError(
            f"META vote_type is '{vote_type}'; Birge reads approval elections only",
            meta_lines["vote_type"],
        )
    if "budget" not in meta:
        raise PabulibError("META has no budget")
    budget = _amount(meta["budget"], "META budget", meta_lines["budget"])
    for project in projects.values():
        if project.cost > budget:
            raise PabulibError(
                f"project {project.project_id} costs {project.cost}, more than the budget {budget}"
            )
    for key, actual in (("num_projects", len(projects)), ("num_votes", len(ballots))):
        if key in meta:
            declared = _optional_int(meta[key], f"META {key}", meta_lines[key])
            if declared is not None and declared != actual:
                raise PabulibError(
                    f"META {key} is {declared} but the file has {actual}", meta_lines[key]
                )

    rule = meta.get("rule", "").strip().lower()
    if rule and rule not in RULES:
        raise PabulibError(
            f"META rule is '{meta['rule']}'; Birge computes 'greedy' and 'equalshares' "
            "(no rule reads as greedy)",
            meta_lines["rule"],
        )
    return Parsed(
        meta=meta,
        budget=budget,
        projects=tuple(projects.values()),
        ballots=tuple(ballots),
        voter_ids=tuple(voter_ids),
        meta_lines=meta_lines,
    )


# --- writing ----------------------------------------------------------------------------


def _row(cells: Iterable) -> str:
    out = []
    for cell in cells:
        # A line break inside a cell would split its line (pabutools reads line by line).
        text = _LINE_BREAKS.sub(" ", str(cell))
        if any(c in text for c in ';"') or text != text.strip():
            text = '"' + text.replace('"', '""') + '"'
        out.append(text)
    return ";".join(out)


def _natural(value: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", value)]


def dumps(parsed: Parsed) -> str:
    """The .pb text of `parsed`: parse(dumps(p)) == p for any Parsed p that parse() gave."""
    lines = ["META", "key;value"]
    lines += [_row((key, value)) for key, value in parsed.meta.items()]
    columns = ["project_id", "cost"]
    if any(p.votes is not None for p in parsed.projects):
        columns.append("votes")
    if any(p.name for p in parsed.projects):
        columns.append("name")
    if any(p.selected is not None for p in parsed.projects):
        columns.append("selected")
    lines += ["PROJECTS", ";".join(columns)]
    for p in parsed.projects:
        values = {
            "project_id": p.project_id,
            "cost": p.cost,
            "votes": "" if p.votes is None else p.votes,
            "name": p.name,
            "selected": "" if p.selected is None else p.selected,
        }
        lines.append(_row(values[c] for c in columns))
    lines += ["VOTES", "voter_id;vote"]
    lines += [_row((v, ",".join(b))) for v, b in zip(parsed.voter_ids, parsed.ballots, strict=True)]
    return "\n".join(lines) + "\n"


def _text(obj, name: str, language: str) -> str:
    for lang in (language, "ru", "kk", "en"):
        value = getattr(obj, f"{name}_{lang}", "")
        if value:
            return value
    return str(getattr(obj, name, "") or "")


def _date(value) -> str | None:
    return value.strftime("%d.%m.%Y") if value else None


def export(round, projects, ballots, outcome, *, language: str = "en", rng=None) -> Parsed:
    """The Parsed form of a Birge round (see write()); voter ids 1..n in a random order."""
    projects = list(projects)
    ids = {p.pk: str(p.pk) for p in projects}
    if projects and all(getattr(p, "pabulib_id", "") for p in projects):
        ids = {p.pk: p.pabulib_id for p in projects}  # an imported round keeps its ids
    rank = {pk: i for i, pk in enumerate(sorted(ids, key=lambda pk: _natural(ids[pk])))}
    counts = dict.fromkeys(ids, 0)
    rows = []
    for ballot in ballots:
        picks = sorted(set(ballot), key=rank.__getitem__)
        for pk in picks:
            counts[pk] += 1
        rows.append(tuple(ids[pk] for pk in picks))
    # Ballots leave the database in the order they were cast; shuffling them before numbering
    # keeps the export's voter_id from hinting at who voted when.
    (rng or random.SystemRandom()).shuffle(rows)
    funded = set(outcome.funded) if outcome is not None else None

    begin = getattr(round, "opened_at", None) or getattr(round, "opens_at", None)
    end = getattr(round, "closed_at", None) or getattr(round, "closes_at", None)
    district = getattr(round, "district", None)
    meta = {
        "description": _LINE_BREAKS.sub(" ", _text(round, "title", language)).strip(),
        "country": "Kazakhstan",
        "unit": "Almaty",
    }
    if district is not None:
        meta["subunit"] = meta["district"] = _text(district, "name", language).strip()
    meta["instance"] = str((begin or end).year) if (begin or end) else ""
    meta.update(
        num_projects=str(len(projects)),
        num_votes=str(len(rows)),
        budget=str(round.total_budget),
        vote_type="approval",
        rule=PABULIB_RULE[round.rule],
    )
    if begin:
        meta["date_begin"] = _date(begin)
    if end:
        meta["date_end"] = _date(end)
    meta["language"] = language
    if getattr(round, "min_projects", None):
        meta["min_length"] = str(round.min_projects)
    if getattr(round, "max_projects", None):
        meta["max_length"] = str(round.max_projects)
    meta["max_sum_cost"] = str(round.total_budget)
    meta["currency"] = "KZT"
    meta = {k: v for k, v in meta.items() if v != ""}

    ordered = sorted(projects, key=lambda p: _natural(ids[p.pk]))
    return Parsed(
        meta=meta,
        budget=round.total_budget,
        projects=tuple(
            Project(
                project_id=ids[p.pk],
                cost=p.cost,
                name=_LINE_BREAKS.sub(" ", _text(p, "title", language)).strip(),
                votes=counts[p.pk],
                selected=None if funded is None else int(p.pk in funded),
            )
            for p in ordered
        ),
        ballots=tuple(rows),
        voter_ids=tuple(str(i) for i in range(1, len(rows) + 1)),
    )


def write(round, projects, ballots, outcome, *, language: str = "en", rng=None) -> str:
    """A Birge round as a Pabulib approval election.

    `round` has total_budget, rule ("greedy"/"equal_shares"), title_<lang>, district (None or
    with name_<lang>), opened_at/opens_at, closed_at/closes_at, min_projects, max_projects;
    `projects` have pk, cost, title_<lang>, pabulib_id; `ballots` are iterables of project
    pks; `outcome` (the round's own rule's, or None before results exist) has `funded`, the
    funded project pks, and gives the `selected` column. Voter ids are 1..n in a random
    order: nothing in the file links a ballot to an account or to when it was cast.
    """
    return dumps(export(round, projects, ballots, outcome, language=language, rng=rng))
