"""Three languages: complete catalogues, every page in kk/ru/en, the switcher remembers."""

import ast
import gettext
import re
from html.parser import HTMLParser

import pytest

from tests.conftest import ROOT
from tests.factories import CommunityFactory

pytestmark = pytest.mark.django_db

LANGS = ["kk", "ru", "en"]
PUBLIC_PAGES = [
    "/{lang}/",
    "/{lang}/polls/",
    "/{lang}/budgets/",
    "/{lang}/initiatives/",
    "/{lang}/communities/",
    "/{lang}/dialogue/",
    "/{lang}/accounts/login/",
    "/{lang}/accounts/signup/",
    "/{lang}/accounts/password/reset/",
    "/{lang}/accounts/password/reset/done/",
    "/{lang}/accounts/confirm-email/",
]
CITIZEN_PAGES = [
    "/{lang}/profile/",
    "/{lang}/accounts/logout/",
    "/{lang}/accounts/email/",
    "/{lang}/accounts/password/change/",
]
# Latin words that are right in any language: names, acronyms, the brand, addresses.
ALLOWED_LATIN = {
    "birge",
    "api",
    "openapi",
    "english",
    "mail",
    "kz",
    "example",
    "https",
    "http",
    "testserver",
    # Language codes beside a language's name (the translations fields: "Атауы (Қазақша, kk)").
    "kk",
    "ru",
    "en",
}


class VisibleText(HTMLParser):
    """Collects text a person sees or hears: text nodes and labelling attributes."""

    SKIP = {"script", "style"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._lang_stack: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.SKIP:
            self._skip += 1
        # A lang attribute marks deliberate foreign text (the language switcher's "English").
        if attrs.get("lang") in {"en", "kk", "ru"} and tag != "html":
            self._lang_stack.append(tag)
        for name in ("aria-label", "placeholder", "title", "alt"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip -= 1
        if self._lang_stack and self._lang_stack[-1] == tag:
            self._lang_stack.pop()

    def handle_data(self, data):
        if not self._skip and not self._lang_stack:
            self.parts.append(data)


def latin_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses
    words = {w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)}
    return words - ALLOWED_LATIN


def _pages(client, pages, lang):
    for template in pages:
        url = template.format(lang=lang)
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
        assert f'<html lang="{lang}">' in html, url
        yield url, html


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_renders_in_each_language(client, citizen, lang):
    # What users write may be in any language; the check is about the interface.
    CommunityFactory(name="Green Almaty", description="Жасыл Алматы")
    seen = list(_pages(client, PUBLIC_PAGES, lang))
    client.force_login(citizen)
    seen += list(_pages(client, CITIZEN_PAGES, lang))
    assert len(seen) == len(PUBLIC_PAGES) + len(CITIZEN_PAGES)
    if lang == "en":
        return
    for url, html in seen:
        leftovers = latin_words(html) - {"green", "almaty", "citizen"}
        assert not leftovers, f"untranslated words on {url} in {lang}: {sorted(leftovers)}"


@pytest.mark.parametrize("lang", LANGS)
def test_budget_pages_render_in_each_language(client, citizen, lang):
    """A round's ballot, its results with reasons, and the officials' pages, in kk/ru/en."""
    from django.utils import timezone

    from budgets.models import BudgetOutcome
    from budgets.services import ballot_cast, forget_round_meta, round_close
    from tests.budgets.test_views import ids, make_round
    from tests.factories import OfficialFactory

    forget_round_meta()
    official = OfficialFactory()
    open_round = make_round(official=official, allow_ballot_change=True)
    ballot_cast(actor=citizen, round_id=open_round.pk, project_ids=ids(open_round)[:1])
    closed = make_round(official=official, rule="equal_shares")
    round_close(actor=official, round_id=closed.pk)
    a, b, c = ids(closed)
    rows = [
        {"id": a, "votes": 2, "funded": True, "reason": "funded", "reason_data": {}},
        {"id": b, "votes": 1, "funded": False, "reason": "not_funded_supporters_spent",
         "reason_data": {"spent_on": [a]}},
        {"id": c, "votes": 0, "funded": False, "reason": "no_votes", "reason_data": {}},
    ]  # fmt: skip
    for rule, primary in (("equal_shares", True), ("greedy", False)):
        BudgetOutcome.objects.update_or_create(
            round=closed, rule=rule,
            defaults={"is_primary": primary, "funded": [a], "spent": 400_000_000, "projects": rows,
                      "ballots": 2, "inputs_hash": "x" * 64, "computed_at": timezone.now()},
        )  # fmt: skip
    draft = make_round(official=official, open_now=False)
    client.force_login(citizen)
    seen = list(_pages(client, [f"/{{lang}}/budgets/{open_round.pk}/"], lang))
    seen += list(_pages(client, [f"/{{lang}}/budgets/{closed.pk}/"], lang))
    client.force_login(official)
    manage = [
        "/{lang}/budgets/manage/",
        "/{lang}/budgets/manage/new/",
        f"/{{lang}}/budgets/manage/{draft.pk}/",
        f"/{{lang}}/budgets/manage/{draft.pk}/edit/",
        f"/{{lang}}/budgets/manage/{closed.pk}/",
        "/{lang}/dashboard/",
    ]
    seen += list(_pages(client, manage, lang))
    assert len(seen) == 8
    if lang == "en":
        return
    for url, html in seen:
        leftovers = latin_words(html) - {"almaty", "citizen"}
        assert not leftovers, f"untranslated words on {url} in {lang}: {sorted(leftovers)}"


def test_the_latin_word_check_catches_english():
    assert latin_words("<main><p>Sign in</p></main>") == {"sign", "in"}
    assert latin_words('<main><button lang="en">English</button><p>Кіру</p></main>') == set()


def _unescape(po_string: str) -> str:
    return ast.literal_eval(f'"{po_string}"')


def _po_entries(path):
    """(msgid, msgstr-joined) for every entry of a .po file but the header."""
    entries, current = [], {}
    key = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current.get("msgid") is not None and current["msgid"] != "":
                entries.append(current)
            current, key = {}, None
            continue
        if line.startswith("#,") and "fuzzy" in line:
            current["fuzzy"] = True
        if line.startswith("#"):
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?)\s+"(.*)"$', line)
        if m:
            key = m.group(1)
            current[key] = current.get(key, "") + m.group(2)
        elif line.startswith('"') and key:
            current[key] += line[1:-1]
    return entries


