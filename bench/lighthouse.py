"""Lighthouse on Birge's main pages, mobile emulation: `python -m bench.lighthouse`.

    python -m bench.lighthouse                 # every page once
    python -m bench.lighthouse --runs 3        # each page three times, the median score
    python -m bench.lighthouse --pages home poll --lang kk

The embedded server (one uvicorn process, SQLite, no Redis, DEBUG off: what `make run` serves)
on a scratch database with `seed_demo`'s demo data. Lighthouse comes from npm (`npm ci` at the
repository root: node_modules/.bin/lighthouse, pinned in package-lock.json) and drives Debian's
Chromium (CHROME_PATH, default /usr/bin/chromium, --headless=new --no-sandbox) with its default
settings: a mid-range phone (mobile emulation) on simulated slow 4G.

Pages: the anonymous home, a live poll, the initiatives and the City Dialogue; signed in (a
session cookie sent with Lighthouse's --extra-headers), the officials' dashboard (the demo
official) and, as the demo citizen (a verified resident), the People's Budget round, the
notifications and the profile. The poll and the round are the first ones their list links to.

Prints a table of the four categories per page and writes bench/results/lighthouse-<time>.json
and lighthouse-latest.json: the scores and, per page, the audits that cost points (id, title,
score, what Lighthouse shows). Target: performance, accessibility and best practices >= 95 on
every page, 100 on the anonymous ones; the table flags each page PASS/FAIL. Not a test: the
performance score depends on the machine (a busy machine scores lower).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
SHORT = {"performance": "perf", "accessibility": "a11y", "best-practices": "best", "seo": "seo"}

# name -> (role, path under /<lang>/, or a list page whose first link matching the pattern)
PAGES = {
    "home": ("anonymous", "/"),
    "poll": ("anonymous", ("/polls/", r"/polls/(\d+)/")),
    "initiatives": ("anonymous", "/initiatives/"),
    "dialogue": ("anonymous", "/dialogue/"),
    "dashboard": ("official", "/dashboard/"),
    "budget": ("resident", ("/budgets/", r"/budgets/(\d+)/")),
    "notifications": ("resident", "/notifications/"),
    "profile": ("resident", "/profile/"),
}
ACCOUNTS = {"official": "official@demo.birge.kz", "resident": "citizen@demo.birge.kz"}
# The targets: every signed-in page >= 95 in these; the anonymous ones 100.
TARGET = {"performance": 95, "accessibility": 95, "best-practices": 95}
TARGET_ANONYMOUS = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(env: dict) -> dict[str, str]:
    """Migrate and seed the scratch database; sessions of the signed-in roles."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import io

    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    sessions = {}
    for role, email in ACCOUNTS.items():
        client = Client()
        client.force_login(User.objects.get(email=email))
        sessions[role] = client.cookies["sessionid"].value
    return sessions


def _resolve(url: str, lang: str, where, session: str | None) -> str:
    if isinstance(where, str):
        return f"/{lang}{where}"
    import httpx

    listing, pattern = where
    cookies = {"sessionid": session} if session else {}
    html = httpx.get(f"{url}/{lang}{listing}", cookies=cookies, timeout=30).text
    found = re.search(rf'href="(/{lang}{pattern})"', html)
    if not found:
        raise SystemExit(f"no link matching {pattern} on {listing}")
    return found.group(1)


def _lighthouse(url: str, session: str | None, out: Path) -> dict:
    cmd = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    if session:
        cmd.append("--extra-headers=" + json.dumps({"Cookie": f"sessionid={session}"}))
    for attempt in (1, 2, 3):
        # Lighthouse now and then loses the trace on a busy machine (NO_NAVSTART): again.
        done = subprocess.run(cmd, env={**os.environ, "CHROME_PATH": CHROME}, timeout=300)
        if done.returncode == 0:
            return json.loads(out.read_text())
        print(f"  lighthouse failed on {url} (attempt {attempt})", flush=True)
    raise SystemExit(f"lighthouse failed three times on {url}")


