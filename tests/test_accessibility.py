"""Every page in a real browser against axe-core: 0 violations, and screenshots of every role's
main pages on a phone (390×844) and a desktop (1366×900).

One embedded server (SQLite, no Redis) with the demo data of `seed_demo`. The catalogue of pages
is not a list kept by hand: for each role (anonymous, a new citizen, the demo citizen who is a
verified resident, the community lead, the official, the moderator) the site's own links are
followed from the home page and each signed-in role's usual start pages, one page per URL
pattern (resolved by Django), so a page added tomorrow is checked without touching this file.
Each page is loaded in one Chromium (Debian's), axe-core (node_modules, `npm ci`) is injected
and run with its default rules, and every violation is listed in the failure message with the
page, the role, the language and the viewport. axe's default rules, and WCAG 2.2's target size
(24 px), which axe leaves off by default and Lighthouse counts.

The desktop walk covers every page in English; the main pages are checked again in Kazakh,
Russian and English on a phone and on a desktop, and screenshotted into
var/test-artifacts/pages/<role>-<page>-<lang>-<phone|desktop>.png.

axe is added to each document by Playwright (an init script, outside the page's
Content-Security-Policy, which rightly refuses an inline script); the pages' own CSP stays on.
A request of a page answered with a server error (5xx) is reported beside axe's findings.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import CHROMIUM, ROOT, AsgiServer, server_env
from tests.test_server import _migrate_and_seed

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.axe]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

# role -> the demo account signed in (None: anonymous). "citizen" is a newcomer who signed up
# and has not verified residence; the demo citizen is a verified resident.
ROLES = {
    "anonymous": None,
    "citizen": "newcomer@demo.birge.kz",
    "resident": "citizen@demo.birge.kz",
    "lead": "lead@demo.birge.kz",
    "official": "official@demo.birge.kz",
    "moderator": "moderator@demo.birge.kz",
}

# Where each role's walk starts besides the home page (pages linked from nowhere public).
STARTS = {
    "anonymous": [
        "/en/accounts/login/",
        "/en/accounts/signup/",
        "/en/accounts/password/reset/",
        "/en/initiatives/map/",
    ],
    "citizen": [
        "/en/profile/",
        "/en/residents/",
        "/en/notifications/",
        "/en/communities/register/",
    ],
    "resident": [
        "/en/profile/",
        "/en/notifications/",
        "/en/initiatives/new/",
        "/en/accounts/email/",
        "/en/accounts/password/change/",
    ],
    "lead": ["/en/profile/", "/en/notifications/", "/en/initiatives/new/"],
    "official": [
        "/en/dashboard/",
        "/en/polls/manage/",
        "/en/budgets/manage/",
        "/en/audit/",
        "/en/residents/reports/",
        "/en/residents/census/",
        "/en/dialogue/sessions/new/",
        "/en/dashboard/exports/",
    ],
    "moderator": [
        "/en/dashboard/",
        "/en/communities/review/",
        "/en/initiatives/review/",
        "/en/dialogue/flags/",
        "/en/audit/",
    ],
}

# Pages each role's walk must reach: a walk that stops finding pages fails instead of passing.
MUST_REACH = {
    "anonymous": {
        "home",
        "polls:index",
        "polls:detail",
        "budgets:index",
        "budgets:detail",
        "initiatives:index",
        "initiatives:detail",
        "initiatives:map",
        "communities:index",
        "communities:detail",
        "dialogue:index",
        "dialogue:thread",
        "dialogue:session",
        "account_login",
        "account_signup",
        "account_reset_password",
    },
    "citizen": {"accounts:profile", "notifications:index", "residents:verify"},
    "resident": {
        "accounts:profile",
        "notifications:index",
        "polls:detail",
        "initiatives:new",
        "account_email",
        "account_change_password",
    },
    "lead": {"accounts:profile", "communities:detail", "communities:edit", "initiatives:new"},
    "official": {
        "dashboard:index",
        "dashboard:projector",
        "polls:manage_list",
        "polls:manage_create",
        "polls:manage_detail",
        "budgets:manage_list",
        "budgets:manage_detail",
        "audit:index",
        "dialogue:presenter",
        "initiatives:review",
    },
    "moderator": {"dashboard:index", "communities:review", "dialogue:flags"},
}

# Each role's main pages: checked in kk, ru and en on a phone and a desktop, and screenshotted.
# (Pages every role sees alike are the anonymous visitor's and the resident's.)
MAIN = {
    "anonymous": [
        "home",
        "polls:index",
        "polls:detail",
        "budgets:detail",
        "initiatives:index",
        "initiatives:detail",
        "dialogue:index",
        "account_login",
    ],
    "citizen": ["home", "accounts:profile", "residents:verify", "polls:detail"],
    "resident": [
        "home",
        "polls:detail",
        "budgets:detail",
        "initiatives:detail",
        "dialogue:session",
        "notifications:index",
        "accounts:profile",
    ],
    "lead": ["communities:detail", "communities:edit", "initiatives:new", "accounts:profile"],
    "official": [
        "dashboard:index",
        "dashboard:projector",
        "polls:manage_detail",
        "budgets:manage_detail",
        "dialogue:presenter",
        "initiatives:review",
    ],
    "moderator": ["dashboard:index", "communities:review", "dialogue:flags", "dialogue:session"],
}
# What the main pages get on each viewport: (language, axe, screenshot). English on the
# desktop had axe in the walk of every page.
VIEWS = {
    "phone": [("en", True, True), ("kk", True, True)],
    "desktop": [("en", False, True), ("ru", True, False)],
}

# URL patterns that are not pages: actions (POST only), files, feeds, and Django's admin.
NOT_PAGES = re.compile(
    r"(_action|:logo|:qr|:codes_print|export_download|export_status|:attachment|:photo"
    r"|:unsupport|:support|:join|:leave|:mark_all_read|:remove|account_logout|:set_language)$"
)
SKIP_PREFIXES = ("/admin/", "/api/", "/i18n/", "/media/", "/static/", "/ws/")


@dataclass
class Page:
    role: str
    name: str  # the URL pattern's name, e.g. "polls:detail"
    path: str  # under /en/
    status: int = 200  # a server error (5xx) when the walk met one


@dataclass
class Site:
    url: str
    sessions: dict[str, str | None]
    pages: dict[str, list[Page]] = field(default_factory=dict)  # role -> pages


_SESSIONS = """
import json
from allauth.account.models import EmailAddress
from django.test import Client
from accounts.models import User
newcomer = User.objects.filter(email="newcomer@demo.birge.kz").first()
if newcomer is None:
    newcomer = User.objects.create_user("newcomer@demo.birge.kz", None, display_name="Dana")
