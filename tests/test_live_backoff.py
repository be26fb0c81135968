"""Live pages back off while their socket brings nothing.

Each live page (poll results, an initiative, a Q&A session) runs in a real browser against a
real server, with a stand-in WebSocket that opens and is closed at once, as during an
outage behind a proxy; the browser's clock is Playwright's, so a minute passes in
milliseconds and deterministically. The back-off starts over only after a snapshot.
"""

import itertools
import subprocess
import sys

import pytest

from tests.conftest import ROOT, AsgiServer, migrate_and_seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.server]

# A WebSocket that opens, optionally sends one frame, and is closed by the "server" at once.
# Every construction is counted with the page's (fake) clock.
FAKE_SOCKET = """
window.__attempts = [];
window.__frame = null;
class FakeSocket {
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    window.__attempts.push(Date.now());
    setTimeout(() => {
      this.readyState = 1;
      if (this.onopen) this.onopen({});
      setTimeout(() => {
        if (window.__frame && this.onmessage) {
          this.onmessage({data: JSON.stringify(window.__frame)});
        }
        this.readyState = 3;
        if (this.onclose) this.onclose({code: 1006});
      }, 0);
    }, 0);
  }
  send() {}
  close() { this.readyState = 3; }
}
FakeSocket.CONNECTING = 0; FakeSocket.OPEN = 1; FakeSocket.CLOSING = 2; FakeSocket.CLOSED = 3;
window.WebSocket = FakeSocket;
"""

MAKE_PAGES = """
from tests.factories import make_initiative, make_poll, make_session
print(make_poll().pk, make_initiative(status="submitted").pk, make_session().pk)
"""


@pytest.fixture(scope="module")
def live_pages(tmp_path_factory):
    db = tmp_path_factory.mktemp("backoff") / "db.sqlite3"
    env = server_env(DATABASE_URL=f"sqlite:///{db}", REDIS_URL="")
    migrate_and_seed(env, seed=False)
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", MAKE_PAGES],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    poll, initiative, session = made.stdout.split()[-3:]
    server = AsgiServer(env).start()
    yield {
        "results": f"{server.url}/en/polls/{poll}/",
        "initiative": f"{server.url}/en/initiatives/{initiative}/",
        "questions": f"{server.url}/en/dialogue/sessions/{session}/",
    }
    server.stop()


def _attempts(browser, url: str, *, seconds: int, frame: dict | None = None) -> list[int]:
    """When (ms after the first) the page opened a socket, over `seconds` of page time."""
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(FAKE_SOCKET)
    page.clock.install()
    page.goto(url)
    if frame is not None:
        page.evaluate("frame => { window.__frame = frame; }", frame)
    page.wait_for_function("window.__attempts.length >= 1")
    page.clock.run_for(seconds * 1000)
    times = page.evaluate("window.__attempts")
    context.close()
    return [t - times[0] for t in times]


@pytest.mark.parametrize("live", ["results", "initiative", "questions"])
def test_finding_live_pages_back_off(browser, live_pages, live):
    times = _attempts(browser, live_pages[live], seconds=60)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Waits of 0.5-1 s, 1-2 s, 2-4 s, 4-8 s, 8-16 s, then 15-30 s: 6 to 8 sockets in a
    # minute (a back-off reset on every open reconnects every 0.5-1 s: 60 or more).
    assert 6 <= len(times) <= 8, times
    # Each wait in its own range: two waits at the touching ends of neighbouring ranges may
    # come out equal, give or take the page's own milliseconds.
    for i, gap in enumerate(gaps[:5]):
        assert 500 * 2**i <= gap <= 1000 * 2**i + 500, gaps
    assert gaps[-1] >= 8000, gaps


def test_a_snapshot_starts_the_back_off_over(browser, live_pages):
    # The same socket, but the server's snapshot arrives before it closes: the page got the
    # state, so it reconnects soon again, every 0.5-1 s.
    frame = {"type": "questions.snapshot", "seq": 1, "payload": {}}
    times = _attempts(browser, live_pages["questions"], seconds=10, frame=frame)
    assert len(times) >= 10, times