def _summary(report: dict) -> dict:
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    losses = {}
    for c in CATEGORIES:
        items = []
        for ref in report["categories"][c]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1:
                items.append(
                    {
                        "id": ref["id"],
                        "title": audit["title"],
                        "score": audit["score"],
                        "weight": ref["weight"],
                        "shown": audit.get("displayValue", ""),
                    }
                )
        if items:
            losses[c] = items
    metrics = {
        k: report["audits"][k].get("displayValue", "")
        for k in (
            "first-contentful-paint",
            "largest-contentful-paint",
            "total-blocking-time",
            "cumulative-layout-shift",
            "speed-index",
        )
        if k in report["audits"]
    }
    return {"scores": scores, "losses": losses, "metrics": metrics}


def _passes(role: str, scores: dict) -> bool:
    if role == "anonymous":
        return all(scores[c] >= TARGET_ANONYMOUS for c in TARGET)
    return all(scores[c] >= t for c, t in TARGET.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per page (median score)")
    parser.add_argument("--lang", default="en", choices=["kk", "ru", "en"])
    parser.add_argument("--pages", nargs="*", choices=list(PAGES), default=list(PAGES))
    parser.add_argument("--keep-reports", action="store_true", help="keep the full JSON reports")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        raise SystemExit("Lighthouse is missing: run `npm ci` at the repository root")
    if not Path(CHROME).exists():
        raise SystemExit(f"Chromium is missing at {CHROME} (apt-get install chromium)")

    scratch = Path(tempfile.mkdtemp(prefix="birge-lighthouse-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_SETTINGS", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="civic.settings.base",
        DATABASE_URL=f"sqlite:///{scratch / 'db.sqlite3'}",
        REDIS_URL="",
        DJANGO_DEBUG="false",
        LOG_LEVEL="WARNING",
    )
    print("seeding the demo data ...", flush=True)
    sessions = _prepare(env)

    import httpx

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "civic.asgi:application", "--port", str(port),
         "--ws-per-message-deflate", "false", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    results = {}
    try:
        for _ in range(150):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for name in args.pages:
            role, where = PAGES[name]
            session = sessions.get(role)
            path = _resolve(url, args.lang, where, session)
            runs = []
            for i in range(args.runs):
                out = scratch / f"{name}-{i}.json"
                runs.append(_summary(_lighthouse(url + path, session, out)))
                if args.keep_reports:
                    keep = ROOT / "var" / "lighthouse"
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(out, keep / out.name)
            scores = {c: statistics.median_low([r["scores"][c] for r in runs]) for c in CATEGORIES}
            # The losses and metrics of the run whose performance is the median's.
            chosen = next(r for r in runs if r["scores"]["performance"] == scores["performance"])
            results[name] = {
                "role": role,
                "path": path,
                "scores": scores,
                "runs": [r["scores"] for r in runs],
                "pass": _passes(role, scores),
                "metrics": chosen["metrics"],
                "losses": chosen["losses"],
            }
            print(_row(name, results[name]), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(_table(results))
    for name, r in results.items():
        for category, items in r["losses"].items():
            for item in items:
                print(
                    f"  {name:13} {SHORT[category]:5} {item['id']}: {item['title']}"
                    + (f" ({item['shown']})" if item["shown"] else "")
                )
    record = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "lighthouse": _lighthouse_version(),
        "chromium": subprocess.run(
            [CHROME, "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "settings": "mobile emulation, simulated throttling (Lighthouse defaults)",
        "lang": args.lang,
        "runs": args.runs,
        "target": {"signed_in": TARGET, "anonymous": TARGET_ANONYMOUS},
        "pass": all(r["pass"] for r in results.values()),
        "pages": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    (RESULTS / f"lighthouse-{stamp}.json").write_text(text)
    (RESULTS / "lighthouse-latest.json").write_text(text)
    print(f"\nwritten: bench/results/lighthouse-{stamp}.json")
    return 0 if record["pass"] else 1


def _lighthouse_version() -> str:
    package = ROOT / "node_modules" / "lighthouse" / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else ""


def _row(name: str, r: dict) -> str:
    s = r["scores"]
    return (
        f"{name:14} {r['role']:10} "
        + " ".join(f"{s[c]:>5}" for c in CATEGORIES)
        + f"  {'PASS' if r['pass'] else 'FAIL'}  {r['path']}"
    )


def _table(results: dict) -> str:
    head = f"{'page':14} {'as':10} " + " ".join(f"{SHORT[c]:>5}" for c in CATEGORIES)
    return "\n".join([head, *(_row(n, r) for n, r in results.items())])


if __name__ == "__main__":
    sys.exit(main())