EmailAddress.objects.get_or_create(
    user=newcomer, email=newcomer.email, defaults={"verified": True, "primary": True})
keys = {}
for role, email in json.loads(ROLES).items():
    if email:
        client = Client()
        client.force_login(User.objects.get(email=email))
        keys[role] = client.cookies["sessionid"].value
print("SESSIONS=" + json.dumps(keys))
"""


def _sessions(env) -> dict[str, str]:
    code = _SESSIONS.replace("json.loads(ROLES)", f"json.loads({json.dumps(json.dumps(ROLES))})")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    line = next(ln for ln in out.splitlines() if ln.startswith("SESSIONS="))
    return json.loads(line.removeprefix("SESSIONS="))


_HREF = re.compile(r"""<a\b[^>]*?\bhref=["']([^"'#]+)""", re.IGNORECASE)


def _page_name(path: str) -> str | None:
    from django.urls import Resolver404, resolve

    if path.startswith(SKIP_PREFIXES) or not path.startswith("/en/"):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    name = match.view_name
    if not name or NOT_PAGES.search(name):
        return None
    return name


def _walk(url: str, role: str, session: str | None) -> list[Page]:
    """The role's pages: links followed from its start pages, one page per URL pattern."""
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)
    cookies = {"sessionid": session} if session else {}
    seen: dict[str, Page] = {}
    queue = deque(["/en/", *STARTS[role]])
    visited: set[str] = set()
    with httpx.Client(base_url=url, cookies=cookies, timeout=20) as http:
        while queue:
            path = queue.popleft()
            name = _page_name(path)
            if path in visited or name is None or name in seen:
                continue
            visited.add(path)
            answer = http.get(path)
            if answer.status_code >= 500:
                seen[name] = Page(role, name, path, answer.status_code)
                continue
            if answer.status_code != 200 or "text/html" not in answer.headers.get(
                "content-type", ""
            ):
                continue
            seen[name] = Page(role, name, path)
            for href in _HREF.findall(answer.text):
                target = urlsplit(urljoin(url + path, href.replace("&amp;", "&")))
                if target.netloc == urlsplit(url).netloc and target.path not in visited:
                    queue.append(target.path)
    return list(seen.values())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    db = tmp_path_factory.mktemp("a11y") / "db.sqlite3"
    env = server_env(DATABASE_URL=f"sqlite:///{db}", REDIS_URL="", LOG_LEVEL="WARNING")
    _migrate_and_seed(env)
    sessions = _sessions(env)
    server = AsgiServer(env).start()
    try:
        yield Site(server.url, {role: sessions.get(role) for role in ROLES})
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium():
    """One browser for the module (the conftest's `browser` is one per test)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield b
        finally:
            b.close()


def _context(browser, site: Site, role: str, viewport: dict, locale: str = "en-US"):
    context = browser.new_context(viewport=viewport, locale=locale)
    # Evaluated in every document before the page's own scripts, outside the page's CSP
    # (which rightly refuses inline scripts), and compiled once for the context.
    context.add_init_script(path=str(AXE))
    session = site.sessions[role]
    if session:
        context.add_cookies([{"name": "sessionid", "value": session, "url": site.url}])
    return context


_RUN_AXE = """async () => {
  const result = await axe.run(document, {
    resultTypes: ["violations"],
    // WCAG 2.2's 24 px targets too (off in axe's defaults; Lighthouse counts it).
    rules: {"target-size": {enabled: true}},
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    count: v.nodes.length,
    targets: v.nodes.slice(0, 4).map(n => n.target.join(" ")),
  }));
}"""


def _axe(page, url: str) -> list[dict]:
    """axe's violations on the page at `url`, and a server error of the page or of anything
    it loads (a script, a style sheet, a fragment) as a violation too."""
    failed: list[str] = []

    def on_response(response):
        if response.status >= 500:
            failed.append(f"{response.status} {urlsplit(response.url).path}")

    page.on("response", on_response)
    try:
        answer = page.goto(url, wait_until="load")
        assert answer is not None and answer.status == 200, f"{url}: {answer and answer.status}"
        violations = page.evaluate(_RUN_AXE)
    finally:
        page.remove_listener("response", on_response)
    if failed:
        violations.append(_server_error(failed))
    return violations


def _server_error(failed: list[str]) -> dict:
    return {
        "id": "server-error",
        "impact": "critical",
        "help": "the server answered with an error",
        "count": len(failed),
        "targets": failed[:4],
    }


def _report(found: list[tuple[str, list[dict]]]) -> str:
    lines = []
    for where, violations in found:
        for v in violations:
            lines.append(
                f"{where}: {v['id']} ({v['impact']}, {v['count']}×) {v['help']} — "
                + "; ".join(v["targets"])
            )
    return "\n".join(lines)


def _shot_name(role: str, name: str, lang: str, size: str) -> str:
    return f"{role}-{name.replace(':', '-')}-{lang}-{size}.png"


def _pages(site: Site, role: str) -> list[Page]:
    if role not in site.pages:
        site.pages[role] = _walk(site.url, role, site.sessions[role])
    return site.pages[role]


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_has_no_axe_violations(chromium, site, role, artifacts_dir):
    """Desktop, English: every page the role reaches; its main pages screenshotted."""
    pages = _pages(site, role)
    missed = (MUST_REACH[role] | set(MAIN[role])) - {p.name for p in pages}
    context = _context(chromium, site, role, DESKTOP)
    page = context.new_page()
    found = [
        (f"{p.path} as {role}", [_server_error([f"{p.status} {p.path}"])])
        for p in pages
        if p.status != 200
    ]
    try:
        for p in pages:
            if p.status != 200:
                continue
            violations = _axe(page, site.url + p.path)
            if violations:
                found.append((f"{p.path} as {role}, desktop", violations))
    finally:
        context.close()
    assert not found, "axe violations:\n" + _report(found)
    assert not missed, f"the walk as {role} did not reach {sorted(missed)}"


def _main_pages(site: Site, role: str) -> list[Page]:
    by_name = {p.name: p for p in _pages(site, role) if p.status == 200}
    return [by_name[name] for name in MAIN[role] if name in by_name]


@pytest.mark.parametrize("role", list(ROLES))
def test_main_pages_in_every_language_on_phone_and_desktop(chromium, site, role, artifacts_dir):
    """The role's main pages in kk, ru and en on a phone and a desktop (each language on at
    least one, English on both): axe, and screenshots."""
    shots = artifacts_dir / "pages"
    shots.mkdir(exist_ok=True)
    for old in shots.glob(f"{role}-*.png"):  # a page no longer main leaves no stale picture
        old.unlink()
    main = _main_pages(site, role)
    assert main, f"{role} has no main pages"
    found = []
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = _context(chromium, site, role, viewport)
        page = context.new_page()
        try:
            for lang, audit, shoot in VIEWS[size]:
                for p in main:
                    path = "/" + lang + p.path.removeprefix("/en")
                    if audit:
                        violations = _axe(page, site.url + path)
                        if violations:
                            found.append((f"{path} as {role}, {size}", violations))
                    else:
                        page.goto(site.url + path, wait_until="load")
                    if shoot:
                        name = _shot_name(role, p.name, lang, size)
                        page.screenshot(path=str(shots / name), full_page=True)
        finally:
            context.close()
    assert not found, "axe violations:\n" + _report(found)


# Forms sent empty (the browser's own checks off): the page that answers, with its error
# summary and marked fields, has no violations either. (role, URL pattern) of the walk.
FORMS = [
    ("anonymous", "account_login"),
    ("anonymous", "account_signup"),
    ("anonymous", "account_reset_password"),
    ("citizen", "communities:register"),
    ("lead", "initiatives:new"),
    ("resident", "account_change_password"),
    ("official", "polls:manage_create"),
    ("official", "budgets:manage_create"),
    ("official", "dialogue:session_new"),
]


SUBMIT = "button:not([type=button]):not([type=reset]), input[type=submit]"
ERROR_SHOWN = ".error-summary, .errorlist, .field-error, .error, [aria-invalid=true]"


def test_forms_sent_empty_answer_without_violations(chromium, site):
    found, missing = [], []
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        for role, name in FORMS:
            pages = {p.name: p for p in _pages(site, role) if p.status == 200}
            if name not in pages:
                missing.append(f"{name} as {role}")
                continue
            context = _context(chromium, site, role, viewport)
            page = context.new_page()
            try:
                page.goto(site.url + pages[name].path, wait_until="load")
                form = page.locator(f"main form[method=post i]:has({SUBMIT})")
                if not form.count():
                    missing.append(f"a form on {name} as {role}")
                    continue
                form = form.last
                form.evaluate("f => { f.noValidate = true; }")
                with page.expect_response(lambda r: r.request.method == "POST") as answer:
                    form.locator(SUBMIT).last.click()
                status = answer.value.status
                page.wait_for_load_state("load")
                # The refusal shown (a new page, or the form marked in place by a script).
                page.locator(ERROR_SHOWN).first.wait_for(timeout=5000)
                violations = page.evaluate(_RUN_AXE)
                if status >= 500:
                    violations.append(_server_error([f"{status} {page.url}"]))
                if violations:
                    found.append((f"{pages[name].path} sent empty as {role}, {size}", violations))
            finally:
                context.close()
    assert not found, "axe violations:\n" + _report(found)
    assert not missing, f"not found: {sorted(set(missing))}"


def test_axe_reports_what_it_finds(chromium, site):
    """The harness can fail: an image without a text alternative and a button without a name,
    added to the home page, are reported with their rule and element."""
    context = _context(chromium, site, "anonymous", PHONE)
    page = context.new_page()
    try:
        assert _axe(page, site.url + "/en/") == []
        page.evaluate(
            """() => {
              const main = document.querySelector("main");
              main.insertAdjacentHTML("beforeend",
                '<img id="planted-img" src="data:,"><button id="planted-button"></button>');
            }"""
        )
        found = {v["id"]: v["targets"] for v in page.evaluate(_RUN_AXE)}
    finally:
        context.close()
    assert found.get("image-alt") == ["#planted-img"]
    assert found.get("button-name") == ["#planted-button"]