@pytest.mark.parametrize(
    "catalogue",
    ["locale/kk", "locale/ru", "locale_thirdparty/kk"],
)
def test_catalogues_are_complete_and_compiled(catalogue):
    po = ROOT / catalogue / "LC_MESSAGES" / "django.po"
    mo = ROOT / catalogue / "LC_MESSAGES" / "django.mo"
    entries = _po_entries(po)
    assert entries
    untranslated = [
        e["msgid"]
        for e in entries
        if e.get("fuzzy") or not any(v for k, v in e.items() if k.startswith("msgstr"))
    ]
    assert untranslated == []
    # The committed .mo is what runs without GNU gettext: it must match the .po.
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for e in entries:
        if "msgid_plural" in e or "msgctxt" in e:
            continue
        expected = _unescape(e["msgstr"])
        actual = compiled.gettext(_unescape(e["msgid"]))
        assert actual == expected, f"{catalogue}: stale .mo for {e['msgid']!r}"


def test_switcher_changes_language_and_returns_to_the_same_page(client):
    response = client.post("/i18n/setlang/", {"language": "kk", "next": "/en/communities/"})
    assert response.status_code == 302
    assert response["Location"] == "/kk/communities/"
    assert client.cookies["django_language"].value == "kk"
    # An unprefixed address now resolves to Kazakh.
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/kk/"


def test_switcher_rejects_unknown_language(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/en/"})
    assert response.status_code == 400
    assert "django_language" not in client.cookies


def test_signed_in_users_language_is_remembered(client, citizen):
    client.force_login(citizen)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/en/"})
    citizen.refresh_from_db()
    assert citizen.preferred_language == "ru"
    # On another device (no cookie) the saved choice wins over the browser's guess.
    other = type(client)()
    other.force_login(citizen)
    assert other.get("/", HTTP_ACCEPT_LANGUAGE="en")["Location"] == "/ru/"
    # An explicit language in the address still wins.
    assert '<html lang="en">' in other.get("/en/").content.decode()


def test_accept_language_picks_the_first_page(client):
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="kk,ru;q=0.8")["Location"] == "/kk/"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")["Location"] == "/en/"


