"""The Content-Security-Policy (issue 10, "Headers"): on every response, strict (no inline script
or style), and the pages keep working under it in a real browser, live sockets included."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import ROOT, AsgiServer, migrate_and_seed, server_env

TEMPLATES = ROOT / "templates"


def directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/en/",
        "/en/polls/",
        "/en/initiatives/",
        "/en/dialogue/",
        "/en/accounts/login/",
        "/en/no-such-page/",
        "/api/v1/districts",
        "/api/v1/docs",
        "/admin/login/",
    ],
)
def test_finding_csp_on_every_page(path):
    response = Client().get(path)
    policy = directives(response["Content-Security-Policy"])
    for directive in ("script-src", "style-src", "default-src"):
        assert policy[directive] == ["'self'"], directive
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert "'self'" in policy["connect-src"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


INLINE = [
    (
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>"),
        "inline <script>",
    ),
    (re.compile(r"<style[\s>]"), "<style> block"),
    (re.compile(r"\sstyle=\""), "style attribute"),
    (re.compile(r"\son[a-z]+=\""), "event handler attribute"),
    (re.compile(r"javascript:"), "javascript: URL"),
]


def test_templates_hold_no_inline_script_or_style():
    found = []
    for path in sorted(Path(TEMPLATES).rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


# --- A real browser -------------------------------------------------------------------------

PROBE = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
from accounts.models import Role
from communities.models import Initiative
from dialogue.models import Session
from polls.models import Poll

def session_of(user):
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value

User = get_user_model()
official = User.objects.filter(groups__name=Role.OFFICIAL.value, is_active=True).first()
admin = User.objects.filter(is_superuser=True, is_active=True).first()
poll = Poll.objects.filter(status="open").order_by("pk").first()
print(json.dumps({
    "official": session_of(official),
    "admin": session_of(admin),
    "poll": poll.pk,
    "initiative": Initiative.objects.order_by("pk").first().pk,
    "session": Session.objects.order_by("pk").first().pk,
}))
"""

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    db = tmp_path_factory.mktemp("csp") / "db.sqlite3"
    # DEBUG off as in production (django-csp leaves DEBUG's error pages alone).
    env = server_env(
        DATABASE_URL=f"sqlite:///{db}", REDIS_URL="", BIRGE_DEMO_MODE="true", DJANGO_DEBUG="false"
    )
    migrate_and_seed(env)
    probe = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    ids = json.loads(probe.stdout.strip().splitlines()[-1])
    server = AsgiServer(env).start()
    yield server.url, ids
    server.stop()


def visit(context, url: str, *, socket: bool) -> list[str]:
    """Load `url`; the CSP violations and console errors it caused. With `socket`, also wait
    for a live socket to open and deliver a frame."""
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console: {m.text}")
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None
        ),
    )
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
    response = page.goto(url)
    assert response.status < 400, (url, response.status)
    assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()} or (
        "content-security-policy" in response.headers
    ), url
    page.wait_for_load_state("load")
    if socket:
        page.wait_for_function("true")  # let deferred scripts run
        for _ in range(100):
            if frames:
                break
            page.wait_for_timeout(100)
        assert frames, f"no live socket frame on {url}"
    page.wait_for_timeout(300)
    problems.extend(page.evaluate("window.__csp"))
    page.close()
    return problems


@pytest.mark.browser
@pytest.mark.server
def test_pages_run_under_the_csp_in_a_browser(browser, demo_server):
    url, ids = demo_server
    context = browser.new_context(locale="en-US")
    context.add_init_script(COLLECT_VIOLATIONS)
    problems = {}
    pages = [
        ("/en/", False),
        (f"/en/polls/{ids['poll']}/", True),
        (f"/en/initiatives/{ids['initiative']}/", True),
        ("/en/initiatives/map/", False),
        (f"/en/dialogue/sessions/{ids['session']}/", True),
        ("/en/accounts/login/", False),
        ("/api/v1/docs", False),
    ]
    for path, socket in pages:
        problems[path] = visit(context, url + path, socket=socket)
    context.close()

    official = browser.new_context(locale="en-US")
    official.add_init_script(COLLECT_VIOLATIONS)
    official.add_cookies([{"name": "sessionid", "value": ids["official"], "url": url}])
    for path, socket in [
        ("/en/dashboard/", True),
        (f"/en/dashboard/polls/{ids['poll']}/projector/", True),
        (f"/en/polls/manage/{ids['poll']}/", False),
    ]:
        problems[path] = visit(official, url + path, socket=socket)
    official.close()

    admin = browser.new_context(locale="en-US")
    admin.add_init_script(COLLECT_VIOLATIONS)
    admin.add_cookies([{"name": "sessionid", "value": ids["admin"], "url": url}])
    for path in ["/admin/", "/admin/polls/poll/", f"/admin/polls/poll/{ids['poll']}/change/"]:
        problems[path] = visit(admin, url + path, socket=False)
    admin.close()

    assert {path: found for path, found in problems.items() if found} == {}


@pytest.mark.browser
@pytest.mark.server
def test_the_bars_take_their_width_without_inline_styles(browser, demo_server):
    url, _ids = demo_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    # The home's bars: an open poll's leading choices and an initiative's way to review (the
    # demo initiative's page may be past gathering support, with no progress bar).
    page.goto(f"{url}/en/")
    bar = page.locator("main .bar-fill[data-width]").first
    expected = float(bar.get_attribute("data-width"))
    width = page.evaluate(
        "el => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width",
        bar.element_handle(),
    )
    assert abs(width * 100 - expected) < 1.5
    assert bar.get_attribute("style") is not None  # set by script (CSSOM), not by the HTML
    context.close()


def test_the_built_policy_is_django_csps_and_follows_the_settings(settings, rf):
    """civic.csp builds the header once: it must be the one django-csp builds, and a change
    of the settings must show at once."""
    from csp.constants import NONCE
    from csp.middleware import CSPMiddleware as DjangoCSP
    from django.http import HttpResponse

    from civic.csp import CSPMiddleware

    def header(middleware_class):
        request = rf.get("/")
        middleware = middleware_class(lambda r: HttpResponse())
        middleware.process_request(request)
        return middleware.process_response(request, HttpResponse())["Content-Security-Policy"]

    assert header(CSPMiddleware) == header(CSPMiddleware) == header(DjangoCSP)
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert header(CSPMiddleware) == header(DjangoCSP) == "default-src 'none'"

    # A response that used its nonce gets its own header, through django-csp.
    request = rf.get("/")
    middleware = CSPMiddleware(lambda r: HttpResponse())
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"script-src": ["'self'", NONCE]}}
    written = middleware.process_response(request, HttpResponse())["Content-Security-Policy"]
    assert f"'nonce-{nonce}'" in written