@pytest.mark.parametrize(
    ("lang", "amount"),
    [
        ("kk", "1\xa0850\xa0000\xa0000 ₸"),
        ("ru", "1\xa0850\xa0000\xa0000 ₸"),
        ("en", "1,850,000,000 ₸"),
    ],
)
def test_budgets_are_grouped_the_way_each_language_writes_numbers(client, lang, amount):
    from tests.factories import make_initiative

    initiative = make_initiative(budget_kzt="1850000000")
    page = client.get(f"/{lang}/initiatives/{initiative.pk}/").content.decode()
    assert amount in page


# --- Numbers, dates, plurals and contexts in each language ------------------------------------


@pytest.mark.parametrize(
    ("lang", "total", "share", "whole"),
    [
        ("kk", "1\xa0234\xa0567", "31,1\u202f%", "40\u202f%"),
        ("ru", "1\xa0234\xa0567", "31,1\u202f%", "40\u202f%"),
        ("en", "1,234,567", "31.1\u202f%", "40\u202f%"),
    ],
)
def test_number_and_percent_filters_write_each_languages_numbers(lang, total, share, whole):
    from django.template import Context, Template
    from django.utils import translation

    from civic.templatetags.numbers import format_number, format_percent

    template = Template(
        "{% load numbers %}{{ n|number }}|{{ p|percent }}|{{ w|percent:0 }}|{{ x|percent }}"
    )
    with translation.override(lang):
        out = template.render(Context({"n": 1234567, "p": 31.06, "w": 40, "x": None}))
    assert out == f"{total}|{share}|{whole}|—"
    # Python code formats the same way, in a language it names.
    assert format_number(1234567, lang=lang) == total
    assert format_percent(31.06, lang=lang) == share
    assert format_number("1234.5", lang=lang) == ("1,234.50" if lang == "en" else "1\xa0234,50")


def test_dashboard_and_budget_formatting_use_the_one_percent_function():
    from budgets import views as budget_views
    from dashboard import views as dashboard_views

    assert dashboard_views.percent(69.23, "kk") == "69,2\u202f%"
    assert dashboard_views.percent(69.23, "en") == "69.2\u202f%"
    assert not hasattr(budget_views, "percent")  # one function, in civic


def test_kazakh_dates_read_year_day_month():
    import datetime

    from django.template import Context, Template
    from django.utils import translation

    when = datetime.datetime(2026, 12, 6, 14, 30)
    template = Template('{{ d|date:"DATE_FORMAT" }}|{{ d|date:"DATETIME_FORMAT" }}')
    with translation.override("kk"):
        assert template.render(Context({"d": when})) == (
            "2026 жылғы 6 желтоқсан|2026 жылғы 6 желтоқсан, 14:30"
        )
        # Lowercase month names come from locale_thirdparty (Django's kk has them capitalised).
        assert translation.pgettext("alt. month", "March") == "наурыз"
    with translation.override("ru"):
        assert template.render(Context({"d": when})).startswith("6 декабря 2026")


def test_a_poll_page_shows_dates_and_shares_in_the_readers_language(client):
    from django.utils import timezone

    from polls.services import vote_cast
    from tests.factories import UserFactory, choice_ids, make_poll

    closes = timezone.make_aware(timezone.datetime(2030, 1, 6, 18, 0))
    poll = make_poll(results_visibility="live", closes_at=closes)
    first, second, _third = choice_ids(poll)
    for choice in (first, second, second):
        vote_cast(poll_id=poll.pk, choice_ids=[choice], user=UserFactory())
    kk = client.get(f"/kk/polls/{poll.pk}/").content.decode()
    assert "33,3\u202f%" in kk and "66,7\u202f%" in kk
    assert not re.search(r">\s*33\.3", kk)  # data-width="33.3" is CSS, not text
    assert "2030 жылғы 6 қаңтар, 18:00" in kk
    en = client.get(f"/en/polls/{poll.pk}/").content.decode()
    assert "33.3\u202f%" in en


@pytest.mark.parametrize(
    ("n", "phrase"),
    [
        (1, "обсуждение ждёт официального ответа"),
        (3, "обсуждения ждут официального ответа"),
        (5, "обсуждений ждут официального ответа"),
    ],
)
def test_russian_counts_agree_with_their_number_on_the_dashboard(client, official, n, phrase):
    from dialogue.services import comment_post
    from tests.factories import UserFactory, make_thread

    for i in range(n):
        author = UserFactory()
        thread = make_thread(author=author, title=f"Тема {i}")
        comment_post(actor=author, thread_id=thread.pk, body="Когда починят дорогу?")
    client.force_login(official)
    html = client.get("/ru/dashboard/").content.decode()
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"\s+", " ", text)
    assert f"{n} {phrase}" in text


def test_ambiguous_short_words_are_translated_by_context():
    from django.utils import translation

    with translation.override("kk"):
        # "Title" of an initiative is its name, not a question («Сұрақ»).
        assert translation.pgettext("initiative", "Title") == "Атауы"
        assert translation.pgettext("discussion", "Title") == "Тақырып"
        assert translation.pgettext("person", "Name") == "Аты-жөні"
        assert translation.gettext("Upvote") == "Қолдау"
        assert translation.gettext("Withdrawn") == "Қайтарып алынды"
        assert translation.gettext("Live") == "Нақты уақытта"
    with translation.override("ru"):
        assert translation.pgettext("discussion", "Title") == "Тема"
        assert translation.gettext("Progress") == "Ход выполнения"


def test_the_initiative_form_labels_the_title_as_a_title_in_kazakh(client):
    from django.utils import translation

    from communities.forms import InitiativeForm

    with translation.override("kk"):
        label = str(InitiativeForm.base_fields["title"].label)
    assert label == "Атауы"
    assert label != "Сұрақ"


def _catalogue_keys(path):
    """(msgctxt, msgid, plural?) of every entry of a .po file but the header."""
    keys = []
    for e in _po_entries(path):
        keys.append((_unescape(e["msgctxt"]) if "msgctxt" in e else None,
                     _unescape(e["msgid"]), "msgid_plural" in e))  # fmt: skip
    return keys


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_django_admin_is_complete_in_kazakh(domain):
    """Every string of Django's admin has a kk translation through LOCALE_PATHS, so the
    admin in Kazakh never falls back to Russian (LANGUAGE_CODE) or English."""
    from pathlib import Path

    import django
    from django.utils.translation import trans_real

    admin_en = Path(django.__file__).parent / "contrib/admin/locale/en/LC_MESSAGES" / f"{domain}.po"
    keys = _catalogue_keys(admin_en)
    assert len(keys) > 60
    trans_real._translations = {}
    if domain == "django":
        catalog = trans_real.DjangoTranslation("kk")._catalog
    else:
        catalog = trans_real.DjangoTranslation("kk", domain="djangojs")._catalog
    missing = []
    for ctx, msgid, plural in keys:
        key = f"{ctx}\x04{msgid}" if ctx else msgid
        found = catalog.get((key, 0) if plural else key)
        if not found:
            missing.append(msgid)
    assert missing == []


def test_the_admin_speaks_kazakh_not_russian(client):
    from tests.factories import UserFactory

    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    client.cookies["django_language"] = "kk"
    html = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="kk").content.decode()
    assert '<html lang="kk"' in html
    assert "Соңғы әрекеттер" in html and "Сайтты ашу" in html  # missing from Django's kk
    assert "Последние действия" not in html and "Открыть сайт" not in html


GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext",
                 "ngettext_lazy", "npgettext", "_lazy"}  # fmt: skip


def test_no_translated_string_hides_inside_an_f_string():
    """xgettext does not look inside f-strings: a string there never reaches the catalogues
    and shows in English in kk and ru."""
    hidden = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith((".venv/", "tests/", "bench/", "var/", "node_modules/")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr):
                continue
            for inner in ast.walk(node):
                if (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name)
                        and inner.func.id in GETTEXT_NAMES):  # fmt: skip
                    hidden.append(f"{rel}:{inner.lineno}")
    assert hidden == []


def test_templates_write_dates_and_percentages_one_way():
    """Dates by the language's DATE_FORMAT/DATETIME_FORMAT (kk reads year, day, month), and
    the percent filter carries its own sign."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT).as_posix()
        if re.search(r'date:"j E Y', text):
            offenders.append(f"{rel}: a fixed 'j E Y' date")
        if re.search(r"\|percent(:\d+)?\s*\}\}(</span>)?\s*(&#8239;|\s)?%", text):
            offenders.append(f"{rel}: a second % after the percent filter")
    assert offenders == []
